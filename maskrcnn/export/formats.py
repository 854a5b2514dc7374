"""Choosing a format by name: ``export_model`` (what ``MaskRCNN.export`` and ``maskrcnn
export`` call) and ``load_exported`` (what ``maskrcnn detect --weights FILE`` runs). The one
module of this package that knows every format; none of them imports it."""
from __future__ import annotations

import os

import tensorflow as tf

from ..errors import ConfigError, WeightsError
from .saved_model import (
    ExportedDetector,
    export_keras_weights,
    export_saved_model,
    load_saved_model,
)

EXPORT_FORMATS = ("saved_model", "weights", "tflite", "onnx")


def export_model(model, path: str, format: str = "saved_model", **options) -> str:
    """``MaskRCNN.export``: "saved_model" (``export_saved_model``), "weights"
    (``export_keras_weights``), "tflite" (``tflite.export_tflite``; options ``quantize``
    None | "float16" | "int8" and ``calibration_images``) or "onnx" (``onnx.export_onnx``;
    option ``opset``)."""
    if format == "tflite":
        from .tflite import export_tflite
        return export_tflite(model, path, **options)
    if format == "onnx":
        from .onnx import export_onnx
        return export_onnx(model, path, **options)
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    if options:
        raise ConfigError(f"format {format!r} takes no options, got {sorted(options)}")
    if format == "saved_model":
        return export_saved_model(model, path)
    return export_keras_weights(model, path)


EXPORTED_SUFFIXES = (".tflite", ".onnx")


def load_exported(path) -> ExportedDetector | None:
    """The detector of an exported file or folder, by its name: ``.tflite``
    (``TFLiteDetector``), ``.onnx`` (``ONNXDetector``) or a SavedModel folder
    (``ServedModel``); None for anything else (a checkpoint)."""
    path = os.fspath(path)
    if path.lower().endswith(".tflite"):
        from .tflite import TFLiteDetector
        return TFLiteDetector(path)
    if path.lower().endswith(".onnx"):
        try:
            from .onnx import ONNXDetector
            return ONNXDetector(path)
        except ImportError as err:
            raise WeightsError(f"{path}: running ONNX files needs onnxruntime "
                               "(pip install 'maskrcnn[export]')") from err
    if os.path.isdir(path) and tf.saved_model.contains_saved_model(path):
        return load_saved_model(path)
    return None
