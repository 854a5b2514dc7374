"""The model of a folder run: loaded from a checkpoint, its class names checked against those
given, the classes to keep, and the device it runs on.
"""
from __future__ import annotations

import contextlib
import os

from ..errors import ConfigError


def device_scope(device: str | None):
    """``tf.device`` for "cpu" or "gpu" (refusing "gpu" where TensorFlow sees none)."""
    if device is None:
        return contextlib.nullcontext()
    import tensorflow as tf
    if device.lower() not in ("cpu", "gpu"):
        raise ConfigError(f"device must be 'cpu' or 'gpu', got {device!r}")
    if device.lower() == "gpu" and not tf.config.list_physical_devices("GPU"):
        raise ConfigError("device 'gpu' asked for, but TensorFlow sees no GPU "
                          "(install tensorflow[and-cuda] or use device='cpu')")
    return tf.device(f"/{device.upper()}:0")


def load_detector(weights: str, config=None, class_names=None, min_confidence=None,
                  batch_size=None):
    """A MaskRCNN in inference mode from a checkpoint (which carries config and class names)
    or a matterport .h5 with ``config`` (Config, JSON text or JSON file) and ``class_names``;
    for an exported ``.tflite`` / ``.onnx`` file or SavedModel folder, its runner
    (``maskrcnn.export.load_exported``)."""
    from ..config import Config
    from ..export.formats import load_exported
    from ..mask_rcnn import MaskRCNN

    exported = load_exported(weights)  # .tflite, .onnx or a SavedModel folder: graph fixed
    if exported is not None:
        exported.class_names = class_names_of(exported, class_names)
        if min_confidence is not None:
            floor = exported.graph_min_confidence
            if min_confidence < floor:
                raise ConfigError(f"{weights} was exported to detect from score {floor:g}: "
                                  f"min_confidence {min_confidence:g} is below it; export "
                                  "again from the checkpoint, or choose at least that")
            exported.config.DETECTION_MIN_CONFIDENCE = float(min_confidence)
        return exported
    if isinstance(config, (str, os.PathLike)):
        text = os.fspath(config)
        if os.path.isfile(text):
            with open(text, encoding="utf-8") as f:
                text = f.read()
        config = Config.from_json(text)
    overrides = {}
    if min_confidence is not None:
        overrides["DETECTION_MIN_CONFIDENCE"] = float(min_confidence)
    if batch_size:
        overrides.update(IMAGES_PER_GPU=int(batch_size), GPU_COUNT=1)
    model = MaskRCNN.from_checkpoint(os.fspath(weights), mode="inference", config=config,
                                     **overrides)
    model.class_names = class_names_of(model, class_names)
    return model


def operating_point(model, min_confidence=None) -> str:
    """One line: the score threshold detections count from, and where it comes from."""
    threshold = float(model.config.DETECTION_MIN_CONFIDENCE)
    if min_confidence is not None:
        line = f"score threshold {threshold:.3f} (--min-confidence)"
    elif getattr(model, "calibration", None) is not None:
        line = model.calibration.describe()
    else:
        line = (f"score threshold {threshold:.3f}: the config's DETECTION_MIN_CONFIDENCE, not "
                "calibrated (`maskrcnn calibrate` chooses one on images whose counts you know)")
    if model.config.DETECTION_BORDER_OBJECTS == "drop":
        line += "; detections touching the image border are not counted (--border-objects count)"
    return line


def class_names_of(model, names=None) -> list[str]:
    """Class names with the background first ("BG" added when left out).

    ``names`` given for a model that carries its own (a project checkpoint) must equal them
    (the background's name aside): ConfigError says which differ, rather than relabel."""
    num_classes = int(model.config.NUM_CLASSES)
    own = getattr(model, "class_names", None)
    if names is not None and own:
        given, carried = _with_background(names, num_classes), _with_background(own, num_classes)
        if given[1:] != carried[1:]:
            if len(given) == len(carried):
                differ = [f"class {i}: {carried[i]!r} in the model, {given[i]!r} given"
                          for i in range(1, len(given)) if given[i] != carried[i]]
            else:
                differ = [(f"{len(list(names))} names given, the model has "
                           f"{len(carried) - 1} (background left out)")]
            raise ConfigError(f"the class names given ({given[1:]}) differ from those the "
                              f"checkpoint carries ({carried[1:]}): {'; '.join(differ)}. "
                              "Leave out --class-names (class_names=) to use the "
                              "checkpoint's; they only name the classes of a matterport .h5")
    names = names if names is not None else own
    if not names:
        return ["BG"] + [f"class_{i}" for i in range(1, num_classes)]
    names = _with_background(names, num_classes)
    if len(names) != num_classes:
        raise ConfigError(f"got {len(names)} class names for NUM_CLASSES = {num_classes} "
                          f"(background included); give {num_classes - 1} names")
    return names


def _with_background(names, num_classes: int) -> list[str]:
    names = [str(n) for n in names]
    return ["BG"] + names if len(names) == num_classes - 1 else names


def class_ids_of(classes, names: list[str]) -> list[int] | None:
    """The ids of the class names ``classes`` (a list, or comma-separated text) in ``names``;
    None (all classes) when ``classes`` is None."""
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    unknown = [c for c in classes if c not in names[1:]]
    if unknown or not classes:
        raise ConfigError(f"unknown classes {unknown}; the model's classes are {names[1:]}")
    return [names.index(c) for c in classes]
