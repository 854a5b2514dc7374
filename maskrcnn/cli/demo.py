"""``maskrcnn demo``: train and evaluate on synthetic shapes, print the scores, draw figures."""
from __future__ import annotations

import os

from .common import add_command


def run(args) -> int:
    from ..demo import run_demo
    from ..evaluation.coco import format_table

    result = run_demo(output_dir=args.output, model_dir=args.model_dir, epochs=args.epochs,
                      steps=args.steps, train_images=args.images, test_images=args.test_images,
                      size=args.size, backbone=args.backbone, images_per_gpu=args.batch,
                      seed=args.seed, verbose=0 if args.quiet else 1)
    print(f"mAP@0.5: {result.map50:.3f}")
    print(f"mAP@[.5:.95]: {result.map_range:.3f}")
    print(f"COCO mask AP: {result.coco_segm_ap:.1f}")
    print(f"held-out images: {args.test_images}")
    print(f"COCO tables of the held-out images (percent):\n"
          f"{format_table(result.evaluation.coco_table())}")
    if result.calibration is not None and args.quiet:  # else training's end said it
        print(f"operating point: {result.calibration.describe()}")
    print(f"counts of the held-out images at that threshold, {result.evaluation.counting()}")
    print(f"checkpoint: {result.checkpoint}")
    print(f"figures: {os.path.join(args.output, 'demo_detections.png')}, "
          f"{os.path.join(args.output, 'demo_loss.png')}")
    print(f"wall time: {result.seconds:.0f} s")
    return 0


def add_parser(subparsers):
    parser = add_command(subparsers, "demo", run,
                         help="train and evaluate on synthetic shapes, draw figures")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per epoch (default: 100)")
    parser.add_argument("--images", type=int, default=600, help="training images")
    parser.add_argument("--test-images", type=int, default=60, help="held-out images for mAP")
    parser.add_argument("--size", type=int, default=128, help="image side, a multiple of 64")
    parser.add_argument("--backbone", default="small", choices=["small", "resnet50", "resnet101"],
                        help="backbone network (small: a fast one for CPUs)")
    parser.add_argument("--batch", type=int, default=None,
                        help="images per step (default: 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the images and the weights")
    parser.add_argument("--output", default="figures", help="folder for the figures")
    parser.add_argument("--model-dir", default="logs", help="folder for checkpoints and logs")
    parser.add_argument("--quiet", action="store_true", help="print no training progress")
    return parser
