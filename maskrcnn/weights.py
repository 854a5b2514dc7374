"""Weights files: the project's checkpoints and matterport's Keras 2 ``.h5`` files, by layer name.

Both use the Keras 2 HDF5 layout that matterport's files have: root attribute ``layer_names``;
one group per layer with attribute ``weight_names``; arrays at ``<layer>/<layer>/<weight>:0``.
A project checkpoint adds root attributes ``maskrcnn_config`` (JSON), ``class_names`` (JSON),
``epoch`` and ``maskrcnn_complete``. Only h5py reads them: no pickle, no Keras private loaders.

Also here: the COCO download (``download_trained_weights``, ``coco_weights_path``; cached in
``$MASKRCNN_CACHE`` or ``~/.keras/maskrcnn``), the ImageNet start (keras.applications ResNet
weights renamed to matterport's layer names, ``imagenet_weights_path``), and Keras 3
``.weights.h5`` / ``.keras`` loading (weights only).
"""
from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass, field

import h5py
import numpy as np

from .errors import DiskFullError, NonFiniteWeightsError, WeightsError

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


def read_checkpoint_info(path: str) -> dict:
    """Config JSON, class names and epoch stored in a project checkpoint (empty values for
    other files). A damaged attribute (class names that are not a JSON list of names, an
    epoch that is not a non-negative integer) raises WeightsError naming file and attribute."""
    path = os.fspath(path)
    with open_h5(path) as f:
        attrs = f.attrs
        config = _checkpoint_attr(attrs, path, "maskrcnn_config", _text)
        class_names = _checkpoint_attr(attrs, path, "class_names", _class_names_attr)
        epoch = _checkpoint_attr(attrs, path, "epoch", _epoch_attr)
        complete = _checkpoint_attr(attrs, path, "maskrcnn_complete", _flag_attr)
        finite = _checkpoint_attr(attrs, path, "maskrcnn_finite", _flag_attr)
    return {"config": config, "class_names": class_names, "epoch": epoch,
            "complete": bool(complete), "finite": finite}


def _checkpoint_attr(attrs, path: str, name: str, parse):
    """``parse(value)`` of attribute ``name`` (None when absent); WeightsError if unusable."""
    try:
        if name not in attrs:
            return None
        return parse(attrs[name])
    except (ValueError, TypeError, OSError, KeyError, UnicodeDecodeError) as err:
        raise WeightsError(f"{path}: checkpoint attribute {name!r} is unusable ({err}); the "
                           "file is damaged or was not written by this package: use another "
                           "checkpoint (an earlier epoch) or rewrite the attribute with "
                           "h5py") from None


def _class_names_attr(value) -> list:
    names = json.loads(_text(value))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"not a JSON list of class names: {_text(value)[:80]!r}")
    return names


def _epoch_attr(value) -> int:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"epoch must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"epoch must not be negative, got {value}")
    return int(value)


def _flag_attr(value) -> bool:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if not isinstance(value, (bool, np.bool_, int, np.integer)):
        raise TypeError(f"expected 0 or 1, got {value!r}")
    return bool(value)


def checkpoint_is_finite(path: str) -> bool:
    """True when every float array of the weights file is finite. Files written by
    ``save_weights_h5`` say so in an attribute (checked when written); others are read."""
    info_finite = read_checkpoint_info(path)["finite"]
    if info_finite is not None:
        return info_finite
    found = []

    def visit(_, obj):
        if (isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fc" and not found
                and not _all_finite(np.asarray(obj))):
            found.append(obj.name)

    try:
        with open_h5(path) as f:
            f.visititems(visit)
    except (OSError, ValueError, TypeError) as err:
        if isinstance(err, WeightsError):
            raise
        raise WeightsError(f"{path}: damaged or truncated weights file ({err})") from None
    return not found


def checkpoint_problem(path: str) -> str | None:
    """Why ``path`` is not a usable project checkpoint (not written to the end, damaged,
    holding NaN or infinite weights), or None when it is usable."""
    try:
        info = read_checkpoint_info(path)
        if not info["complete"]:
            return "not written to the end (no maskrcnn_complete mark)"
        if not checkpoint_is_finite(path):
            return "holds NaN or infinite weights (a diverged training)"
    except WeightsError as err:
        return str(err).removeprefix(f"{os.fspath(path)}: ")
    return None


def is_complete_checkpoint(path: str) -> bool:
    """True for a readable project checkpoint that was written to the end."""
    try:
        return read_checkpoint_info(path)["complete"]
    except WeightsError:
        return False


# ---------------------------------------------------------------------------- downloads
COCO_WEIGHTS_URL = ("https://github.com/matterport/Mask_RCNN/releases/download/v2.0/"
                    "mask_rcnn_coco.h5")
COCO_WEIGHTS_FILE = "mask_rcnn_coco.h5"


def cache_dir() -> str:
    """Where downloaded and converted weights live: ``$MASKRCNN_CACHE`` or ``~/.keras/maskrcnn``."""
    path = os.environ.get("MASKRCNN_CACHE") or os.path.join(os.path.expanduser("~"), ".keras",
                                                             "maskrcnn")
    os.makedirs(path, exist_ok=True)
    return path


def download(url: str, path: str, sha256: str | None = None, progress: bool = True,
             opener=None, chunk_size: int = 1 << 20) -> str:
    """Fetch ``url`` to ``path`` atomically (``<path>.partial``, then rename) and check it.

    ``sha256`` (hex) is verified when given; the result must be an HDF5 file. ``opener``
    (default ``urllib.request.urlopen``) returns a file-like response; tests pass their own.
    Returns ``path``. Raises WeightsError on a failed, short or corrupt download.
    """
    import hashlib
    import urllib.request

    opener = opener or urllib.request.urlopen
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    digest = hashlib.sha256()
    try:
        with opener(url) as response, open(partial, "wb") as out:
            total = _content_length(response)
            bar = _progress_bar(total, os.path.basename(path), progress)
            done = 0
            while True:
                chunk = response.read(chunk_size)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                bar.update(len(chunk))
            bar.close()
        if total and done != total:
            raise WeightsError(f"download of {url} stopped at {done} of {total} bytes; "
                               "run it again")
        if sha256 and digest.hexdigest() != sha256.lower():
            raise WeightsError(f"download of {url}: sha256 {digest.hexdigest()} differs from "
                               f"the expected {sha256}; the file was not kept")
        if not h5py.is_hdf5(partial):
            raise WeightsError(f"download of {url} is not an HDF5 weights file (a proxy or "
                               "login page?); the file was not kept")
        os.replace(partial, path)
    except OSError as err:
        if _is_disk_full(err):
            raise _write_error(path, err) from None
        raise WeightsError(f"cannot download {url} to {path} ({err}); without internet, copy "
                           f"the file there by hand") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def _content_length(response) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value else None


def _progress_bar(total, name, enabled):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                desc=f"downloading {name}", disable=not enabled)


def download_trained_weights(coco_model_path: str, verbose: int = 1, sha256=None,
                             opener=None) -> str:
    """matterport's ``utils.download_trained_weights``: fetch mask_rcnn_coco.h5 (ResNet-101,
    81 classes, ~250 MB) from its GitHub release to ``coco_model_path``."""
    return download(COCO_WEIGHTS_URL, coco_model_path, sha256=sha256, progress=bool(verbose),
                    opener=opener)


def coco_weights_path(path: str | None = None, sha256: str | None = None, opener=None) -> str:
    """A local mask_rcnn_coco.h5: ``path`` if that file exists, else the cached copy, downloaded
    into ``path`` (or the cache folder) the first time."""
    if path and os.path.isfile(path):
        return os.fspath(path)
    target = os.fspath(path) if path else os.path.join(cache_dir(), COCO_WEIGHTS_FILE)
    if not os.path.isfile(target):
        download_trained_weights(target, sha256=sha256, opener=opener)
    return target


# ---------------------------------------------------------------------------- ImageNet
KERAS_RESNETS = {"resnet50": "ResNet50", "resnet101": "ResNet101"}
KERAS_BN_EPSILON = 1.001e-5  # keras.applications' ResNet batch norms


def keras_resnet_layer_name(name: str) -> str | None:
    """keras.applications ResNet (v1) layer name -> matterport's, e.g. ``conv4_block2_1_conv``
    -> ``res4b_branch2a``, ``conv3_block1_0_bn`` -> ``bn3a_branch1``; None for layers without
    a counterpart (the classifier)."""
    if name == "conv1_conv":
        return "conv1"
    if name == "conv1_bn":
        return "bn_conv1"
    match = re.fullmatch(r"conv(\d)_block(\d+)_(\d)_(conv|bn)", name)
    if not match:
        return None
    stage, block, part, kind = match.groups()
    letter = chr(ord("a") + int(block) - 1)
    branch = "1" if part == "0" else "2" + "abc"[int(part) - 1]
    return f"{'res' if kind == 'conv' else 'bn'}{stage}{letter}_branch{branch}"


def keras_resnet_weights(keras_model, bn_epsilon: float = 1e-3,
                         rgb_input: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """{matterport layer name: {weight: array}} from a keras.applications ResNet50/101.

    Two adjustments make our backbone compute the same function:
    - batch-norm epsilon: Keras uses 1.001e-5, our layers ``bn_epsilon``; the moving variance is
      shifted by the difference (and gamma rescaled where the variance would go negative), so
      ``gamma / sqrt(var + eps)`` is unchanged;
    - colour order: Keras' ResNets take BGR ("caffe" preprocessing), our model RGB minus
      MEAN_PIXEL; with ``rgb_input`` the input channels of ``conv1`` are reversed.
    """
    out = {}
    for layer in keras_model.layers:
        name = keras_resnet_layer_name(layer.name)
        if name is None or not layer.weights:
            continue
        values = {v.name.split("/")[-1].split(":")[0]: np.asarray(v.numpy())
                  for v in layer.weights}
        if isinstance(layer, _keras().layers.BatchNormalization):
            values = _refit_bn_epsilon(values, layer.epsilon, bn_epsilon)
        if name == "conv1" and rgb_input:
            values["kernel"] = values["kernel"][:, :, ::-1, :].copy()
        out[name] = values
    return out


def _refit_bn_epsilon(values: dict, eps_from: float, eps_to: float) -> dict:
    """Batch-norm weights for epsilon ``eps_to`` that normalise as they did with ``eps_from``."""
    values = dict(values)
    var = values["moving_variance"].astype(np.float64)
    new_var = np.maximum(var + eps_from - eps_to, 0.0)
    scale = np.sqrt((new_var + eps_to) / (var + eps_from))
    values["moving_variance"] = new_var.astype(np.float32)
    if "gamma" in values:
        values["gamma"] = (values["gamma"] * scale).astype(np.float32)
    return values


def _keras():
    import keras
    return keras


def keras_resnet(architecture: str, weights="imagenet"):
    """keras.applications ResNet50/101 without its classifier. ``weights``: "imagenet" (Keras
    downloads and checks the file into ~/.keras/models), a local weights file, or None."""
    if architecture not in KERAS_RESNETS:
        raise WeightsError(f"ImageNet weights exist for {sorted(KERAS_RESNETS)}, not for "
                           f"BACKBONE={architecture!r}: use init_with='coco' or a path, or "
                           "train from scratch")
    if isinstance(weights, (str, os.PathLike)) and weights != "imagenet":
        weights = os.fspath(weights)
        open_h5(weights).close()  # refuse anything that is not a readable HDF5 file
    builder = getattr(_keras().applications, KERAS_RESNETS[architecture])
    return builder(include_top=False, weights=weights, input_shape=(None, None, 3))


def imagenet_weights_path(architecture: str = "resnet101", weights="imagenet",
                          path: str | None = None) -> str:
    """An h5 file of ImageNet ResNet weights under matterport's layer names (converted from
    keras.applications once and cached), for ``model.load_weights(path, by_name=True)``."""
    if path is None:
        tag = "" if weights == "imagenet" else "_custom"
        path = os.path.join(cache_dir(), f"{architecture}_imagenet{tag}_matterport_names.h5")
        if weights == "imagenet" and is_complete_h5(path):
            return path
    from .model.batch_norm import BN_EPSILON
    mapped = keras_resnet_weights(keras_resnet(architecture, weights), bn_epsilon=BN_EPSILON)
    save_weights_h5([_Arrays(name, values) for name, values in mapped.items()], path)
    return path


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


def load_keras3_weights(keras_model, path: str) -> None:
    """Load a Keras 3 ``.weights.h5`` (or the weights of a ``.keras`` archive) into
    ``keras_model``. Only variables are read: Keras rebuilds no objects from these files."""
    import zipfile
    path = os.fspath(path)
    if path.endswith(".keras"):
        if not (os.path.isfile(path) and zipfile.is_zipfile(path)):
            raise WeightsError(f"{path}: not a .keras archive (missing, truncated or another "
                               "format)")
    else:
        open_h5(path).close()
        if not path.endswith(".weights.h5"):
            raise WeightsError(f"{path}: a Keras 3 weights file; name it *.weights.h5 so "
                               "that Keras reads it in its own layout")
    try:
        keras_model.load_weights(path)
    except (ValueError, KeyError, OSError) as err:
        raise WeightsError(f"{path}: cannot load these Keras 3 weights into this model; a "
                           ".weights.h5 fits only a model of the same config (NUM_CLASSES, "
                           "BACKBONE, head sizes). To change the classes, load a checkpoint "
                           f"or matterport .h5 with exclude=[...] instead ({err})") from None
