"""Loss pieces shared by the heads. Each head's own loss lives next to the head."""
from __future__ import annotations

import tensorflow as tf


def smooth_l1(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Elementwise smooth L1 (Huber with delta 1): 0.5 d^2 where |d| < 1, else |d| - 0.5."""
    diff = tf.abs(y_true - y_pred)
    return tf.where(diff < 1.0, 0.5 * tf.square(diff), diff - 0.5)


def masked_mean(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Weighted mean of ``values`` (any shape) by same-shape ``weights``; 0 when all weights
    are 0."""
    weights = tf.cast(weights, values.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(values * weights), tf.reduce_sum(weights))
