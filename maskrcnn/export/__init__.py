"""Export a trained model: a SavedModel of the inference graph (any image size), TensorFlow
Lite and ONNX files of the same graph in portable ops, and Keras 3 ``.weights.h5``; runners
behind ``detect``: ``load_saved_model``, ``TFLiteDetector`` (LiteRT), ``ONNXDetector``
(onnxruntime), and ``load_exported`` choosing by the file's name. The converters and runtimes
are the ``[export]`` extra."""
from .formats import EXPORT_FORMATS, export_model, load_exported
from .onnx import ONNXDetector, export_onnx
from .saved_model import (
                          METADATA_FILE,
                          ExportedDetector,
                          ServedMaskRCNN,
                          ServedModel,
                          export_keras_weights,
                          export_saved_model,
                          load_saved_model,
)
from .tflite import TFLiteDetector, export_tflite, tflite_op_names

__all__ = ["EXPORT_FORMATS", "METADATA_FILE", "ExportedDetector", "ONNXDetector", "ServedMaskRCNN",
           "ServedModel", "TFLiteDetector", "export_keras_weights", "export_model",
           "export_onnx", "export_saved_model", "export_tflite", "load_exported",
           "load_saved_model", "tflite_op_names"]
