"""TensorFlow Lite export of the inference graph, and ``TFLiteDetector`` to run it.

The exported graph is the SavedModel's (``saved_model.py``): inputs ``images`` uint8
(B, H, W, 3) padded as ``mold_inputs`` makes them, any H, W, and ``windows`` float32 (B, 4);
outputs ``detections`` (B, K, 6) and ``masks`` (B, K, h, w). Anchors and the mean pixel are
computed in the graph from the input's shape, so one file serves every image size (the
runner resizes the input tensors and allocates again for each new size).

Ops: TFLite builtins only, no SELECT_TF_OPS (Flex). The graph is traced with the portable
ops (``maskrcnn.modeling.portable``), because three of its ops have no builtin:
``CropAndResize`` (ROIAlign: written as GATHER and arithmetic), ``CombinedNonMaxSuppression``
(as NON_MAX_SUPPRESSION_V5 over class-shifted boxes) and the float64 anchor arithmetic (float32
here). The per-image NMS loop of the proposals (``tf.map_fn``, a TensorList loop) becomes a
builtin WHILE through the converter's TensorList lowering. So the file runs in the plain LiteRT
interpreter (``ai-edge-litert``) without the Flex delegate.

Quantization: ``quantize="float16"`` stores the weights as float16 (computed in float32 on a
CPU; half the size); ``"int8"`` stores int8 weights (dynamic range), or, with
``calibration_images``, also quantizes activations where the builtins allow, falling back to
float elsewhere (the NMS and gathers stay float).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import ConfigError, WeightsError
from .runtime import METADATA_KEY, RuntimeDetector
from .saved_model import frozen_portable_function, metadata_of

QUANTIZE_MODES = (None, "float16", "int8")


def export_tflite(model, path: str, quantize: str | None = None,
                  calibration_images=None) -> str:
    """Write ``model``'s inference graph as a ``.tflite`` file at ``path`` (atomically), with
    the config and class names in its metadata. ``quantize``: None (float32), "float16" or
    "int8"; ``calibration_images``: a few representative images (any sizes) for "int8"."""
    import json

    import tensorflow as tf
    from tensorflow.lite.tools import flatbuffer_utils

    if quantize not in QUANTIZE_MODES:
        raise ConfigError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if calibration_images is not None and quantize != "int8":
        raise ConfigError("calibration_images are for quantize='int8' only")
    path = os.fspath(path)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [frozen_portable_function(model)])
    flat = flatbuffer_utils.convert_bytearray_to_object(
        bytearray(_convert(converter, model, quantize, calibration_images)))
    _set_metadata(flat, json.dumps(metadata_of(model)).encode("utf-8"))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(flatbuffer_utils.convert_object_to_bytearray(flat))
    os.replace(partial, path)
    return path


def _convert(converter, model, quantize, calibration_images) -> bytes:
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8" and calibration_images is not None:
        converter.representative_dataset = _representative(model, list(calibration_images))
    return converter.convert()


def _representative(model, images):
    """The converter's calibration data: each image molded as ``detect`` molds it."""
    def batches():
        molded, metas = model.predictor.mold_inputs(images)
        for image, meta in zip(molded, metas):
            yield [image[None], model.predictor.normalized_window(meta)[None]]
    return batches


def _set_metadata(flat, data: bytes) -> None:
    """Add (or replace) the METADATA_KEY entry of a TFLite model object."""
    from tensorflow.lite.python import schema_py_generated as schema

    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, np.uint8)
    flat.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_KEY, len(flat.buffers) - 1
    flat.metadata = [m for m in (flat.metadata or []) if m.name.decode() != METADATA_KEY]
    flat.metadata.append(entry)


def read_tflite_metadata(path: str) -> str | None:
    """The METADATA_KEY text of a ``.tflite`` file, None when it has none."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        from tensorflow.lite.python import schema_py_generated as schema
    with open(path, "rb") as f:
        data = f.read()
    flat = schema.Model.GetRootAs(data, 0)
    for i in range(flat.MetadataLength()):
        entry = flat.Metadata(i)
        if entry.Name().decode() == METADATA_KEY:
            return flat.Buffers(entry.Buffer()).DataAsNumpy().tobytes().decode("utf-8")
    return None


def tflite_interpreter(path: str, num_threads: int | None = None):
    """A LiteRT interpreter of ``path`` (``ai_edge_litert``), or TensorFlow's
    ``tf.lite.Interpreter`` where ai-edge-litert is not installed or cannot run the file
    (a file with Flex ops, which only TensorFlow's interpreter links)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = None
    if Interpreter is not None:
        try:
            interpreter = Interpreter(model_path=path, num_threads=num_threads)
            interpreter.allocate_tensors()
            return interpreter
        except (RuntimeError, ValueError):
            pass  # e.g. Flex ops: TensorFlow's own interpreter has them
    import tensorflow as tf
    interpreter = tf.lite.Interpreter(model_path=path, num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


class TFLiteDetector(RuntimeDetector):
    """``detect([image])`` (MaskRCNN's results) over an exported ``.tflite`` file, through the
    LiteRT interpreter. Images of a new padded size resize the input tensors and allocate the
    interpreter again; a run of images of one size allocates once."""

    def __init__(self, path: str, num_threads: int | None = None):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise WeightsError(f"{path}: no such TFLite file")
        self.interpreter = tflite_interpreter(path, num_threads or os.cpu_count())
        inputs = self.interpreter.get_input_details()
        self._images = next(d["index"] for d in inputs if d["dtype"] == np.uint8)
        self._windows = next(d["index"] for d in inputs if d["dtype"] == np.float32)
        outputs = self.interpreter.get_output_details()
        self._detections = next(d["index"] for d in outputs if len(d["shape"]) == 3)
        self._masks = next(d["index"] for d in outputs if len(d["shape"]) == 4)
        self._shape = None
        super().__init__(path, read_tflite_metadata(path), self.run)

    def run(self, images: np.ndarray, windows: np.ndarray):
        """The graph on a batch: uint8 (B, H, W, 3), float32 (B, 4) -> detections, masks."""
        interpreter = self.interpreter
        if images.shape != self._shape:
            interpreter.resize_tensor_input(self._images, list(images.shape), strict=False)
            interpreter.resize_tensor_input(self._windows, list(windows.shape), strict=False)
            interpreter.allocate_tensors()
            self._shape = images.shape
        interpreter.set_tensor(self._images, images)
        interpreter.set_tensor(self._windows, windows)
        interpreter.invoke()
        return (interpreter.get_tensor(self._detections).copy(),
                interpreter.get_tensor(self._masks).copy())


def tflite_op_names(path: str) -> set[str]:
    """The operators of a ``.tflite`` file over all its subgraphs (loop bodies included):
    builtin names such as "CONV_2D", custom ones (Flex ops are "Flex<TF op>") as they are."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    flat = flatbuffer_utils.read_model(path)
    builtin = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    names = set()
    for graph in flat.subgraphs:
        for op in graph.operators:
            code = flat.operatorCodes[op.opcodeIndex]
            kind = max(code.builtinCode, code.deprecatedBuiltinCode)
            names.add(code.customCode.decode() if code.customCode else builtin[kind])
    return names
