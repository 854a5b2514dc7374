"""Classifier and box regressor on pooled ROIs (matterport's ``fpn_classifier_graph``), and
their losses."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from .batch_norm import BatchNorm
from .losses import masked_mean, smooth_l1


@keras.saving.register_keras_serializable(package="maskrcnn")
class PooledFullyConnected(layers.Conv2D):
    """A valid convolution whose kernel covers its whole input map (7x7 on 7x7 for
    matterport's ``mrcnn_class_conv1``, 1x1 on 1x1 for ``mrcnn_class_conv2``): a fully
    connected layer that keeps the conv kernel shape (kh, kw, C, units). It runs as one
    matmul: TensorFlow's CPU gradient of such a conv (Conv2DBackpropInput over M ROIs of 1x1
    output) is 10-100x slower than the matmul (4.0 s of a 9.5 s R50 training step).
    """

    def call(self, inputs):
        kh, kw, channels, units = self.kernel.shape
        flat = tf.reshape(inputs, [-1, kh * kw * channels])
        out = tf.matmul(flat, tf.reshape(tf.cast(self.kernel, flat.dtype), [-1, units]))
        if self.use_bias:
            out = out + tf.cast(self.bias, out.dtype)
        return tf.reshape(out, [-1, 1, 1, units])


def build_box_head(config) -> keras.Model:
    """(M, POOL_SIZE, POOL_SIZE, C) pooled ROIs -> class logits (M, NUM_CLASSES) and
    class-specific deltas (M, NUM_CLASSES, 4).

    The two fully connected layers are convolutions (7x7 valid, then 1x1) so that the weight
    shapes equal matterport's TimeDistributed ones.
    """
    size, classes = config.FPN_CLASSIF_FC_LAYERS_SIZE, config.NUM_CLASSES
    pooled = keras.Input(shape=(config.POOL_SIZE, config.POOL_SIZE, config.TOP_DOWN_PYRAMID_SIZE),
                         name="input_pooled_rois")
    x = PooledFullyConnected(size, config.POOL_SIZE, name="mrcnn_class_conv1")(pooled)
    x = BatchNorm(name="mrcnn_class_bn1")(x)
    x = layers.Activation("relu")(x)
    x = PooledFullyConnected(size, 1, name="mrcnn_class_conv2")(x)
    x = BatchNorm(name="mrcnn_class_bn2")(x)
    x = layers.Activation("relu")(x)
    shared = layers.Reshape((size,), name="pool_squeeze")(x)
    logits = layers.Dense(classes, name="mrcnn_class_logits")(shared)
    deltas = layers.Dense(classes * 4, name="mrcnn_bbox_fc")(shared)
    deltas = layers.Reshape((classes, 4), name="mrcnn_bbox")(deltas)
    return keras.Model(pooled, [logits, deltas], name="box_head")


def mrcnn_class_loss(target_class_ids: tf.Tensor, logits: tf.Tensor, weights: tf.Tensor,
                     active_class_ids: tf.Tensor) -> tf.Tensor:
    """Cross-entropy of (B, T, NUM_CLASSES) logits against (B, T) targets, averaged over
    sampled ROIs (weights (B, T)). Predictions of classes not in the image's source dataset
    (active_class_ids (B, NUM_CLASSES) == 0) add no loss, as in matterport."""
    logits = tf.cast(logits, tf.float32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(target_class_ids, tf.int32),
                                                        logits)
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    active = tf.gather(tf.cast(active_class_ids, tf.float32), predicted, batch_dims=1)
    return masked_mean(ce, weights * active)


def mrcnn_bbox_loss(target_deltas: tf.Tensor, target_class_ids: tf.Tensor,
                    deltas: tf.Tensor) -> tf.Tensor:
    """Smooth L1 of the target class's deltas over positive ROIs, per coordinate.
    target_deltas (B, T, 4); target_class_ids (B, T); deltas (B, T, NUM_CLASSES, 4)."""
    ids = tf.cast(target_class_ids, tf.int32)
    picked = tf.gather(tf.cast(deltas, tf.float32), tf.maximum(ids, 0), batch_dims=2)
    per_coord = smooth_l1(target_deltas, picked)
    weights = tf.broadcast_to(tf.cast(ids > 0, tf.float32)[..., None], tf.shape(per_coord))
    return masked_mean(per_coord, weights)
