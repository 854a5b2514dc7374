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
    return 0


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
    return parser
