"""``maskrcnn inspect`` and ``maskrcnn convert``: check a dataset, or write it as COCO JSON.

``inspect PATH --format coco|via|bdd|openimages [--images DIR]`` prints counts, sizes and
problems; exit status 1 when a problem is an error, 2 when the data cannot be read at all.
``convert PATH --format ... --output OUT.json`` writes COCO JSON; exit status 2 on bad data
(``--skip-bad`` leaves bad items out, reporting them, instead).
"""
from __future__ import annotations

import argparse
import sys

from ..data.layout import FORMATS
from ..errors import DatasetError
from .common import add_classes_option, add_command, fail


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="annotation file (JSON/CSV), or a dataset folder or zip "
                                     "(COCO/D2S and VIA layouts), or a BDD100K bitmask folder")
    parser.add_argument("--format", required=True, choices=FORMATS,
                        help="annotation format")
    parser.add_argument("--images", default=None,
                        help="image folder (default: the format's usual place)")
    parser.add_argument("--split", default=None,
                        help="split of a dataset folder (train, val...) (default: train if there "
                             "is one, else the first)")
    add_classes_option(parser)
    parser.add_argument("--class-attribute", default=None,
                        help="VIA: the region attribute holding the class name (default: one "
                             "class, 'object')")
    parser.add_argument("--masks", default=None,
                        help="Open Images: folder of mask PNGs or mask shard zips (default: masks/ "
                             "beside the CSV if there is one, else the CSV's folder)")


def _reader_options(args) -> dict:
    options = {}
    if args.classes:
        names = [c.strip() for c in args.classes.split(",") if c.strip()]
        options["categories" if args.format == "bdd" else "class_names"] = names
    if args.class_attribute:
        if args.format != "via":
            raise DatasetError("--class-attribute applies to --format via only")
        options["class_attribute"] = args.class_attribute
    if args.masks:
        if args.format != "openimages":
            raise DatasetError("--masks applies to --format openimages only")
        options["mask_dir"] = args.masks
    return options


def run_inspect(args) -> int:
    """``maskrcnn inspect``: print the report; 0 clean, 1 errors found, 2 unreadable."""
    from ..data.inspect import inspect_path

    try:
        report = inspect_path(args.path, args.format, images=args.images, split=args.split,
                               **_reader_options(args))
    except DatasetError as err:
        return fail(err)
    print(report.summary(max_problems=args.max_problems))
    if args.report:
        report.to_json(args.report)
        print(f"report written to {args.report}")
    return 1 if report.has_errors else 0


def run_convert(args) -> int:
    """``maskrcnn convert``: write COCO JSON; 0 done, 2 bad data."""
    from ..data.convert import write_coco_json
    from ..data.layout import open_dataset

    try:
        dataset = open_dataset(args.path, args.format, images=args.images, split=args.split,
                               strict=not args.skip_bad, **_reader_options(args))
        coco = write_coco_json(dataset, args.output)
    except DatasetError as err:
        return fail(err)
    for problem in getattr(dataset, "problems", []):
        print(f"  {problem}", file=sys.stderr)
    print(f"{len(coco['images'])} images, {len(coco['annotations'])} annotations, "
          f"{len(coco['categories'])} categories written to {args.output}")
    return 0


def add_inspect_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``inspect`` to an ``ArgumentParser.add_subparsers()`` object."""
    parser = add_command(
        subparsers, "inspect", run_inspect,
        help="check a dataset: counts per class, sizes and problems",
        description="Read a dataset, load every image and mask, and report counts per class, "
                    "instances per image, COCO size buckets and every problem with its file "
                    "and item. Exit status 1 when a problem is an error.")
    _add_common(parser)
    parser.add_argument("--report", default=None,
                        help="also write the report as JSON here (default: no file)")
    parser.add_argument("--max-problems", type=int, default=50,
                        help="problems to print (all are in --report)")
    return parser


def add_convert_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``convert`` to an ``ArgumentParser.add_subparsers()`` object."""
    parser = add_command(
        subparsers, "convert", run_convert, help="convert a dataset to COCO JSON",
        description="Read a dataset with any reader and write COCO instances JSON (images "
                    "with file_name, width, height; polygons kept, other masks as RLE).")
    _add_common(parser)
    parser.add_argument("--output", required=True, help="the COCO JSON file to write")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave out bad items (listed) instead of stopping at the first")
    return parser


def run_split(args) -> int:
    """``maskrcnn split``: write the parts; 0 done, 2 bad data."""
    from ..data.split import split_annotations

    fractions = {"train": 1.0 - args.val - args.test, "val": args.val, "test": args.test}
    fractions = {name: f for name, f in fractions.items() if f > 0}
    if not 0 <= args.val < 1 or not 0 <= args.test < 1 or fractions.get("train", 0) <= 0:
        return fail(f"--val {args.val} and --test {args.test} must be fractions that leave "
                    "images for training (e.g. --val 0.2 --test 0.1)")
    try:
        split_annotations(args.path, fractions, seed=args.seed, output_dir=args.output)
    except DatasetError as err:
        return fail(err)
    return 0


def add_split_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``split`` to an ``ArgumentParser.add_subparsers()`` object."""
    parser = add_command(
        subparsers, "split", run_split,
        help="split a COCO or VIA file into train/val/test files by image",
        description="Shuffle the images of a COCO or VIA annotation file with a seed and write "
                    "one file of the same format per part (NAME.train.json, NAME.val.json, "
                    "NAME.test.json), each image with all its annotations in exactly one.")
    parser.add_argument("path", help="the COCO or VIA annotation JSON")
    parser.add_argument("--val", type=float, default=0.2, help="fraction of images for val")
    parser.add_argument("--test", type=float, default=0.0, help="fraction of images for test")
    parser.add_argument("--seed", type=int, default=0,
                        help="shuffling seed: the same seed gives the same parts")
    parser.add_argument("--output", default=None,
                        help="folder for the parts (default: beside PATH, where the readers "
                             "find the same images)")
    return parser
