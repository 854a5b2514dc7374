"""Calibrating without a validation split: on the training images, or on a held-out share of
them? (issue 33; not part of CI.)

    python benchmarks/bench_calibration_source.py --json benchmarks/results_calibration_source.json

On synthetic shapes (the demo's model and schedule, 128 px): model A trains on all N
training images, model B on N - H of them, keeping H back. Each is calibrated (the threshold
with the smallest mean per-image count error, as training does; at most 200 images) on its
own training images, on H images it never saw (for B: the held-out share; for A: what a
validation split would give), and on the test images themselves (the best possible), and
then counts the same test images at that threshold. ``--weights-all`` / ``--weights-part``
reuse trained checkpoints instead of training (``maskrcnn demo --images N`` makes them).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def train(images: int, model_dir: str) -> str:
    from maskrcnn.demo import run_demo
    return run_demo(output_dir=os.path.join(model_dir, "figures"), model_dir=model_dir,
                    train_images=images, verbose=0).checkpoint


def counts_at(model, test, threshold: float) -> dict:
    """Count error, images within 10 %, F1 and mask AP on ``test`` at ``threshold``."""
    from maskrcnn.evaluation import evaluate_model
    model.config.DETECTION_MIN_CONFIDENCE = threshold
    result = evaluate_model(model, test, verbose=False)
    counting = result.counting()
    return {"threshold": round(threshold, 3),
            "count_error_pct": round(100 * counting.mean_error, 1),
            "within_10pct": f"{counting.within_10_percent}/{counting.truth.size}",
            "f1_pct": round(100 * result.f1()[2], 1),
            "mask_AP": round(result.coco_segm.stats["AP"], 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-images", type=int, default=600)
    p.add_argument("--held-out", type=int, default=120)
    p.add_argument("--test-images", type=int, default=60)
    p.add_argument("--weights-all", default=None, help="model A (trained on all images)")
    p.add_argument("--weights-part", default=None, help="model B (without the held-out share)")
    p.add_argument("--work", default="/tmp/bench_calibration_source")
    p.add_argument("--json", default=None)
    args = p.parse_args()

    from maskrcnn import MaskRCNN
    from maskrcnn.data import ShapesDataset
    from maskrcnn.evaluation.calibration import calibrate

    size, n, h = 128, args.train_images, args.held_out
    test = ShapesDataset(args.test_images, size, size, seed=2)  # the demo's test images
    unseen = ShapesDataset(h, size, size, seed=3)
    models = {"A: trained on all training images":
              (args.weights_all or train(n, os.path.join(args.work, "all")), n),
              f"B: trained on all but a held-out {h}":
              (args.weights_part or train(n - h, os.path.join(args.work, "part")), n - h)}
    out = {"date": time.strftime("%Y-%m-%d"), "training_images": n, "held_out": h,
           "test_images": args.test_images, "image_size": size, "rows": {}}
    for name, (checkpoint, trained_on) in models.items():
        model = MaskRCNN.from_checkpoint(checkpoint)
        model.config.DETECTION_BORDER_OBJECTS = "count"
        sources = (("its training images", ShapesDataset(trained_on, size, size, seed=0),
                    "training"),
                   (f"{h} images it never saw", unseen, "dataset"),
                   ("the test images (best possible)", test, "dataset"))
        for label, images, source in sources:
            threshold = calibrate(model, images, source, limit=200).threshold
            row = counts_at(model, test, threshold)
            out["rows"][f"{name}, calibrated on {label}"] = row
            print(f"{name}, calibrated on {label}: {row}", flush=True)
    if args.json:
        from timing import write_results
        write_results(args.json, out)


if __name__ == "__main__":
    main()
