"""Peak memory of ``maskrcnn detect`` on one huge photo (issue 14, case 8).

    python benchmarks/bench_huge_image.py                         # 6000x4500 and 12000x9000
    python benchmarks/bench_huge_image.py --size 3000x2000 --limit-gb 4

Writes a synthetic JPEG of each size and a checkpoint of a randomly initialised tiny model that
is made to detect 100 instances per image (threshold 0, background logit lowered, NMS at
0.95), then runs ``python -m maskrcnn detect`` on each image in a fresh process and prints its
peak RSS (``ru_maxrss`` of that process; this launcher imports neither TensorFlow nor the
package), the RSS after start-up (TensorFlow and the package imported), the detections and
whether images.csv and detections.json were written. A run whose RSS passes ``--limit-gb``
is killed (and reported so). Not run in CI; tests/test_huge_image.py checks the same bound
on a smaller image.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def setup(folder: str, sizes: list[tuple[int, int]], detections: int) -> None:
    """The checkpoint (``folder/model.h5``) and one JPEG per size (``folder/<h>x<w>.jpg``)."""
    import cv2
    import keras
    import numpy as np
    from PIL import Image

    from maskrcnn import MaskRCNN
    from maskrcnn.presets import TinyShapesConfig

    class HugeConfig(TinyShapesConfig):
        NAME = "huge"
        BOX_CONVENTION = "matterport"
        IMAGES_PER_GPU = 1
        POST_NMS_ROIS_INFERENCE = 2 * detections
        DETECTION_MAX_INSTANCES = detections
        DETECTION_MIN_CONFIDENCE = 0.0
        DETECTION_NMS_THRESHOLD = 0.95

    keras.utils.set_random_seed(0)
    model = MaskRCNN("inference", HugeConfig(), model_dir=folder)
    for layer in model.keras_model.leaf_layers():  # a random head says background: lower it
        if layer.name == "mrcnn_class_logits":
            kernel, bias = layer.get_weights()
            bias[0] = -20.0
            layer.set_weights([kernel, bias])
    model.class_names = ["BG", "square", "circle", "triangle"]
    model.save_weights(os.path.join(folder, "model.h5"), epoch=1)
    rng = np.random.default_rng(0)
    for h, w in sizes:
        small = rng.integers(0, 256, (max(1, h // 100), max(1, w // 100), 3), dtype=np.uint8)
        image = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        Image.fromarray(image).save(os.path.join(folder, f"{h}x{w}.jpg"), quality=90)


def measure(weights: str, image: str, output: str) -> None:
    """Run the CLI in this process; print one JSON line of memory figures."""
    import resource

    import psutil
    import tensorflow  # noqa: F401  (start-up cost, counted in the baseline)

    from maskrcnn.cli import main

    baseline = psutil.Process().memory_info().rss
    start = time.perf_counter()
    status = main(["detect", "--weights", weights, "--input", image, "--output", output,
                   "--device", "cpu"])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    written = {n: os.path.isfile(os.path.join(output, n))
               for n in ("images.csv", "detections.json", "summary.csv")}
    with open(os.path.join(output, "detections.json"), encoding="utf-8") as f:
        found = json.load(f)
    found = len(found["annotations"] if isinstance(found, dict) else found)
    print(json.dumps({"status": status, "peak_rss_gb": peak / 2**30,
                      "baseline_rss_gb": baseline / 2**30, "seconds": seconds,
                      "detections": found, "written": written}))


def watch(command: list[str], limit: float) -> tuple[int, str, float]:
    """Run ``command``; kill it when its RSS passes ``limit`` bytes. Returns the exit status,
    its output and the largest RSS seen."""
    import psutil

    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        handle, seen = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                seen = max(seen, handle.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            if seen > limit:
                proc.kill()
            time.sleep(0.05)
        proc.wait()
        log.seek(0)
        return proc.returncode, log.read(), seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", help="HxW (repeatable)")
    parser.add_argument("--detections", type=int, default=100)
    parser.add_argument("--limit-gb", type=float, default=8.0)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in
             (args.size or ["4500x6000", "9000x12000"])]
    if args.setup:
        return setup(args.setup, sizes, args.detections)
    if args.measure:
        return measure(*args.measure)
    folder = tempfile.mkdtemp(prefix="huge_image_")
    me = [sys.executable, os.path.abspath(__file__)]
    sizes_args = [a for h, w in sizes for a in ("--size", f"{h}x{w}")]
    subprocess.run(me + sizes_args + ["--detections", str(args.detections), "--setup", folder],
                   check=True, cwd=ROOT)
    for h, w in sizes:
        out = os.path.join(folder, f"out_{h}x{w}")
        status, text, seen = watch(me + ["--measure", os.path.join(folder, "model.h5"),
                                         os.path.join(folder, f"{h}x{w}.jpg"), out],
                                   args.limit_gb * 2**30)
        lines = [s for s in text.splitlines() if s.startswith("{")]
        if status == 0 and lines:
            print(f"{w} x {h}: {lines[-1]}")
        else:
            print(f"{w} x {h}: exit {status}, largest RSS seen {seen / 2**30:.2f} GB "
                  f"(limit {args.limit_gb} GB)\n{text[-2000:]}")


if __name__ == "__main__":
    main()
