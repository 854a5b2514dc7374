"""The Keras 2 HDF5 layout of matterport's ``.h5`` files and this project's checkpoints:
root attribute ``layer_names``; one group per layer with attribute ``weight_names``; arrays at
``<layer>/<layer>/<weight>:0``. Written atomically; read by layer name with h5py only (no
pickle, no Keras private loaders), checked whole before anything is assigned."""
from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field

import h5py
import numpy as np

from ..errors import DiskFullError, NonFiniteWeightsError, WeightsError


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

    @property
    def skipped(self) -> list:
        """Layers left untouched on purpose (``exclude``)."""
        return self.excluded

    @property
    def missing(self) -> list:
        """Model layers the file has no weights for (they keep their current values)."""
        return self.missing_in_file

    def __str__(self) -> str:
        return self.summary()


def save_weights_h5(layers, path: str, attrs: dict | None = None) -> None:
    """Write ``layers`` (objects with ``.name`` and ``.weights``) to ``path`` atomically.

    The file is written next to its destination as ``<path>.partial`` and renamed when
    complete, so a killed run never leaves a half-written file under the final name.
    On any failure the ``.partial`` file is removed and an existing file at ``path`` is left
    as it was: weights with NaN or infinity raise NonFiniteWeightsError (nothing written), a
    full disk raises DiskFullError, other write errors WeightsError.
    """
    path = os.fspath(path)
    partial = path + ".partial"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
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
                    array = np.asarray(variable.numpy())
                    if not _all_finite(array):
                        raise NonFiniteWeightsError(
                            f"{path}: not written: layer {layer.name!r} weight {key!r} holds "
                            f"{_non_finite_count(array)} NaN or infinite values (training has "
                            "diverged; lower the learning rate)")
                    group.create_dataset(key, data=array)
            f.attrs["maskrcnn_finite"] = 1  # every array was checked above
            f.attrs["maskrcnn_complete"] = 1
            f.flush()
        os.replace(partial, path)
    except OSError as err:
        raise _write_error(path, err) from None
    finally:
        if os.path.exists(partial):
            try:
                os.remove(partial)
            except OSError:
                pass


def _all_finite(array: np.ndarray) -> bool:
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def _non_finite_count(array: np.ndarray) -> int:
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def _is_disk_full(err: OSError) -> bool:
    text = str(err).lower()
    return (err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
            or "no space left" in text or "quota exceeded" in text or "errno = 28" in text)


def _write_error(path: str, err: OSError) -> WeightsError:
    folder = os.path.dirname(os.path.abspath(path))
    if _is_disk_full(err):
        return DiskFullError(f"{path}: the disk is full (no space left on device), the weights "
                             f"were not written and the partial file was removed; an earlier "
                             f"file of this name is unchanged. Free space in {folder} (e.g. "
                             f"delete old checkpoints) or write to another disk ({err})")
    return WeightsError(f"{path}: cannot write the weights file ({err}); check that {folder} "
                        "is writable")


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
        raise WeightsError(f"{path}: cannot read the HDF5 file, it may be truncated: delete it "
                           f"and download or save it again ({err})") from None


def read_file_weights(f: h5py.File, path: str,
                      known_names=None) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {weight name: array}} of a Keras 2 style file.

    Handles weights-only files, a full model's ``model_weights`` group, nested model groups
    (matterport's ``rpn_model``; the whole model nested in one group when a multi-GPU wrapper
    was saved) and wrapped layers (``TimeDistributed``) whose weight names carry an inner name.
    ``known_names`` (the model's layer names) decides which part of a weight name is the layer.
    """
    root = f
    if "layer_names" not in root.attrs and "model_weights" in root:
        root = root["model_weights"]
    if "layer_names" not in root.attrs:
        raise WeightsError(f"{path}: no 'layer_names' attribute; this is not a Keras weights "
                           "file in the h5 layout (for a Keras 3 .weights.h5 use "
                           "keras_model.load_weights)")
    known = set(known_names or ())
    out: dict[str, dict[str, np.ndarray]] = {}
    try:
        for group_name in (_text(n) for n in root.attrs["layer_names"]):
            group = root[group_name]
            for weight_name in (_text(n) for n in group.attrs.get("weight_names", [])):
                layer = _layer_of(weight_name, group_name, known)
                key = weight_name.split("/")[-1].split(":")[0]
                dataset = group[weight_name]
                if not isinstance(dataset, h5py.Dataset):
                    raise WeightsError(f"{path}: {group_name}/{weight_name} is a group, not "
                                       "an array; this is not a Keras weights file")
                out.setdefault(layer, {})[key] = np.asarray(dataset)
    except (KeyError, OSError, ValueError, TypeError) as err:
        if isinstance(err, WeightsError):
            raise
        raise WeightsError(f"{path}: damaged or truncated weights file ({err})") from None
    return out


def _layer_of(weight_name: str, group_name: str, known: set) -> str:
    """The layer a Keras 2 weight belongs to. ``weight_name`` is e.g. ``conv1/kernel:0``,
    ``rpn_conv_shared/kernel:0`` in group ``rpn_model``, ``mask_rcnn/conv1/kernel:0`` in a
    multi-GPU file, or ``mrcnn_mask_conv1/conv2d_1/kernel:0`` for a TimeDistributed layer."""
    scopes = weight_name.split("/")[:-1]
    for scope in reversed(scopes):  # innermost name the model knows
        if scope in known:
            return scope
    if group_name in known or not scopes:
        return group_name
    return scopes[-1]


def load_weights_by_name(model_layers, path: str, exclude=None, verbose: int = 0) -> LoadReport:
    """Load a file's weights into the layers of the same name; ``exclude`` lists layer names
    (or regexes) to leave untouched. A shape mismatch raises WeightsError naming the layer,
    both shapes and the fix; nothing is assigned unless every layer fits."""
    model_layers = list(model_layers)
    with open_h5(path) as f:
        file_weights = read_file_weights(f, str(path), [layer.name for layer in model_layers])
    report = assign_by_name(model_layers, file_weights, str(path), exclude)
    if verbose:
        print(report.summary())
    return report


def assign_by_name(model_layers, file_weights: dict, source: str, exclude=None) -> LoadReport:
    """Assign ``file_weights`` ({layer: {weight: array}}) to the layers of the same name."""
    exclude = list(exclude or [])
    report = LoadReport(path=source)
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
                raise WeightsError(f"{source}: layer {name!r} has no weight {key!r} in the file "
                                   f"(it has {sorted(saved)})")
            array = np.asarray(saved[key])
            if tuple(array.shape) != tuple(variable.shape):
                raise WeightsError(_mismatch_message(source, name, variable.shape, array.shape))
            pending.append((variable, _checked_array(source, name, key, array, variable)))
        report.loaded.append(name)
    # Assign only once every array fits; should an assignment still fail, undo the others.
    previous = []
    try:
        for variable, array in pending:
            old = np.array(variable.numpy())
            variable.assign(array)
            previous.append((variable, old))
    except Exception:
        for variable, old in previous:
            variable.assign(old)
        raise
    report.unused_in_file = sorted(set(file_weights) - set(by_name))
    return report


def _checked_array(source: str, layer: str, key: str, array: np.ndarray,
                   variable) -> np.ndarray:
    """``array`` converted to ``variable``'s dtype, or WeightsError when it is not numeric,
    would lose its integer meaning, or holds (or overflows to) NaN or infinity."""
    where = f"{source}: layer {layer!r} weight {key!r}"
    try:
        target = np.dtype(str(getattr(variable.dtype, "name", variable.dtype)))
    except TypeError:  # a dtype numpy does not know (bfloat16...): let the variable convert
        target = None
    if array.dtype.kind not in "biuf":
        raise WeightsError(f"{where} has dtype {array.dtype} in the file, not a number "
                           f"array; the model needs {target or variable.dtype}. The file is "
                           "damaged or not a weights file; nothing was loaded")
    if target is not None and target.kind in "biu" and array.dtype.kind == "f":
        raise WeightsError(f"{where} holds floats ({array.dtype}) for an integer variable "
                           f"({target}); nothing was loaded")
    if target is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            array = array.astype(target)
    if not _all_finite(array):
        raise NonFiniteWeightsError(
            f"{where} holds {_non_finite_count(array)} NaN or infinite values (after "
            f"conversion to {array.dtype}); the file comes from a diverged training or is "
            "damaged: use an earlier checkpoint. Nothing was loaded")
    return array


def file_num_classes(path: str) -> int | None:
    """NUM_CLASSES of the heads stored in a Keras 2 style weights file (from
    ``mrcnn_class_logits``); None when it has no heads or is not such a file."""
    try:
        with open_h5(path) as f:
            weights = read_file_weights(f, str(path), ["mrcnn_class_logits"])
    except WeightsError:
        return None
    kernel = weights.get("mrcnn_class_logits", {}).get("kernel")
    return None if kernel is None else int(kernel.shape[-1])


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


class _Arrays:
    """A stand-in layer (``.name``, ``.weights``) over plain arrays, for save_weights_h5."""

    def __init__(self, name: str, values: dict):
        self.name = name
        self.weights = [_Array(key, array) for key, array in values.items()]


class _Array:
    def __init__(self, name: str, array: np.ndarray):
        self.name, self._array = name, array

    def numpy(self):
        return self._array


def is_complete_h5(path: str) -> bool:
    """True for a readable h5 file written to the end by ``save_weights_h5``."""
    try:
        with open_h5(path) as f:
            return bool(f.attrs.get("maskrcnn_complete", 0))
    except WeightsError:
        return False
