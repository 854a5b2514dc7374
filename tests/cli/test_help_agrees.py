"""``--help`` texts agree with what the commands accept (issue 36, item 5)."""
import argparse

from maskrcnn.cli import DESCRIPTION, build_parser
from maskrcnn.cli.common import DATASET_FORMATS

READER_NAMES = {"coco": "COCO", "via": "VIA", "labelme": "LabelMe", "yolo": "YOLO",
                "bdd": "BDD100K", "openimages": "Open Images", "shapes": "shapes"}


def _subparsers():
    action = next(a for a in build_parser()._actions
                  if isinstance(a, argparse._SubParsersAction))
    return action.choices, {c.dest: c.help for c in action._choices_actions}


def test_the_top_help_names_every_command():
    commands, _ = _subparsers()
    for command in commands:
        assert command in DESCRIPTION, command


def test_train_help_names_every_format_it_reads():
    _, helps = _subparsers()
    assert set(READER_NAMES) == set(DATASET_FORMATS)
    for name in READER_NAMES.values():
        assert name in helps["train"], name


def test_split_is_one_option_with_the_old_spelling_kept():
    commands, _ = _subparsers()
    for command in ("train", "calibrate", "evaluate"):
        args = commands[command].parse_args(["--dataset", "4x64", "--format", "shapes",
                                             "--split", "test"]
                                            + (["--weights", "x.h5"] if command == "evaluate"
                                               else ["x.h5"] if command == "calibrate" else []))
        assert args.split == "test"
    args = commands["evaluate"].parse_args(["--weights", "x.h5", "--dataset", "4x64",
                                            "--format", "shapes", "--subset", "test"])
    assert args.split == "test"
