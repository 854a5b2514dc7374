"""The ImageNet start: keras.applications ResNet weights renamed to matterport's layer names
(``imagenet_weights_path``), with the batch-norm epsilon and colour order adjusted."""
from __future__ import annotations

import os
import re

import numpy as np

from ..errors import WeightsError
from .download import cache_dir
from .h5 import _Arrays, is_complete_h5, open_h5, save_weights_h5

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
    from ..modeling.batch_norm import BN_EPSILON
    mapped = keras_resnet_weights(keras_resnet(architecture, weights), bn_epsilon=BN_EPSILON)
    save_weights_h5([_Arrays(name, values) for name, values in mapped.items()], path)
    return path
