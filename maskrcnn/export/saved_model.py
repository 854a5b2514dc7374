"""Export a trained model: Keras 3 ``.weights.h5``, and a SavedModel of the inference graph.

The SavedModel's ``serving_default`` signature takes what ``MaskRCNN.mold_inputs`` makes:

    images   uint8   (B, H, W, 3)  resized and padded, any H, W (anchors come from the shape)
    windows  float32 (B, 4)        the image inside the padding, y1, x1, y2, x2 in [0, 1]

and returns ``detections`` float32 (B, K, 6) (normalised y1, x1, y2, x2, class id, score;
rows with class id 0 are padding) and ``masks`` float32 (B, K, h, w) (mask probability of each
detection's class in its box), K = DETECTION_MAX_INSTANCES. ``maskrcnn.json`` beside it holds
the config and class names; ``load_saved_model`` gives back a ``ServedModel`` whose
``detect`` is ``MaskRCNN.detect`` (the same Predictor) over the SavedModel's graph.
``export_model`` also writes TensorFlow Lite (``tflite.py``) and ONNX (``onnx.py``) files of
the same graph in portable ops.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil

import tensorflow as tf

from ..config import Config
from ..errors import WeightsError
from ..modeling.portable import portable_ops
from ..predictor import Predictor

METADATA_FILE = "maskrcnn.json"


def export_keras_weights(model, path: str) -> str:
    """Write the model's weights as a Keras 3 ``.weights.h5`` (atomically). Load it back with
    ``model.load_weights(path)`` into a model of the same config."""
    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise WeightsError(f"{path}: Keras 3 weights files must end in .weights.h5")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path[:-len(".weights.h5")] + ".partial.weights.h5"
    model.keras_model.save_weights(partial, overwrite=True)
    os.replace(partial, path)
    return path


class _InferenceModule(tf.Module):
    """The inference graph with its variables, as a tf.Module that tf.saved_model can save."""

    def __init__(self, network, channels: int):
        super().__init__(name="maskrcnn_inference")
        self.network = network
        signature = [tf.TensorSpec((None, None, None, channels), tf.uint8, name="images"),
                     tf.TensorSpec((None, 4), tf.float32, name="windows")]
        self.detect = tf.function(self._detect, input_signature=signature, jit_compile=False)

    def _detect(self, images, windows):
        detections, masks = self.network.detect_batch(images, windows)
        return {"detections": detections, "masks": masks}


#: Exported graphs detect from this score (or the operating threshold, if lower); the
#: operating threshold in their metadata is applied after the graph, so that a user can
#: still count from another threshold down to this one.
GRAPH_MIN_CONFIDENCE = 0.05


def graph_min_confidence(config) -> float:
    """The score an exported graph of ``config`` detects from."""
    return min(GRAPH_MIN_CONFIDENCE, float(config.DETECTION_MIN_CONFIDENCE))


def inference_function(model, portable: bool = False):
    """The module holding ``model``'s inference graph and its concrete function (uint8
    images of any size and windows in, ``detections`` and ``masks`` out), traced with the
    portable ops (``maskrcnn.modeling.portable``) when ``portable``, detecting from
    :func:`graph_min_confidence`."""
    model.predictor.graph()  # the batch norms as the config says (BN_INFERENCE_STATISTICS)
    module = _InferenceModule(model.keras_model, model.config.IMAGE_CHANNEL_COUNT)
    operating = model.config.DETECTION_MIN_CONFIDENCE
    model.config.DETECTION_MIN_CONFIDENCE = graph_min_confidence(model.config)
    try:
        with portable_ops() if portable else contextlib.nullcontext():
            return module, module.detect.get_concrete_function()
    finally:
        model.config.DETECTION_MIN_CONFIDENCE = operating


def frozen_portable_function(model):
    """``inference_function(model, portable=True)`` with its variables and captured tensors
    frozen into constants: the graph that the TFLite and ONNX converters take (left to
    themselves, this TensorFlow's TFLite converter keeps Keras 3 variables as resource
    variables that the interpreter reads uninitialised, and tf2onnx makes the captured mean
    pixel an extra input)."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )
    _, concrete = inference_function(model, portable=True)
    return convert_variables_to_constants_v2(concrete, lower_control_flow=False)


def metadata_of(model) -> dict:
    """What a loader needs beside the graph: the config (JSON text, with the operating
    threshold), the class names, the score the graph detects from, and the calibration of
    the threshold (JSON text, or None)."""
    calibration = getattr(model, "calibration", None)
    return {"config": model.config.to_json(), "class_names": list(model.class_names or []),
            "graph_min_confidence": graph_min_confidence(model.config),
            "calibration": calibration.to_json() if calibration is not None else None}


def export_saved_model(model, path: str, portable: bool = False) -> str:
    """Write ``model``'s inference graph as a SavedModel at ``path`` (a folder, replaced if it
    exists; written to ``<path>.partial`` first). The graph takes padded images of any size,
    as ``mold_inputs`` makes them in every IMAGE_RESIZE_MODE. ``portable``: traced in the
    ops that TFLite and ONNX converters take (``maskrcnn.modeling.portable``)."""
    path = os.fspath(path)
    partial = path + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    module, concrete = inference_function(model, portable)
    tf.saved_model.save(module, partial, signatures={"serving_default": concrete})
    with open(os.path.join(partial, METADATA_FILE), "w") as f:
        json.dump(metadata_of(model), f, indent=1)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(partial, path)
    return path


def config_of(metadata: dict) -> Config:
    """The Config that ``metadata_of`` wrote."""
    return Config.from_json(metadata["config"], default_version=1, extra_fields=True)


def load_saved_model(path: str):
    """A SavedModel written by ``export_saved_model``, wrapped so that ``detect([image])``
    returns what ``MaskRCNN.detect`` returns. Only the SavedModel's graph and variables are
    read (no pickle)."""
    path = os.fspath(path)
    if not tf.saved_model.contains_saved_model(path):
        raise WeightsError(f"{path}: no SavedModel here (export one with model.export(path))")
    metadata_path = os.path.join(path, METADATA_FILE)
    if not os.path.isfile(metadata_path):
        raise WeightsError(f"{path}: no {METADATA_FILE}; was it written by maskrcnn's export?")
    with open(metadata_path) as f:
        metadata = json.load(f)
    return ServedModel(tf.saved_model.load(path), metadata)


class ExportedDetector:
    """``detect`` and ``mold_inputs`` of MaskRCNN over an exported graph, through the same
    Predictor: subclasses set ``config``, ``class_names`` and ``predictor``. The graph is
    fixed: of the config, only the molding fields can still change."""

    config: Config
    class_names: list[str]
    predictor: Predictor
    calibration = None  # how the operating threshold was chosen (a Calibration), or None
    graph_min_confidence = 0.0  # the score the graph detects from: no threshold below it

    def read_metadata(self, metadata: dict) -> None:
        """Config, class names, calibration and graph threshold from ``metadata_of``'s dict
        (files exported before the graph threshold was kept detect from their config's)."""
        from ..evaluation.calibration import Calibration
        self.config, self.class_names = config_of(metadata), metadata["class_names"]
        self.calibration = Calibration.from_json(metadata.get("calibration"))
        self.graph_min_confidence = float(metadata.get(
            "graph_min_confidence", self.config.DETECTION_MIN_CONFIDENCE))

    def detect(self, images, verbose: int = 0, masks: str = "auto") -> list[dict]:
        """As ``MaskRCNN.detect`` (``masks``: "full", "crops" or "auto")."""
        return self.predictor.detect(images, verbose, masks)

    def mold_inputs(self, images):
        return self.predictor.mold_inputs(images)


class ServedModel(ExportedDetector):
    """A loaded SavedModel behind ``detect``: no Keras model is built, the graph and
    variables come from the SavedModel."""

    def __init__(self, loaded, metadata: dict):
        self.loaded = loaded
        self.read_metadata(metadata)
        serve = loaded.signatures["serving_default"]

        def graph(images, windows):
            result = serve(images=images, windows=windows)
            return result["detections"], result["masks"]

        self.predictor = Predictor(self.config, lambda: graph)


ServedMaskRCNN = ServedModel  # its name before the Predictor split
