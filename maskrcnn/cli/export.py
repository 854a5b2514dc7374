"""``maskrcnn export``: a SavedModel for serving, or Keras 3 weights, from a checkpoint."""
from __future__ import annotations

from .common import add_command


def run(args) -> int:
    from ..mask_rcnn import MaskRCNN

    model = MaskRCNN.from_checkpoint(args.weights)
    path = model.export(args.output, format=args.format)
    print(f"exported: {path}")
    return 0


def add_parser(subparsers):
    parser = add_command(subparsers, "export", run,
                         help="a SavedModel for serving, or Keras 3 weights")
    parser.add_argument("--weights", required=True, help="a checkpoint of this project")
    parser.add_argument("--output", required=True, help="folder (saved_model) or .weights.h5")
    parser.add_argument("--format", default="saved_model", choices=["saved_model", "weights"],
                        help="what to write")
    return parser
