"""``maskrcnn evaluate``: VOC mAP and the COCO tables of a checkpoint on a dataset."""
from __future__ import annotations

from .common import add_command, add_dataset_options, load_dataset


def run(args) -> int:
    from ..evaluation import evaluate_model
    from ..mask_rcnn import MaskRCNN

    model = MaskRCNN.from_checkpoint(args.weights)
    dataset = load_dataset(args.dataset, args.format, args.subset, args.images, "val")
    evaluate_model(model, dataset, limit=args.limit, verbose=True)  # prints both tables
    return 0


def add_parser(subparsers):
    parser = add_command(subparsers, "evaluate", run,
                         help="VOC mAP and the COCO tables of a checkpoint")
    parser.add_argument("--weights", required=True, help="a checkpoint of this project")
    add_dataset_options(parser, "--subset", "val")
    parser.add_argument("--limit", type=int, default=None,
                        help="evaluate the first LIMIT images only (default: all)")
    return parser
