"""Region proposal network: the head shared by every pyramid level, and its two losses."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from .anchors import anchors_per_location
from .losses import masked_mean, smooth_l1


def build_rpn(config) -> keras.Model:
    """``rpn_model`` (matterport's name): a (B, h, w, C) feature map -> class logits
    (B, h*w*k, 2) (background, object) and box deltas (B, h*w*k, 4), k anchors per cell."""
    k = anchors_per_location(config)
    features = keras.Input(shape=(None, None, config.TOP_DOWN_PYRAMID_SIZE),
                           name="input_rpn_feature_map")
    shared = layers.Conv2D(config.RPN_HEAD_CHANNELS, 3, padding="same", activation="relu",
                           strides=config.RPN_ANCHOR_STRIDE, name="rpn_conv_shared")(features)
    logits = layers.Conv2D(2 * k, 1, name="rpn_class_raw")(shared)
    logits = layers.Reshape((-1, 2))(logits)
    deltas = layers.Conv2D(4 * k, 1, name="rpn_bbox_pred")(shared)
    deltas = layers.Reshape((-1, 4))(deltas)
    return keras.Model(features, [logits, deltas], name="rpn_model")


def rpn_class_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Cross-entropy over the sampled anchors. labels (B, A): 1 object, 0 background,
    -1 not sampled; logits (B, A, 2)."""
    targets = tf.cast(tf.maximum(labels, 0), tf.int32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, tf.cast(logits, tf.float32))
    return masked_mean(ce, labels >= 0)


def rpn_bbox_loss(labels: tf.Tensor, target_deltas: tf.Tensor, deltas: tf.Tensor) -> tf.Tensor:
    """Smooth L1 over the positive anchors' deltas, averaged per coordinate (as matterport).
    labels (B, A); target_deltas and deltas (B, A, 4)."""
    per_coord = smooth_l1(target_deltas, tf.cast(deltas, tf.float32))
    weights = tf.broadcast_to(tf.cast(labels == 1, tf.float32)[..., None], tf.shape(per_coord))
    return masked_mean(per_coord, weights)
