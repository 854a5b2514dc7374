"""``maskrcnn`` command line: demo, train, detect, evaluate, inspect, convert, export.

Each subcommand is a thin layer over the Python API; ``maskrcnn SUBCOMMAND --help`` lists
its options.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import MaskRCNNError


def _demo(args) -> int:
    from .demo import run_demo
    from .evaluation.coco import format_table

    result = run_demo(output_dir=args.output, model_dir=args.model_dir, epochs=args.epochs,
                      steps=args.steps, train_images=args.images, test_images=args.test_images,
                      size=args.size, backbone=args.backbone, images_per_gpu=args.batch,
                      seed=args.seed, verbose=2 if args.verbose else 0)
    print(f"mAP@0.5: {result.map50:.3f}")
    print(f"mAP@[.5:.95]: {result.map_range:.3f}")
    print(f"COCO mask AP: {result.coco_segm_ap:.1f}")
    print(f"held-out images: {args.test_images}")
    print(f"COCO tables of the held-out images (percent):\n"
          f"{format_table(result.evaluation.coco_table())}")
    print(f"checkpoint: {result.checkpoint}")
    print(f"figures: {os.path.join(args.output, 'demo_detections.png')}, "
          f"{os.path.join(args.output, 'demo_loss.png')}")
    print(f"wall time: {result.seconds:.0f} s")
    return 0


def _open(path, fmt, split, images=None):
    if fmt == "shapes":
        from .data.shapes import ShapesDataset
        count, size = (int(v) for v in (path or "200x128").split("x"))
        return ShapesDataset(count, size, size, seed=0 if split == "train" else 1)
    from .data.layout import open_dataset
    return open_dataset(path, fmt, images=images, split=split)


def _config_from(args, dataset):
    from .config import Config
    values = {}
    if args.config:
        with open(args.config) as f:
            values = json.load(f)
    values.setdefault("NAME", args.name)
    values["NUM_CLASSES"] = dataset.num_classes
    for item in args.set or []:
        key, _, value = item.partition("=")
        values[key.strip()] = json.loads(value)
    return Config.from_dict(values)


def _train(args) -> int:
    from .model import MaskRCNN

    train_set = _open(args.dataset, args.format, args.split, args.images)
    val_set = _open(args.dataset, args.format, args.val_split) if args.val_split else None
    config = _config_from(args, train_set)
    model = MaskRCNN("training", config, args.model_dir)
    if args.weights not in (None, "none"):
        print(model.init_weights(args.weights))
    model.train(train_set, val_set, learning_rate=args.lr or config.LEARNING_RATE,
                epochs=args.epochs, layers=args.layers)
    print(f"checkpoint: {model.find_last()}")
    return 0


def _evaluate(args) -> int:
    from .evaluation import evaluate_model
    from .model import MaskRCNN

    model = MaskRCNN.from_checkpoint(args.weights)
    dataset = _open(args.dataset, args.format, args.subset, args.images)
    evaluate_model(model, dataset, limit=args.limit, verbose=True)  # prints both tables
    return 0


def _export(args) -> int:
    from .model import MaskRCNN

    model = MaskRCNN.from_checkpoint(args.weights)
    path = model.export(args.output, format=args.format)
    print(f"exported: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maskrcnn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train and evaluate on synthetic shapes, draw figures")
    demo.add_argument("--epochs", type=int, default=8)
    demo.add_argument("--steps", type=int, default=None, help="steps per epoch (default 100)")
    demo.add_argument("--images", type=int, default=600, help="training images")
    demo.add_argument("--test-images", type=int, default=60, help="held-out images for mAP")
    demo.add_argument("--size", type=int, default=128, help="image side, a multiple of 64")
    demo.add_argument("--backbone", default="small", choices=["small", "resnet50", "resnet101"])
    demo.add_argument("--batch", type=int, default=None, help="images per step (default 8)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--output", default="figures", help="folder for the figures")
    demo.add_argument("--model-dir", default="logs", help="folder for checkpoints and logs")
    demo.add_argument("--quiet", dest="verbose", action="store_false")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train on a dataset (COCO, VIA, BDD100K, Open Images)")
    train.add_argument("--dataset", required=True, help="annotation file or dataset folder")
    train.add_argument("--format", required=True,
                       choices=["coco", "via", "bdd", "openimages", "shapes"])
    train.add_argument("--images", default=None, help="image folder, if not the default")
    train.add_argument("--split", default="train")
    train.add_argument("--val-split", default=None)
    train.add_argument("--weights", default="none", help="coco, imagenet, last, a path or none")
    train.add_argument("--layers", default="heads", help="heads, 3+, 4+, 5+, all or a regex")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--lr", type=float, default=None)
    train.add_argument("--name", default="custom")
    train.add_argument("--config", default=None, help="JSON file of config fields")
    train.add_argument("--set", action="append", metavar="FIELD=JSON",
                       help="a config field, e.g. --set IMAGES_PER_GPU=1")
    train.add_argument("--model-dir", default="logs")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser("evaluate", help="VOC mAP and the COCO tables of a checkpoint")
    evaluate.add_argument("--weights", required=True, help="a checkpoint of this project")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--format", required=True,
                          choices=["coco", "via", "bdd", "openimages", "shapes"])
    evaluate.add_argument("--images", default=None)
    evaluate.add_argument("--subset", default="val")
    evaluate.add_argument("--limit", type=int, default=None)
    evaluate.set_defaults(func=_evaluate)

    export = sub.add_parser("export", help="a SavedModel for serving, or Keras 3 weights")
    export.add_argument("--weights", required=True, help="a checkpoint of this project")
    export.add_argument("--output", required=True, help="folder (saved_model) or .weights.h5")
    export.add_argument("--format", default="saved_model", choices=["saved_model", "weights"])
    export.set_defaults(func=_export)

    from .data.commands import add_convert_parser, add_inspect_parser
    from .inference_commands import add_detect_parser
    add_inspect_parser(sub)
    add_convert_parser(sub)
    add_detect_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MaskRCNNError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
