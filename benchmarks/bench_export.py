"""Speed, memory and file size of each exported format beside the Keras model (not part of CI).

    pip install -e ".[cpu,export]"
    python benchmarks/bench_export.py [--repeats 5] [--sizes 512x512,800x1024]
        [--backbone resnet50] [--work /tmp/bench_export] [--json benchmarks/results_export.json]

The model: ResNet-50-FPN as in bench_vs_torchvision.py (91 classes, RPN_HEAD_CHANNELS 256,
IMAGE_RESIZE_MODE "pad32" with IMAGE_MIN_DIM / IMAGE_MAX_DIM of each size), random
initialisation, detection threshold 0 with the background suppressed, so that the mask head
runs on up to DETECTION_MAX_INSTANCES = 100 detections. For each size the model is exported
once into ``--work/<backbone>_<H>x<W>/`` (Keras weights, SavedModel, TFLite float32 and
float16, ONNX); then each runtime runs in its own subprocess per size, so that its peak RSS
(ru_maxrss, TensorFlow's import included: every runner imports it) is its own: the Keras
model (``MaskRCNN.detect``, the weights loaded from the exported file), the SavedModel
(``load_exported``), TFLite (``TFLiteDetector``, LiteRT) and ONNX Runtime (``ONNXDetector``).
Latency: median seconds per image (batch 1) of ``--repeats`` timed ``detect`` calls after one
warm-up, on one random uint8 image of exactly that size.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from timing import median_seconds, write_results

RUNTIMES = {  # name: (file in the export folder, export format, export options)
    "keras": ("model.weights.h5", "weights", {}),
    "saved_model": ("saved_model", "saved_model", {}),
    "tflite_float32": ("float32.tflite", "tflite", {}),
    "tflite_float16": ("float16.tflite", "tflite", {"quantize": "float16"}),
    "onnx": ("model.onnx", "onnx", {}),
}


def parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def bench_config(backbone: str, h: int, w: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from maskrcnn.config import Config

    class Bench(Config):
        NAME = "bench_export"
        NUM_CLASSES = 91
        BACKBONE = backbone
        IMAGES_PER_GPU = 1
        IMAGE_RESIZE_MODE = "pad32"
        IMAGE_MIN_DIM = min(h, w)
        IMAGE_MAX_DIM = max(h, w)
        DETECTION_MIN_CONFIDENCE = 0.0
        DETECTION_MAX_INSTANCES = 100
        POST_NMS_ROIS_INFERENCE = 1000
        PRE_NMS_LIMIT = 1000
        RPN_HEAD_CHANNELS = 256
    return Bench()


def export_all(folder: str, backbone: str, h: int, w: int) -> dict:
    """Build the random model of this size and write every format into ``folder``; returns
    each runtime's export time."""
    import keras

    from maskrcnn import MaskRCNN

    keras.utils.set_random_seed(0)
    model = MaskRCNN("inference", bench_config(backbone, h, w), os.path.join(folder, "logs"))
    logits = model.keras_model.box_head.get_layer("mrcnn_class_logits")
    bias = logits.bias.numpy()
    bias[0] = -20.0  # no ROI is background: all detection slots reach the mask head
    logits.bias.assign(bias)
    seconds = {}
    for runtime, (name, fmt, options) in RUNTIMES.items():
        start = time.perf_counter()
        model.export(os.path.join(folder, name), format=fmt, **options)
        seconds[runtime] = time.perf_counter() - start
    return {"export_s": seconds}


def load_runtime(runtime: str, folder: str, backbone: str, h: int, w: int):
    """What ``detect([image])`` is timed on: the Keras model with the exported weights, or the
    detector of the exported file."""
    path = os.path.join(folder, RUNTIMES[runtime][0])
    if runtime == "keras":
        from maskrcnn import MaskRCNN

        model = MaskRCNN("inference", bench_config(backbone, h, w), os.path.join(folder, "logs"))
        model.load_weights(path)
        return model
    from maskrcnn.export import load_exported

    return load_exported(path)


def measure(runtime: str, folder: str, backbone: str, h: int, w: int, repeats: int) -> dict:
    import numpy as np

    image = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    start = time.perf_counter()
    detector = load_runtime(runtime, folder, backbone, h, w)
    load_s = time.perf_counter() - start
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    last = []

    def detect():
        last[:] = detector.detect([image])

    seconds = median_seconds(detect, repeats)
    return {"seconds": seconds, "detections": len(last[0]["class_ids"]), "load_s": load_s,
            "loaded_rss_mb": loaded_rss}


def size_mb(path: str) -> float:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, f))
                   for root, _, files in os.walk(path) for f in files) / 1e6
    return os.path.getsize(path) / 1e6


def child(args, *extra) -> dict | None:
    """This script run again in a subprocess (``--stage ...``): the JSON of its last line."""
    cmd = [sys.executable, __file__, "--backbone", args.backbone, "--work", args.work,
           "--repeats", str(args.repeats), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{' '.join(extra)} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(results: dict, files_mb: dict, sizes: list[str]) -> None:
    header = ["runtime", "file MB", *(f"{s} s" for s in sizes), "peak RSS MB", "ratio to Keras"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    keras = results.get("keras", {})
    for runtime in RUNTIMES:
        cases = results.get(runtime, {})
        seconds = [(cases.get(s) or {}).get("seconds") for s in sizes]
        rss = [case["peak_rss_mb"] for case in cases.values() if case]
        ratios = []
        for size, value in zip(sizes, seconds):
            base = (keras.get(size) or {}).get("seconds")
            ratios.append(f"{value / base:.2f}" if value and base else "-")
        row = [runtime, f"{files_mb[runtime]:.1f}" if runtime in files_mb else "-",
               *(f"{v:.3f}" if v else "failed" for v in seconds),
               f"{max(rss):.0f}" if rss else "-", " / ".join(ratios)]
        print("| " + " | ".join(row) + " |")
    for size in sizes:  # a runtime that finds other detections is not timing the same work
        found = {r: (results[r].get(size) or {}).get("detections") for r in RUNTIMES}
        print(f"detections at {size}: " + ", ".join(f"{r} {n}" for r, n in found.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="512x512,800x1024", help="HxW,HxW,...")
    parser.add_argument("--backbone", default="resnet50",
                        help='resnet50 (the benchmark), or "small" for a quick check')
    parser.add_argument("--work", default="/tmp/bench_export", help="where the exports go")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--stage", choices=["export", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--runtime", choices=list(RUNTIMES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    folders = {s: os.path.join(args.work, f"{args.backbone}_{s}") for s in sizes}
    if args.stage:  # a subprocess: one size, and one runtime when measuring
        (size,) = sizes
        h, w = parse_size(size)
        os.makedirs(folders[size], exist_ok=True)
        if args.stage == "export":
            result = export_all(folders[size], args.backbone, h, w)
        else:
            result = measure(args.runtime, folders[size], args.backbone, h, w, args.repeats)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    exports, results, files_mb = {}, {runtime: {} for runtime in RUNTIMES}, {}
    for size in sizes:
        print(f"exporting {args.backbone} at {size} into {folders[size]}", flush=True)
        exports[size] = child(args, "--stage", "export", "--sizes", size)
        if exports[size] is None:
            continue
        files_mb[size] = {runtime: size_mb(os.path.join(folders[size], name))
                          for runtime, (name, _, _) in RUNTIMES.items()}
        for runtime in RUNTIMES:
            print(f"measuring {runtime} at {size}", flush=True)
            results[runtime][size] = child(args, "--stage", "measure", "--sizes", size,
                                           "--runtime", runtime)
    print_table(results, next(iter(files_mb.values()), {}), sizes)
    write_results(args.json, {"backbone": args.backbone, "sizes": sizes,
                              "repeats": args.repeats, "cpu_count": os.cpu_count(),
                              "files_mb": files_mb, "exports": exports, "results": results})


if __name__ == "__main__":
    main()
