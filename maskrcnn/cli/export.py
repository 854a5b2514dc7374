"""``maskrcnn export``: a SavedModel, TFLite or ONNX file for serving, or Keras 3 weights,
from a checkpoint."""
from __future__ import annotations

from ..errors import MaskRCNNError
from .common import add_command, fail


def run(args) -> int:
    from ..mask_rcnn import MaskRCNN

    model = MaskRCNN.from_checkpoint(args.weights)
    options = {}
    if args.quantize:
        if args.format != "tflite":
            return fail("--quantize is for --format tflite")
        options["quantize"] = args.quantize
    try:
        path = model.export(args.output, format=args.format, **options)
    except ImportError as err:
        return fail(f"{err}: the converters come with pip install 'maskrcnn[export]'")
    except MaskRCNNError as err:
        return fail(err)
    print(f"exported: {path}")
    if args.check:
        return check_export(model, path, args.check)
    return 0


def check_export(model, path: str, inputs) -> int:
    """Detect on the images ``inputs`` names with the checkpoint and with the exported file;
    print each image that differs and a summary. Returns 0 when all are the same, else 1."""
    from ..data.image_io import read_image
    from ..export.check import compare_detections
    from ..export.formats import load_exported
    from ..inference.files import list_images
    from ..progress import progress_bar

    if path.endswith(".weights.h5"):
        return fail("--check compares a detector: export saved_model, tflite or onnx")
    files = list_images(inputs)
    if not files:
        return fail(f"--check: no image files in {inputs}")
    exported = load_exported(path)
    expected, got = [], []
    for file in progress_bar(files, desc="checking", unit="img"):
        image = read_image(file)
        expected += model.detect([image])
        got += exported.detect([image])
    table = compare_detections(expected, got, files)
    for row in table[~table["same"]].itertuples():
        print(f"differs: {row.image}: {row.checkpoint} detections from the checkpoint, "
              f"{row.exported} from the export ({row.unpaired} unpaired), boxes up to "
              f"{row.max_box_px:.0f} px apart, scores up to {row.max_score_delta:.4f}, mask "
              f"IoU down to {row.min_mask_iou:.3f}")
    same = int(table["same"].sum())
    print(f"check: {same}/{len(table)} images give the same detections from {path} as from "
          "the checkpoint (boxes within 1 px, scores within 0.001, mask IoU >= 0.98)")
    return 0 if same == len(table) else 1


def add_parser(subparsers):
    parser = add_command(subparsers, "export", run,
                         help="a SavedModel, TFLite or ONNX file for serving, or Keras 3 "
                              "weights")
    parser.add_argument("--weights", required=True, help="a checkpoint of this project")
    parser.add_argument("--output", required=True,
                        help="folder (saved_model), .tflite, .onnx or .weights.h5 file")
    parser.add_argument("--format", default="saved_model",
                        choices=["saved_model", "tflite", "onnx", "weights"],
                        help="what to write (tflite and onnx need the [export] extra)")
    parser.add_argument("--quantize", default=None, choices=["float16", "int8"],
                        help="tflite only: float16 weights (half the size), or int8 weights "
                             "(dynamic range) (default: float32, none)")
    parser.add_argument("--check", nargs="+", default=None, metavar="IMAGES",
                        help="after exporting, detect on these images (folders, files or "
                             "quoted globs) with the checkpoint and the exported file and "
                             "report every image whose detections differ; exit status 1 if "
                             "any does (default: no check)")
    return parser
