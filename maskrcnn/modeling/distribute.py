"""Devices and precision: the tf.distribute strategy that GPU_COUNT asks for, and the Keras
mixed-precision policy that MIXED_PRECISION asks for."""
from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from ..errors import ConfigError


def choose_strategy(config) -> tf.distribute.Strategy:
    """GPU_COUNT 1: the default strategy. GPU_COUNT n > 1: a MirroredStrategy over the first
    n GPUs, or over n logical CPU devices where there are no GPUs (for tests and CPU
    machines; see ``tf.config.set_logical_device_configuration``). Each replica takes
    IMAGES_PER_GPU images of every batch."""
    count = int(config.GPU_COUNT)
    if count == 1:
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus if gpus else tf.config.list_logical_devices("CPU")
    if len(devices) < count:
        kind = "GPUs" if gpus else "logical CPU devices (and no GPU)"
        raise ConfigError(f"GPU_COUNT is {count} but this machine has {len(devices)} {kind}; "
                          f"set GPU_COUNT = {len(devices)} or fewer")
    return tf.distribute.MirroredStrategy([d.name for d in devices[:count]])


@contextlib.contextmanager
def precision_policy(precision: str | None):
    """Build layers under Keras' ``mixed_<precision>`` policy, then restore the old one.
    Layers keep the policy they were built with; losses and post-processing run in float32."""
    if precision is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{precision}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
