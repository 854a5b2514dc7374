"""Weights files: the project's checkpoints and matterport's Keras 2 ``.h5`` files, by layer name.

Both use the Keras 2 HDF5 layout that matterport's files have: root attribute ``layer_names``;
one group per layer with attribute ``weight_names``; arrays at ``<layer>/<layer>/<weight>:0``.
A project checkpoint adds root attributes ``maskrcnn_config`` (JSON), ``class_names`` (JSON),
``epoch`` and ``maskrcnn_complete``. Only h5py reads them: no pickle, no Keras private loaders.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import h5py
import numpy as np

from .errors import WeightsError

CHECKPOINT_FORMAT = "maskrcnn-checkpoint-1"


def _text(value) -> str:
    """h5py gives bytes or str depending on version and writer: always str."""
    return value.decode("utf8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _weight_key(layer_name: str, variable) -> str:
    return f"{layer_name}/{variable.name.split('/')[-1].split(':')[0]}:0"


@dataclass
class LoadReport:
    """What ``load_weights_by_name`` did, layer by layer."""
    path: str
    loaded: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    missing_in_file: list = field(default_factory=list)
    unused_in_file: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.path}: loaded {len(self.loaded)} layers, excluded "
                f"{len(self.excluded)}, not in file {len(self.missing_in_file)}, "
                f"in file but not in model {len(self.unused_in_file)}")


def save_weights_h5(layers, path: str, attrs: dict | None = None) -> None:
    """Write ``layers`` (objects with ``.name`` and ``.weights``) to ``path`` atomically.

    The file is written next to its destination as ``<path>.partial`` and renamed when
    complete, so a killed run never leaves a half-written file under the final name.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    with h5py.File(partial, "w") as f:
        names = [layer.name for layer in layers]
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
        f.attrs["backend"] = b"tensorflow"
        import keras
        f.attrs["keras_version"] = keras.__version__.encode("utf8")
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
        for layer in layers:
            group = f.create_group(layer.name)
            keys = [_weight_key(layer.name, v) for v in layer.weights]
            group.attrs["weight_names"] = np.array([k.encode("utf8") for k in keys])
            for key, variable in zip(keys, layer.weights):
                group.create_dataset(key, data=np.asarray(variable.numpy()))
        f.attrs["maskrcnn_complete"] = 1
        f.flush()
    os.replace(partial, path)


def open_h5(path: str) -> h5py.File:
    """Open a weights file for reading, or raise WeightsError saying what is wrong with it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsError(f"{path}: weights file not found")
    if not h5py.is_hdf5(path):
        raise WeightsError(f"{path}: not an HDF5 weights file (only .h5 weight files are "
                           "loaded; pickled or other formats are refused)")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise WeightsError(f"{path}: cannot read the HDF5 file, it may be truncated ({err})") \
            from None


def read_file_weights(f: h5py.File, path: str) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {weight name: array}} of a Keras 2 style file (weights-only or a full
    model's ``model_weights`` group; nested model groups such as ``rpn_model`` are split into
    their layers by the prefix of each weight name)."""
    root = f
    if "layer_names" not in root.attrs and "model_weights" in root:
        root = root["model_weights"]
    if "layer_names" not in root.attrs:
        raise WeightsError(f"{path}: no 'layer_names' attribute; this is not a Keras weights "
                           "file in the h5 layout (for a Keras 3 .weights.h5 use "
                           "keras_model.load_weights)")
    out: dict[str, dict[str, np.ndarray]] = {}
    try:
        for group_name in (_text(n) for n in root.attrs["layer_names"]):
            group = root[group_name]
            for weight_name in (_text(n) for n in group.attrs.get("weight_names", [])):
                parts = weight_name.split("/")
                layer = parts[-2] if len(parts) >= 2 else group_name
                out.setdefault(layer, {})[parts[-1].split(":")[0]] = np.asarray(group[weight_name])
    except (KeyError, OSError) as err:
        raise WeightsError(f"{path}: damaged weights file ({err})") from None
    return out


def load_weights_by_name(model_layers, path: str, exclude=None) -> LoadReport:
    """Load a file's weights into the layers of the same name; ``exclude`` lists layer names
    (or regexes) to leave untouched. A shape mismatch raises WeightsError naming the layer,
    both shapes and the fix."""
    exclude = list(exclude or [])
    report = LoadReport(path=str(path))
    with open_h5(path) as f:
        file_weights = read_file_weights(f, str(path))
    by_name = {layer.name: layer for layer in model_layers}
    pending = []
    for name, layer in by_name.items():
        if any(name == e or re.fullmatch(e, name) for e in exclude):
            report.excluded.append(name)
            continue
        if name not in file_weights:
            report.missing_in_file.append(name)
            continue
        saved = file_weights[name]
        for variable in layer.weights:
            key = variable.name.split("/")[-1].split(":")[0]
            if key not in saved:
                raise WeightsError(f"{path}: layer {name!r} has no weight {key!r} in the file "
                                   f"(it has {sorted(saved)})")
            array = saved[key]
            if tuple(array.shape) != tuple(variable.shape):
                raise WeightsError(_mismatch_message(path, name, variable.shape, array.shape))
            pending.append((variable, array))
        report.loaded.append(name)
    for variable, array in pending:  # assign only once everything fits
        variable.assign(array.astype(variable.dtype))
    report.unused_in_file = sorted(set(file_weights) - set(by_name))
    return report


HEAD_LAYERS = ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"]


def _mismatch_message(path, layer, model_shape, file_shape) -> str:
    message = (f"{path}: layer {layer!r} has shape {tuple(model_shape)} in the model but "
               f"{tuple(file_shape)} in the file.")
    if layer in HEAD_LAYERS:
        model_classes, file_classes = model_shape[-1], file_shape[-1]
        if layer == "mrcnn_bbox_fc":
            model_classes, file_classes = model_classes // 4, file_classes // 4
        message += (f" NUM_CLASSES is {model_classes} but the file has {file_classes} "
                    f"classes: pass exclude={HEAD_LAYERS} to load_weights to train these "
                    "layers anew.")
    return message


def read_checkpoint_info(path: str) -> dict:
    """Config JSON, class names and epoch stored in a project checkpoint (empty values for
    other files)."""
    with open_h5(path) as f:
        attrs = f.attrs
        return {
            "config": _text(attrs["maskrcnn_config"]) if "maskrcnn_config" in attrs else None,
            "class_names": (json.loads(_text(attrs["class_names"]))
                            if "class_names" in attrs else None),
            "epoch": int(attrs["epoch"]) if "epoch" in attrs else None,
            "complete": bool(attrs.get("maskrcnn_complete", 0)),
        }


def is_complete_checkpoint(path: str) -> bool:
    """True for a readable project checkpoint that was written to the end."""
    try:
        return read_checkpoint_info(path)["complete"]
    except WeightsError:
        return False
