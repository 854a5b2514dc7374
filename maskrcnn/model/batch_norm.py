"""The BatchNormalization layer of every built-in part of the model."""
from __future__ import annotations

from keras import layers

BN_EPSILON = 1e-3  # Keras 2's default, which matterport's weights were trained with


class BatchNorm(layers.BatchNormalization):
    """Keras BatchNormalization with epsilon 1e-3 whose moving statistics are averaged over
    tf.distribute replicas when they are updated (TRAIN_BN with GPU_COUNT > 1).

    Keras creates them without an aggregation, so each replica kept the statistics of its
    own images: the copies drifted apart (bn_conv1's moving variance by 24 after one tiny
    epoch on 2 devices), a checkpoint saved the first replica's copy, and detection on the
    second replica gave other scores than the same checkpoint on one device.
    """

    def __init__(self, epsilon: float = BN_EPSILON, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") in ("moving_mean", "moving_variance"):
            kwargs.setdefault("aggregation", "mean")
        return super().add_weight(*args, **kwargs)
