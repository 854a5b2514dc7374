"""Speed and memory, ours beside torchvision's Mask R-CNN, in one run (not part of CI).

    pip install -e ".[cpu,bench]"
    python benchmarks/bench_vs_torchvision.py [--repeats 5] [--json benchmarks/results.json]

Both models: ResNet-50-FPN with torchvision's head sizes (our RPN_HEAD_CHANNELS = 256;
matterport's 512 adds 60 GFLOP at 800x1024), random initialisation, 91 classes, detection
threshold 0 with the background suppressed, so that the mask head runs on 100 detections.
Cases: inference at 512x512 and 800x1024 (batch 1 and 2) and one training step at batch 2
(512x512 and 800x1024), with our input pipeline's images/s beside each training step's, and
each framework's fp32 matmul rate, which gives the compute floor of inference. Each
framework runs in its own subprocess (so that peak RSS is its own); the table gives medians
of ``--repeats`` timed runs after one warm-up, and the ratio ours / torchvision.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from timing import median_seconds

CASES = [("infer", 512, 512, 1), ("infer", 512, 512, 2), ("infer", 800, 1024, 1),
         ("infer", 800, 1024, 2), ("train", 512, 512, 2), ("train", 800, 1024, 2)]


FORWARD_GFLOP_800x1024 = 442
"""FLOPs (multiply-add = 2) of one 800x1024 forward pass of torchvision's maskrcnn_resnet50_fpn
with 100 mask ROIs; ours at the benchmark's settings does the same work."""


def matmul_gflops(matmul, n: int = 2048, repeats: int = 5) -> float:
    """fp32 matrix-product rate (GFLOP/s) of a framework: ``matmul()`` multiplies two n x n."""
    return 2 * n ** 3 / median_seconds(matmul, repeats) / 1e9


def build_ours(kind, h, w, batch):
    """Our R50-FPN model and a zero-argument function running one case (inference of
    ``batch`` random images, or one training step on a shapes batch)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from maskrcnn import MaskRCNN
    from maskrcnn.config import Config
    from maskrcnn.data.pipeline import BatchLoader
    from maskrcnn.data.readers.shapes import ShapesDataset
    from maskrcnn.trainer import make_optimizer, set_trainable

    class Bench(Config):
        NAME = "bench"
        NUM_CLASSES = 91
        BACKBONE = "resnet50"
        IMAGES_PER_GPU = batch
        IMAGE_RESIZE_MODE = "pad32"       # torchvision pads to 32 too: 800x1024 stays so
        IMAGE_MIN_DIM = min(h, w)
        IMAGE_MAX_DIM = max(h, w)
        DETECTION_MIN_CONFIDENCE = 0.0
        TRAIN_ROIS_PER_IMAGE = 512       # torchvision's box_batch_size_per_image
        ROI_POSITIVE_RATIO = 0.25
        POST_NMS_ROIS_TRAINING = 2000
        POST_NMS_ROIS_INFERENCE = 1000
        PRE_NMS_LIMIT = 1000             # torchvision: 1000 per level
        RPN_HEAD_CHANNELS = 256          # torchvision's RPN head (matterport's is 512)
    model = MaskRCNN("training", Bench(), "/tmp/bench_logs")
    net = model.keras_model
    logits = net.box_head.get_layer("mrcnn_class_logits")
    bias = logits.bias.numpy()
    bias[0] = -20.0  # no ROI is background: all 100 detection slots reach the mask head
    logits.bias.assign(bias)
    rng = np.random.default_rng(0)
    if kind == "infer":
        images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(batch)]
        return model, lambda: model.detect(images)
    data = ShapesDataset(batch * 2, h, w, seed=0, max_instances=6)
    sample = next(iter(BatchLoader(data, model.config, shuffle=False)))
    meta = sample["image_meta"]  # shapes has 4 classes; make all 91 active
    sample["image_meta"] = np.concatenate([meta[:, :12], np.ones((batch, 91), np.float32)],
                                          axis=1)
    # torchvision trains layer2..layer4 by default (trainable_backbone_layers=3): the same
    # as matterport's "3+".
    set_trainable(net.leaf_layers(), "3+", False)
    net.compile(optimizer=make_optimizer(model.config, 0.001), jit_compile=False)
    step = tf.function(net.train_step, jit_compile=False)
    tensors = {k: tf.constant(v) for k, v in sample.items()}
    return model, lambda: float(step(tensors)["loss"])


def pipeline_images_per_second(config, h, w, batches=12):
    """Our input pipeline (BatchLoader: JPEG decoding, resizing, masks, mini-masks) on
    shapes images saved as JPEG files: training images prepared per second."""
    import tempfile

    import cv2

    from maskrcnn.data.dataset import Dataset
    from maskrcnn.data.pipeline import BatchLoader
    from maskrcnn.data.readers.shapes import ShapesDataset

    class JpegShapes(ShapesDataset):
        def load_image(self, image_id):
            return Dataset.load_image(self, image_id)  # read the file

    folder = tempfile.mkdtemp(prefix="bench_jpeg_")
    data = JpegShapes(16, h, w, seed=1, max_instances=6)
    for i in data.image_ids:
        path = os.path.join(folder, f"{i}.jpg")
        cv2.imwrite(path, ShapesDataset.load_image(data, i)[..., ::-1])
        data.image_info[i]["path"] = path
    loader = iter(BatchLoader(data, config, shuffle=True, seed=0))
    next(loader)  # threads started, first batches queued
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * config.BATCH_SIZE / (time.perf_counter() - start)


def run_ours(cases, repeats):
    out = {}
    for kind, h, w, batch in cases:
        model, fn = build_ours(kind, h, w, batch)
        seconds = median_seconds(fn, repeats)
        n = len(fn()[0]["class_ids"]) if kind == "infer" else None
        out[f"{kind} {batch}x{h}x{w}"] = {"seconds": seconds, "detections": n}
        if kind == "train":
            rate = pipeline_images_per_second(model.config, h, w)
            out[f"{kind} {batch}x{h}x{w}"].update(
                pipeline_images_per_s=rate, step_images_per_s=batch / seconds)
    import tensorflow as tf

    a = tf.random.stateless_normal((2048, 2048), seed=(0, 0))
    product = tf.function(lambda: tf.matmul(a, a), autograph=False)
    out["matmul_gflops"] = matmul_gflops(lambda: product().numpy())
    return out


def run_torchvision(cases, repeats):
    import torch
    import torchvision
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    torch.manual_seed(0)
    out = {}
    for kind, h, w, batch in cases:
        model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91,
                                      min_size=min(h, w), max_size=max(h, w),
                                      box_score_thresh=0.0, box_detections_per_img=100)
        images = [torch.rand(3, h, w) for _ in range(batch)]
        if kind == "infer":
            model.eval()

            def infer():
                with torch.no_grad():
                    return model(images)
            seconds = median_seconds(infer, repeats)
            n = len(infer()[0]["labels"])
        else:
            model.train()
            opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
            targets = []
            for _ in range(batch):
                masks = torch.zeros(3, h, w, dtype=torch.uint8)
                boxes = torch.tensor([[10, 10, 100, 120], [200, 50, 300, 200],
                                      [50, 300, 250, 450]], dtype=torch.float32)
                for i, (x1, y1, x2, y2) in enumerate(boxes.int().tolist()):
                    masks[i, y1:y2, x1:x2] = 1
                targets.append({"boxes": boxes, "labels": torch.tensor([1, 2, 3]),
                                "masks": masks})

            def step():
                losses = model(images, targets)
                loss = sum(losses.values())
                opt.zero_grad()
                loss.backward()
                opt.step()
            seconds = median_seconds(step, repeats)
            n = None
        out[f"{kind} {batch}x{h}x{w}"] = {"seconds": seconds, "detections": n}
    out["torchvision"] = torchvision.__version__
    a = torch.randn(2048, 2048)
    out["matmul_gflops"] = matmul_gflops(lambda: a @ a)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="benchmarks/results.json")
    parser.add_argument("--only", choices=["ours", "torchvision"], default=None,
                        help=argparse.SUPPRESS)  # used for the subprocesses
    parser.add_argument("--cases", default=None, help="comma-separated case indices")
    args = parser.parse_args()
    cases = CASES if args.cases is None else [CASES[int(i)] for i in args.cases.split(",")]
    if args.only:
        runner = run_ours if args.only == "ours" else run_torchvision
        result = runner(cases, args.repeats)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    results = {}
    for side in ("ours", "torchvision"):
        cmd = [sys.executable, __file__, "--only", side, "--repeats", str(args.repeats)]
        if args.cases:
            cmd += ["--cases", args.cases]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{side} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            results[side] = None
            continue
        results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{'case':24} {'ours s':>8} {'torchvision s':>14} {'ratio':>6}")
    for kind, h, w, batch in cases:
        key = f"{kind} {batch}x{h}x{w}"
        ours = (results["ours"] or {}).get(key, {}).get("seconds")
        theirs = (results["torchvision"] or {}).get(key, {}).get("seconds")
        ratio = f"{ours / theirs:.2f}" if ours and theirs else "-"
        print(f"{key:24} {ours or float('nan'):8.2f} {theirs or float('nan'):14.2f} {ratio:>6}")
    for side in ("ours", "torchvision"):
        if results[side]:
            print(f"peak RSS {side}: {results[side]['peak_rss_mb']:.0f} MB")
    rates = {side: results[side]["matmul_gflops"] for side in results if results[side]}
    for side, rate in rates.items():
        print(f"fp32 matmul {side}: {rate:.0f} GFLOP/s")
    infer = (results["ours"] or {}).get("infer 1x800x1024", {}).get("seconds")
    if rates and infer:
        floor = FORWARD_GFLOP_800x1024 / max(rates.values())
        print(f"compute floor of 1x800x1024 inference: {FORWARD_GFLOP_800x1024} GFLOP at the "
              f"faster matmul rate = {floor:.2f} s; ours takes {infer / floor:.2f}x that")
    for key, case in (results["ours"] or {}).items():
        if isinstance(case, dict) and "pipeline_images_per_s" in case:
            rate, step = case["pipeline_images_per_s"], case["step_images_per_s"]
            print(f"input pipeline at {key.split()[1]}: {rate:.1f} images/s, "
                  f"{rate / step:.0f}x the training step's {step:.2f} images/s")
    with open(args.json, "w") as f:
        json.dump({"cases": [list(c) for c in cases], "results": results,
                   "cpu_count": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
