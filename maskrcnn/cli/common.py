"""What the command modules share: the help layout, adding a command, reporting an error,
and opening the dataset that ``train`` and ``evaluate`` name."""
from __future__ import annotations

import argparse
import os
import sys

DATASET_FORMATS = ("coco", "via", "bdd", "openimages", "labelme", "yolo", "shapes")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default. Required options have none; an option whose
    default is None says in its help what happens without it, "(default: ...)"."""

    def _get_help_string(self, action):
        if action.required or action.default is None or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_command(subparsers, name: str, run, help: str, description: str | None = None):
    """A sub-command parser that shows defaults in ``--help`` and calls ``run(args)``."""
    parser = subparsers.add_parser(name, help=help, description=description or help,
                                   formatter_class=HelpFormatter)
    parser.set_defaults(func=run)
    return parser


def add_classes_option(parser) -> None:
    """--classes, of ``detect``, ``inspect`` and ``convert``."""
    parser.add_argument("--classes", default=None,
                        help="comma-separated class names to keep (default: all)")


def add_matterport_options(parser) -> None:
    """--config and --class-names, for a matterport .h5 (``detect``, ``calibrate``)."""
    parser.add_argument("--config", default=None,
                        help="matterport .h5 only: the config as a JSON file or JSON text "
                             "(default: the checkpoint's)")
    parser.add_argument("--class-names", default=None,
                        help="matterport .h5 only: comma-separated class names in class id "
                             "order (background first or left out); a checkpoint of this "
                             "project carries its own, and different names are refused (default: "
                             "the checkpoint's, else class_1, class_2...)")


def matterport_class_names(args) -> list[str] | None:
    """The names --class-names gives, or None."""
    return ([c.strip() for c in args.class_names.split(",") if c.strip()]
            if args.class_names else None)


def fail(err) -> int:
    """Print ``err`` as the command line's error line; returns exit status 2."""
    print(f"error: {err}", file=sys.stderr)
    return 2


def chosen_split(path, split, default: str) -> str | None:
    """``split``, else ``default`` for a folder (or zip) and for a file that ``maskrcnn
    split`` cut into parts; None (the file as it is) for a file alone or one such part."""
    if split or not os.path.isfile(path) or path.lower().endswith(".zip"):
        return split or default
    from ..data.files import split_parts
    parts = split_parts(path)
    return default if parts and os.path.abspath(path) not in parts.values() else None


def load_dataset(path, fmt: str, split, images=None, default: str = "train",
                 model_classes=None):
    """The dataset ``--dataset``/``--format`` names, its split ``split`` (None: see
    :func:`chosen_split`); for "shapes", ``path`` is "COUNTxSIZE" (synthetic shapes; split
    "train" draws seed 0, any other split seed 1). ``model_classes``: a model's class names
    (BG first); a dataset with the same classes in another order (a reader sorts them, a
    tool lists them as drawn) is read in the model's order, said in one line."""
    split = chosen_split(path or "", split, default)
    if fmt == "shapes":
        from ..data import ShapesDataset
        count, size = (int(v) for v in (path or "200x128").split("x"))
        return ShapesDataset(count, size, size, seed=0 if split == "train" else 1)
    from ..data.layout import open_dataset
    dataset = open_dataset(path, fmt, images=images, split=split)
    order = list(model_classes or [])
    if not order or list(dataset.class_names) == order or \
            sorted(dataset.class_names) != sorted(order):
        return dataset
    print(f"{path}: classes {list(dataset.class_names)[1:]} read in the model's order "
          f"{order[1:]}")
    dataset.order_classes(order[1:])
    return dataset


def add_dataset_options(parser, split_default: str, *aliases: str) -> None:
    """--dataset, --format, --images and --split (``dest="split"``; ``aliases`` are older
    spellings still accepted, e.g. evaluate's ``--subset``) of ``train``, ``calibrate`` and
    ``evaluate``."""
    parser.add_argument("--dataset", required=True,
                        help="annotation file or dataset folder; for shapes COUNTxSIZE, e.g. "
                             "200x128")
    parser.add_argument("--format", required=True, choices=DATASET_FORMATS,
                        help="annotation format (shapes: synthetic shapes, no files)")
    parser.add_argument("--images", default=None,
                        help="image folder (default: the format's usual place)")
    parser.add_argument("--split", *aliases, dest="split", default=None,
                        help=f"split to read (train, val, test...) of a dataset folder or of "
                             f"a file that `maskrcnn split` cut (default: {split_default}; a "
                             "file that is not cut is read as it is)"
                             + (f"; {', '.join(aliases)} is the same option" if aliases else ""))
