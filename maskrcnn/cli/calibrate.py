"""``maskrcnn calibrate CHECKPOINT --dataset D --format F``: choose a model's operating
threshold on images whose counts are known, into a new checkpoint."""
from __future__ import annotations

import os

from .common import (
    add_command,
    add_dataset_options,
    add_matterport_options,
    fail,
    load_dataset,
    matterport_class_names,
)


def calibrated_path(path: str) -> str:
    """Where the calibrated copy of ``path`` goes by default: ``NAME.calibrated.h5`` beside it."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.calibrated{ext or '.h5'}"


def run(args) -> int:
    from ..inference.detector import load_detector

    source = os.path.abspath(args.checkpoint)
    output = source if args.in_place else os.path.abspath(args.output or calibrated_path(source))
    if output == source and not args.in_place:
        return fail(f"--output {args.output} is the checkpoint itself: give another path, or "
                    "--in-place to rewrite the checkpoint")
    if output != source and os.path.exists(output) and not args.overwrite:
        return fail(f"{output} exists: give another --output, or --overwrite to replace it")
    model = load_detector(source, args.config, matterport_class_names(args))
    if not hasattr(model, "calibrate"):
        return fail(f"{source} is an exported model: calibrate the checkpoint it came from, "
                    "then export that")
    dataset = load_dataset(args.dataset, args.format, args.split, args.images, "val",
                           getattr(model, "class_names", None))
    model.learn_border_rule(dataset)
    calibration = model.calibrate(dataset, "dataset", args.limit)
    print(f"operating point: {calibration.describe()}")
    model.save_weights(output, model.epoch)
    print(f"calibrated checkpoint: {output}" + (" (rewritten in place)" if args.in_place else
                                                 f" (the original {source} is unchanged)"))
    return 0


def add_parser(subparsers):
    parser = add_command(
        subparsers, "calibrate", run,
        help="choose the score threshold at which a model's counts are right",
        description="Detect on images whose counts are known (a validation split), choose "
                    "the score threshold with the smallest mean per-image count error (ties: "
                    "the highest F1 at mask IoU 0.5) and write a checkpoint that carries it: "
                    "detect, evaluate and export then use it. Without --in-place the "
                    "original file is left as it is.")
    parser.add_argument("checkpoint",
                        help="a checkpoint of this project, or a matterport .h5 with --config "
                             "and --class-names")
    add_dataset_options(parser, "val")
    parser.add_argument("--output", default=None,
                        help="the calibrated checkpoint (default: CHECKPOINT with "
                             ".calibrated before .h5)")
    parser.add_argument("--in-place", action="store_true",
                        help="rewrite the checkpoint itself (atomically) instead")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output")
    parser.add_argument("--limit", type=int, default=None,
                        help="calibrate on the first LIMIT images only (default: all)")
    add_matterport_options(parser)
    return parser
