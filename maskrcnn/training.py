"""Training pieces: which layers train (matterport's ``layers=`` presets), the optimiser, and
the per-epoch checkpoint callback."""
from __future__ import annotations

import re

import keras

from .errors import ConfigError

HEADS = r"(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)"
LAYER_PRESETS = {
    "heads": HEADS,
    "3+": r"(res3.*)|(bn3.*)|(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + HEADS,
    "4+": r"(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + HEADS,
    "5+": r"(res5.*)|(bn5.*)|" + HEADS,
    "all": r".*",
}


def layer_regex(layers: str) -> str:
    """A preset name (heads, 3+, 4+, 5+, all) or a regex -> the regex."""
    if layers in LAYER_PRESETS:
        return LAYER_PRESETS[layers]
    try:
        re.compile(layers)
    except re.error as err:
        raise ConfigError(f"layers={layers!r} is neither a preset {sorted(LAYER_PRESETS)} nor "
                          f"a valid regex ({err})") from None
    return layers


def set_trainable(leaf_layers, layers: str, train_bn: bool) -> list[str]:
    """Make the layers whose names fully match ``layers`` trainable, all others frozen.

    Batch-norm layers train only when ``train_bn`` is true; a frozen batch-norm layer uses
    its moving statistics (Keras 3 runs it in inference mode). Returns the trainable names.
    """
    regex = re.compile(layer_regex(layers))
    trainable = []
    for layer in leaf_layers:
        on = bool(regex.fullmatch(layer.name))
        if isinstance(layer, keras.layers.BatchNormalization):
            on = on and bool(train_bn)
        layer.trainable = on
        if on:
            trainable.append(layer.name)
    if not trainable:
        raise ConfigError(f"layers={layers!r} matches no trainable layer")
    return trainable


def make_optimizer(config, learning_rate: float) -> keras.optimizers.Optimizer:
    """SGD with momentum, gradient clipping by global norm and weight decay (not on batch-norm
    scales and offsets), as matterport trained."""
    optimizer = keras.optimizers.SGD(
        learning_rate=learning_rate, momentum=config.LEARNING_MOMENTUM,
        global_clipnorm=config.GRADIENT_CLIP_NORM or None,
        weight_decay=config.WEIGHT_DECAY or None)
    if config.WEIGHT_DECAY:
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta"])
    return optimizer


class CheckpointCallback(keras.callbacks.Callback):
    """Writes ``save(epoch)`` at the end of every epoch (epochs counted from 1)."""

    def __init__(self, save):
        super().__init__()
        self._save = save

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1)
