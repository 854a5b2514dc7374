"""Export a trained model: Keras 3 ``.weights.h5``, and a SavedModel of the inference graph.

The SavedModel's ``serving_default`` signature takes what ``MaskRCNN.mold_inputs`` makes:

    images   uint8   (B, H, W, 3)  resized and padded, H, W = config.IMAGE_SHAPE[:2]
    windows  float32 (B, 4)        the image inside the padding, y1, x1, y2, x2 in [0, 1]

and returns ``detections`` float32 (B, K, 6) (normalised y1, x1, y2, x2, class id, score;
rows with class id 0 are padding) and ``masks`` float32 (B, K, h, w) (mask probability of each
detection's class in its box), K = DETECTION_MAX_INSTANCES. ``maskrcnn.json`` beside it holds
the config and class names; ``load_saved_model`` gives back an object whose ``detect`` works
as ``MaskRCNN.detect``.
"""
from __future__ import annotations

import json
import os
import shutil

import tensorflow as tf

from .config import Config
from .errors import WeightsError
from .model.mask_head import paste_masks
from .model.mask_rcnn import MaskRCNN

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

    def __init__(self, network, image_shape):
        super().__init__(name="maskrcnn_inference")
        self.network = network
        height, width, channels = (int(v) for v in image_shape)
        signature = [tf.TensorSpec((None, height, width, channels), tf.uint8, name="images"),
                     tf.TensorSpec((None, 4), tf.float32, name="windows")]
        self.detect = tf.function(self._detect, input_signature=signature, jit_compile=False)

    def _detect(self, images, windows):
        detections, masks = self.network.detect_batch(images, windows)
        return {"detections": detections, "masks": masks}


def export_saved_model(model, path: str) -> str:
    """Write ``model``'s inference graph as a SavedModel at ``path`` (a folder, replaced if it
    exists; written to ``<path>.partial`` first). Needs a fixed padded image size: square
    resizing (IMAGE_RESIZE_MODE="square") gives IMAGE_MAX_DIM x IMAGE_MAX_DIM."""
    config = model.config
    if config.IMAGE_RESIZE_MODE not in ("square", "crop"):
        raise WeightsError(f"IMAGE_RESIZE_MODE={config.IMAGE_RESIZE_MODE!r} gives images of "
                           "varying size; export needs a fixed one: set "
                           "IMAGE_RESIZE_MODE='square' before exporting")
    path = os.fspath(path)
    partial = path + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    module = _InferenceModule(model.keras_model, config.IMAGE_SHAPE)
    tf.saved_model.save(module, partial,
                        signatures={"serving_default": module.detect.get_concrete_function()})
    with open(os.path.join(partial, METADATA_FILE), "w") as f:
        json.dump({"config": config.to_json(),
                   "class_names": list(model.class_names or [])}, f, indent=1)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(partial, path)
    return path


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
    return ServedMaskRCNN(tf.saved_model.load(path), Config.from_json(metadata["config"], default_version=1),
                          metadata["class_names"])


class ServedMaskRCNN(MaskRCNN):
    """MaskRCNN's ``detect`` and ``mold_inputs`` over a loaded SavedModel: no Keras model is
    built, the graph and variables come from the SavedModel."""

    def __init__(self, loaded, config: Config, class_names: list[str]):  # no network to build
        self.mode, self.config, self.class_names = "inference", config, class_names
        self.loaded = loaded
        self.keras_model = None
        self.epoch, self.model_dir, self.log_dir, self.checkpoint_path = 0, "", None, None
        self.strategy = tf.distribute.get_strategy()  # the SavedModel runs on one device
        serve = loaded.signatures["serving_default"]

        def detect_fn(images, windows):
            result = serve(images=images, windows=windows)
            return result["detections"], result["masks"]

        self._detect_fn = detect_fn
        self._paste_fn = tf.function(paste_masks, reduce_retracing=True, jit_compile=False)
