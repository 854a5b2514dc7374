"""The ``maskrcnn`` command line: every command is listed in :data:`DESCRIPTION`.

Each sub-command is a thin layer over the Python API, in a module of its own (``demo``,
``train``, ``calibrate``, ``detect``, ``evaluate``, ``export``, ``data`` for inspect,
convert, split and merge);
``maskrcnn SUBCOMMAND --help`` lists its options with their defaults.
"""
from __future__ import annotations

import argparse
import sys

from ..errors import MaskRCNNError
from . import calibrate, data, demo, detect, evaluate, export, train
from .common import HelpFormatter, fail

DESCRIPTION = ("Mask R-CNN on your own images. Commands: inspect, convert, split (datasets); "
               "train, calibrate, evaluate (models); detect, merge (counting and the "
               "annotation loop); export (serving); demo. `maskrcnn COMMAND --help` lists "
               "a command's options.")


def build_parser() -> argparse.ArgumentParser:
    """The ``maskrcnn`` parser; each sub-command sets ``func``, called with the parsed args."""
    parser = argparse.ArgumentParser(prog="maskrcnn", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(sub)
    train.add_parser(sub)
    calibrate.add_parser(sub)
    evaluate.add_parser(sub)
    export.add_parser(sub)
    data.add_inspect_parser(sub)
    data.add_convert_parser(sub)
    data.add_split_parser(sub)
    data.add_merge_parser(sub)
    detect.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to say how to resume
    try:
        return int(args.func(args) or 0)
    except (MaskRCNNError, FileNotFoundError) as err:
        return fail(err)
    except KeyboardInterrupt:  # outside training (which saves and says how to resume)
        print(f"maskrcnn {args.command}: interrupted", file=sys.stderr)
        return 130
