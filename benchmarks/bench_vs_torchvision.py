"""Speed and memory, ours beside torchvision's Mask R-CNN, in one run (not part of CI).

    pip install -e ".[cpu,bench]"
    python benchmarks/bench_vs_torchvision.py [--repeats 5] [--json benchmarks/results.json]

Both models: ResNet-50-FPN, random initialisation, 91 classes, detection threshold 0 with the
background suppressed so that 100 detections reach the mask head. Cases: inference at
512x512 and 800x1024 (batch 1 and 2) and one training step at batch 2 x 512x512. Each
framework runs in its own subprocess (so that peak RSS is its own); the table gives medians
of ``--repeats`` timed runs after one warm-up, and the ratio ours / torchvision.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CASES = [("infer", 512, 512, 1), ("infer", 512, 512, 2), ("infer", 800, 1024, 1),
         ("infer", 800, 1024, 2), ("train", 512, 512, 2)]


def _timed(fn, repeats):
    fn()  # warm-up: tracing, allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_ours(cases, repeats):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from maskrcnn.config import Config
    from maskrcnn.data.shapes import ShapesDataset
    from maskrcnn.data.pipeline import BatchLoader
    from maskrcnn.model import MaskRCNN
    from maskrcnn.training import make_optimizer, set_trainable

    out = {}
    for kind, h, w, batch in cases:
        class Bench(Config):
            NAME = "bench"
            NUM_CLASSES = 91
            BACKBONE = "resnet50"
            IMAGES_PER_GPU = batch
            IMAGE_RESIZE_MODE = "pad64"
            IMAGE_MIN_DIM = min(h, w)
            IMAGE_MAX_DIM = max(h, w)
            DETECTION_MIN_CONFIDENCE = 0.0
            TRAIN_ROIS_PER_IMAGE = 512       # torchvision's box_batch_size_per_image
            ROI_POSITIVE_RATIO = 0.25
            POST_NMS_ROIS_TRAINING = 2000
            POST_NMS_ROIS_INFERENCE = 1000
            PRE_NMS_LIMIT = 1000             # torchvision: 1000 per level
        model = MaskRCNN("training", Bench(), "/tmp/bench_logs")
        net = model.keras_model
        logits = net.box_head.get_layer("mrcnn_class_logits")
        bias = logits.bias.numpy()
        bias[0] = -20.0  # no ROI is background: 100 detections reach the mask head
        logits.bias.assign(bias)
        rng = np.random.default_rng(0)
        if kind == "infer":
            images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(batch)]
            seconds = _timed(lambda: model.detect(images), repeats)
            n = len(model.detect(images)[0]["class_ids"])
        else:
            data = ShapesDataset(batch * 2, h, w, seed=0, max_instances=6)
            sample = next(iter(BatchLoader(data, model.config, shuffle=False)))
            meta = sample["image_meta"]  # shapes has 4 classes; make all 91 active
            sample["image_meta"] = np.concatenate(
                [meta[:, :12], np.ones((batch, 91), np.float32)], axis=1)
            # torchvision trains layer2..layer4 by default (trainable_backbone_layers=3):
            # the same as matterport's "3+".
            set_trainable(net.leaf_layers(), "3+", False)
            net.compile(optimizer=make_optimizer(model.config, 0.001), jit_compile=False)
            step = tf.function(net.train_step, jit_compile=False)
            tensors = {k: tf.constant(v) for k, v in sample.items()}
            seconds = _timed(lambda: float(step(tensors)["loss"]), repeats)
            n = None
        out[f"{kind} {batch}x{h}x{w}"] = {"seconds": seconds, "detections": n}
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
            seconds = _timed(infer, repeats)
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
            seconds = _timed(step, repeats)
            n = None
        out[f"{kind} {batch}x{h}x{w}"] = {"seconds": seconds, "detections": n}
    out["torchvision"] = torchvision.__version__
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
    with open(args.json, "w") as f:
        json.dump({"cases": [list(c) for c in cases], "results": results,
                   "cpu_count": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
