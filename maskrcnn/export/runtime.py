"""What the TFLite and ONNX runners share: a Predictor over a graph that runs outside
TensorFlow (an interpreter or an inference session), and the metadata check."""
from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

from ..errors import WeightsError
from ..predictor import Predictor
from .saved_model import ExportedDetector

METADATA_KEY = "maskrcnn"  # where the config and class names go inside an exported file


class EagerPredictor(Predictor):
    """A Predictor whose graph is a plain callable on numpy arrays, run as it is (not traced
    into a tf.function: the work happens in another runtime)."""

    def graph(self):
        key = self.config.to_json()
        if self._graph is None or key != self._graph_config:
            self.config.validate()
            self._graph, self._graph_config = self._make_graph(), key
        return self._graph


class RuntimeDetector(ExportedDetector):
    """``detect`` over ``run(images, windows) -> (detections, masks)`` (numpy in and out)
    with the config and class names of an exported file's metadata (JSON text)."""

    def __init__(self, path: str, metadata_text: str | None, run):
        if not metadata_text:
            raise WeightsError(f"{path}: no maskrcnn metadata; was it written by maskrcnn's "
                               "export (model.export(path, format=...))?")
        self.path = path
        self.read_metadata(json.loads(metadata_text))

        def graph(images, windows):
            detections, masks = run(np.asarray(images, np.uint8),
                                    np.asarray(windows, np.float32))
            return tf.constant(detections), tf.constant(masks)

        self.predictor = EagerPredictor(self.config, lambda: graph)
