"""``maskrcnn evaluate``: VOC mAP and the COCO tables of a checkpoint on a dataset, and how
well it counts at its operating threshold (tables and two pictures in --output)."""
from __future__ import annotations

import os

from .common import add_command, add_dataset_options, load_dataset


def default_output(weights: str, split: str) -> str:
    """``<checkpoint name>_evaluation_<split>/`` beside the checkpoint."""
    stem = os.path.splitext(os.path.abspath(weights.rstrip("/")))[0]
    return f"{stem}_evaluation_{split}"


def write_outputs(result, output: str) -> list[str]:
    """counts.csv (per image: true and counted objects, error, true and counted area share),
    per_image.csv, count_error.png and operating_point.png in ``output``, each written
    atomically (``maskrcnn.data.files.replacing``). Returns the file names."""
    from ..data.files import replacing
    from ..evaluation import plot_count_error, plot_operating_point

    tables = {"counts.csv": result.counts_table(), "per_image.csv": result.per_image}
    for name, table in tables.items():
        with replacing(os.path.join(output, name)) as f:
            table.to_csv(f, index=False)
    pictures = {"count_error.png": plot_count_error, "operating_point.png": plot_operating_point}
    for name, plot in pictures.items():
        with replacing(os.path.join(output, name), "wb") as f:
            plot(result).savefig(f, dpi=110, format="png")
    return list(tables) + list(pictures)


def run(args) -> int:
    from ..evaluation import evaluate_model
    from ..inference.detector import load_detector, operating_point

    model = load_detector(args.weights, min_confidence=args.min_confidence)
    if args.border_objects:
        model.config.DETECTION_BORDER_OBJECTS = args.border_objects
    dataset = load_dataset(args.dataset, args.format, args.split, args.images, "val",
                           getattr(model, "class_names", None))
    print(operating_point(model, args.min_confidence))
    result = evaluate_model(model, dataset, limit=args.limit, verbose=True)  # prints tables
    output = args.output or default_output(args.weights, args.split or "val")
    names = write_outputs(result, output)
    print(f"outputs in {output}: {', '.join(names)}")
    return 0


def add_parser(subparsers):
    parser = add_command(subparsers, "evaluate", run,
                         help="VOC mAP, the COCO tables and counting of a checkpoint",
                         description="Score a checkpoint on a dataset: VOC mAP and the COCO "
                                     "tables (on every detection down to score 0.05), and "
                                     "the counts at its operating threshold: per image true "
                                     "and counted objects and area shares (counts.csv), what "
                                     "each wrong count is, count error against threshold "
                                     "(count_error.png) and precision/recall with the "
                                     "operating point (operating_point.png).")
    parser.add_argument("--weights", required=True,
                        help="a checkpoint of this project, or an exported .tflite / .onnx "
                             "file or SavedModel folder")
    add_dataset_options(parser, "val", "--subset")
    parser.add_argument("--limit", type=int, default=None,
                        help="evaluate the first LIMIT images only (default: all)")
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="count from this score (default: the model's operating "
                             "threshold, calibrated in training)")
    parser.add_argument("--border-objects", choices=("count", "drop"), default=None,
                        help="count or drop detections touching the image border (default: "
                             "the model's DETECTION_BORDER_OBJECTS, learnt in training)")
    parser.add_argument("--output", default=None,
                        help="folder for counts.csv, per_image.csv and the pictures "
                             "(default: CHECKPOINT_evaluation_SPLIT beside the checkpoint)")
    return parser
