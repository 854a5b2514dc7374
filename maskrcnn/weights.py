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
                out.setdefault(layer, {})[key] = np.asarray(group[weight_name])
    except (KeyError, OSError, ValueError) as err:
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
            array = saved[key]
            if tuple(array.shape) != tuple(variable.shape):
                raise WeightsError(_mismatch_message(source, name, variable.shape, array.shape))
            pending.append((variable, array))
        report.loaded.append(name)
    for variable, array in pending:  # assign only once everything fits
        variable.assign(array.astype(variable.dtype))
    report.unused_in_file = sorted(set(file_weights) - set(by_name))
    return report


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
