"""``maskrcnn detect --weights W --input DIR|FILE|GLOB [...] --output DIR``.

Writes annotated pictures, COCO results, images.csv (per image and class: count, share of
pixels) and summary.csv. Exit status 0 when the run completed (unreadable files are reported
and counted), 1 when no input image could be read, 2 when it could not run (bad weights,
options or folders).
"""
from __future__ import annotations

from ..errors import MaskRCNNError
from .common import (
    add_classes_option,
    add_command,
    add_matterport_options,
    fail,
    matterport_class_names,
)


def run(args) -> int:
    """Run :func:`maskrcnn.inference.detect_folder`; returns the exit status."""
    if args.device == "cpu":  # before TensorFlow touches the GPU, so that none is claimed
        import tensorflow as tf
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # already initialised: the device scope still places the ops
            pass
    from ..inference import detect_folder

    class_names = matterport_class_names(args)
    if args.config and class_names is None:
        return fail("--config (a matterport .h5) needs --class-names too")
    try:
        df = detect_folder(args.weights, args.input, args.output,
                           min_confidence=args.min_confidence, classes=args.classes,
                           batch_size=args.batch, device=args.device, save_masks=args.masks,
                           resume=args.resume, config=args.config, class_names=class_names,
                           annotations=args.annotations, border_objects=args.border_objects)
    except (MaskRCNNError, OSError) as err:
        return fail(err)
    print(f"outputs in {args.output}: annotated/, images.csv, summary.csv, detections.json"
          + (", masks/" if args.masks else "")
          + (f", annotations/ ({args.annotations})" if args.annotations else ""))
    return 1 if (df["status"] != "ok").all() else 0


def add_parser(subparsers):
    parser = add_command(
        subparsers, "detect", run,
        help="detect instances in images: pictures, masks, COCO results, area shares",
        description="Run a trained model over files, folders or glob patterns. Writes an "
                    "annotated picture per image, COCO results JSON (RLE masks), images.csv "
                    "(per image and class: instance count and share of the image's pixels "
                    "covered, overlaps counted once) and summary.csv.")
    parser.add_argument("--weights", required=True,
                        help="checkpoint of this project (carries config and class names), "
                             "an exported .tflite / .onnx file or SavedModel folder (maskrcnn "
                             "export), or a matterport .h5 with --config and --class-names")
    parser.add_argument("--input", required=True, nargs="+",
                        help="image folder(s), file(s) or quoted glob pattern(s), e.g. "
                             "'val2017/*.jpg' ('**' recurses)")
    parser.add_argument("--output", required=True,
                        help="output folder (not an input folder)")
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="count detections scoring at least this (default: the model's "
                             "operating threshold, calibrated in training; else the config's "
                             "DETECTION_MIN_CONFIDENCE)")
    parser.add_argument("--border-objects", choices=("count", "drop"), default=None,
                        help="count or drop detections touching the image border (default: "
                             "the model's DETECTION_BORDER_OBJECTS, learnt from the training "
                             "annotations)")
    add_classes_option(parser)
    parser.add_argument("--batch", type=int, default=None,
                        help="images per batch (default: the config's IMAGES_PER_GPU)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default=None,
                        help="where to run (default: a GPU when TensorFlow sees one)")
    parser.add_argument("--masks", action="store_true",
                        help="also write one PNG per instance under masks/")
    parser.add_argument("--annotations", choices=("via", "coco", "labelme", "yolo"),
                        default=None,
                        help="also write the detections as annotations to correct in a tool, "
                             "under annotations/: a VIA 2 project, COCO JSON (CVAT, Label "
                             "Studio), LabelMe JSON per image or YOLO labels (default: none)")
    parser.add_argument("--resume", action="store_true",
                        help="skip images that an earlier run into --output finished")
    add_matterport_options(parser)
    return parser
