"""The heads' matmul forms of matterport's conv layers equal the Keras layers they replace,
forward and backward, with the same weights (so matterport's h5 files load unchanged)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.model.box_head import PooledFullyConnected
from maskrcnn.model.mask_head import UpsamplingDeconv


def _outputs_and_grads(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * tf.cos(y))  # a non-trivial upstream gradient
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return [y] + grads


def _check_same(ours, reference, x):
    reference.build(x.shape)
    ours.build(x.shape)
    rng = np.random.default_rng(1)
    for w in reference.weights:
        w.assign(rng.normal(size=w.shape).astype(np.float32) * 0.1)
    ours.set_weights(reference.get_weights())
    assert [w.shape for w in ours.weights] == [w.shape for w in reference.weights]
    for a, b in zip(_outputs_and_grads(ours, x), _outputs_and_grads(reference, x)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size", [7, 1])
def test_pooled_fully_connected_equals_valid_conv(size):
    x = tf.random.stateless_normal([5, size, size, 6], seed=[1, size])
    _check_same(PooledFullyConnected(4, size), keras.layers.Conv2D(4, size), x)


def test_upsampling_deconv_equals_conv2d_transpose():
    x = tf.random.stateless_normal([3, 5, 4, 6], seed=[2, 0])
    _check_same(UpsamplingDeconv(7, 2, strides=2, activation="relu"),
                keras.layers.Conv2DTranspose(7, 2, strides=2, activation="relu"), x)


def test_upsampling_deconv_falls_back_for_other_strides():
    x = tf.random.stateless_normal([2, 5, 5, 3], seed=[3, 0])
    _check_same(UpsamplingDeconv(4, 3, strides=2, padding="same"),
                keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"), x)
