"""``maskrcnn inspect`` and ``maskrcnn convert``: check a dataset, or write it as COCO JSON.

``inspect PATH --format coco|via|bdd|openimages [--images DIR]`` prints counts, sizes and
problems (of every split of a dataset folder, and between them: repeated images); exit
status 1 when a problem is an error, 2 when the data cannot be read at all.
``convert PATH --format ... --output OUT.json [--to coco|via|labelme|yolo]`` writes COCO JSON
(or a VIA project, LabelMe or YOLO files); exit status 2 on bad data (``--skip-bad`` leaves
bad items out, reporting them, instead). ``merge ORIGINAL CORRECTED --format ... --output
OUT`` merges corrected annotations into the originals and reports what changed.
"""
from __future__ import annotations

import argparse
import sys

from ..data.duplicates import INSTANCE_IOU, NEAR_BITS
from ..data.layout import FORMATS
from ..data.writers import FORMATS as WRITE_FORMATS
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
    parser.add_argument("--class-names", default=None,
                        help="comma-separated new names of the classes, in order, e.g. "
                             "'balloon' for a one-class VIA set read as 'object' (default: "
                             "the names the reader finds)")
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


def _class_names(args):
    """The names of --class-names, or None."""
    return [c.strip() for c in args.class_names.split(",")] if args.class_names else None


def run_inspect(args) -> int:
    """``maskrcnn inspect``: print the report; 0 clean, 1 errors found, 2 unreadable."""
    from ..data.inspect import inspect_path

    try:
        report = inspect_path(args.path, args.format, images=args.images, split=args.split,
                              class_names_as=_class_names(args), near_bits=args.near_bits,
                              instance_iou=args.duplicate_iou, **_reader_options(args))
    except DatasetError as err:
        return fail(err)
    print(report.summary(max_problems=args.max_problems))
    if args.report:
        report.to_json(args.report)
        print(f"report written to {args.report}")
    return 1 if report.has_errors else 0


def run_convert(args) -> int:
    """``maskrcnn convert``: write COCO JSON (or --to's format); 0 done, 2 bad data or an
    output that would replace an input."""
    from ..data.inspect import count
    from ..data.layout import open_dataset
    from ..data.writers import write_dataset

    try:
        dataset = open_dataset(args.path, args.format, images=args.images, split=args.split,
                               strict=not args.skip_bad, **_reader_options(args))
        if args.class_names:
            dataset.rename_classes(_class_names(args))
        report = write_dataset(dataset, args.to, args.output, overwrite=args.overwrite,
                               split=args.split if args.to == "yolo" else None)
    except DatasetError as err:
        return fail(err)
    for problem in getattr(dataset, "problems", []):
        print(f"  {problem}", file=sys.stderr)
    if args.to != "coco":
        print(report)
        return 0
    print(f"{count(report.images, 'image')}, {count(report.instances, 'annotation')}, "
          f"{count(dataset.num_classes - 1, 'category', 'categories')} written to "
          f"{report.output}")
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
    for flag, kind, default, what in (
            ("--near-bits", int, NEAR_BITS, "images whose perceptual hashes (256 bits) differ "
             "in at most this many bits are reported as near-identical"),
            ("--duplicate-iou", float, INSTANCE_IOU, "instances of one image whose masks "
             "overlap with an IoU above this are reported as drawn twice")):
        parser.add_argument(flag, type=kind, default=default, help=what)
    return parser


def add_convert_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``convert`` to an ``ArgumentParser.add_subparsers()`` object."""
    parser = add_command(
        subparsers, "convert", run_convert, help="convert a dataset to COCO JSON",
        description="Read a dataset with any reader and write COCO instances JSON (images "
                    "with file_name, width, height; polygons kept, other masks as RLE).")
    _add_common(parser)
    parser.add_argument("--output", required=True,
                        help="what to write: for coco and via a .json file (or a folder, "
                             "then annotations.json / via_project.json in it); for labelme and "
                             "yolo a folder")
    parser.add_argument("--to", default="coco", choices=WRITE_FORMATS,
                        help="output format (--format is the input's)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave out bad items (listed) instead of stopping at the first")
    _add_overwrite(parser)
    return parser


def _add_overwrite(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="yolo: replace the class names of an existing data.yaml in "
                             "--output instead of refusing (inputs are never written over)")


def run_merge(args) -> int:
    """``maskrcnn merge``: write the merged annotations and print what changed; 0 done,
    2 bad data."""
    from ..data.files import check_writable, write_json
    from ..data.layout import open_dataset
    from ..data.merge import merge_annotations
    from ..data.writers import annotation_files, write_dataset

    def options(fmt, attribute):
        return {"class_attribute": attribute} if fmt == "via" and attribute else {}

    corrected_format = args.corrected_format or args.format
    try:
        original = open_dataset(args.original, args.format, images=args.images,
                                **original_options(args))
        corrected = open_dataset(args.corrected, corrected_format,
                                 images=args.corrected_images,
                                 **options(corrected_format, args.class_attribute),
                                 **_one_class(original, corrected_format, args))
        inputs = annotation_files(original, corrected)
        if args.report:
            check_writable(args.report, inputs)
        merged, report = merge_annotations(original, corrected, match_iou=args.match_iou)
        written = write_dataset(merged, args.to, args.output, overwrite=args.overwrite,
                                inputs=inputs)
        if args.report:
            write_json(args.report, report.to_dict(), indent=2, inputs=inputs)
    except DatasetError as err:
        return fail(err)
    print(report)
    print(written)
    if args.report:
        print(f"report written to {args.report}")
    return 0


def original_options(args) -> dict:
    """How ``merge`` reads VIA originals: by ``--original-class-attribute``, else by the
    corrections' ``--class-attribute`` (what detect writes is what the training set holds),
    regions without it being the one class 'object' (a one-class set such as balloons)."""
    if args.format != "via":
        return {}
    if args.original_class_attribute:
        return {"class_attribute": args.original_class_attribute}
    if args.class_attribute:
        return {"class_attribute": args.class_attribute, "default_class": "object"}
    return {}


def _one_class(original, corrected_format: str, args) -> dict:
    """VIA corrections read without --class-attribute are one class: the originals' one
    class (``default_class``), never a new class 'object'; refused where they have several."""
    if corrected_format != "via" or args.class_attribute:
        return {}
    names = original.class_names[1:]
    if len(names) != 1:
        raise DatasetError(f"{args.corrected}: VIA corrections without --class-attribute are "
                           f"all one class, but the originals have {len(names)} classes "
                           f"{names}; pass --class-attribute (detect --annotations via "
                           "writes 'class')")
    return {"default_class": names[0]}


#: ``merge``'s options: (flag, add_argument keywords).
MERGE_OPTIONS = (
    ("--format", {"required": True, "choices": FORMATS,
                  "help": "format of the original annotations"}),
    ("--corrected-format", {"choices": FORMATS,
                            "help": "format of the corrections (default: --format)"}),
    ("--images", {"help": "image folder of the originals (default: the format's usual place)"}),
    ("--corrected-images", {"help": "image folder of the corrections (default: the format's "
                                    "usual place)"}),
    ("--class-attribute", {"help": "VIA corrections: the region attribute holding the class "
                                   "name (detect --annotations via writes 'class') (default: "
                                   "one class, the originals' one class)"}),
    ("--original-class-attribute", {"help": "VIA originals: the region attribute holding the "
                                            "class name (default: --class-attribute, and "
                                            "one class, 'object', for regions without it)"}),
    ("--match-iou", {"type": float, "default": 0.5,
                     "help": "mask IoU from which a corrected instance is the same object"}),
    ("--output", {"required": True,
                  "help": "the merged annotations: a .json file (coco, via) or a folder"}),
    ("--to", {"default": "coco", "choices": WRITE_FORMATS,
              "help": "format of the merged annotations"}),
    ("--report", {"help": "also write the counts as JSON here (default: no file)"}),
)


def add_merge_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``merge`` to an ``ArgumentParser.add_subparsers()`` object."""
    description = ("Read the original annotations and the corrected ones (e.g. predictions "
                   "written with detect --annotations and corrected in VIA or LabelMe), take "
                   "each image from the corrections where it is there, and report instances "
                   "added, removed, redrawn and relabelled per image.")
    parser = add_command(subparsers, "merge", run_merge, description=description,
                         help="merge corrected annotations into the originals (corrections "
                              "win per image)")
    for side in ("original", "corrected"):
        parser.add_argument(side, help=f"the {side} annotations (file or dataset folder)")
    for flag, options in MERGE_OPTIONS:
        parser.add_argument(flag, **options)
    _add_overwrite(parser)
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
