"""The heads' matmul forms of matterport's conv layers, and convolutions with their batch norm
folded in, equal the Keras layers they replace, forward and backward, with the same weights
(so matterport's h5 files load unchanged)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.model.batch_norm import BatchNorm, FoldingConv2D
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


@pytest.mark.parametrize("training, bn_trainable", [(False, True), (True, False), (True, True)])
def test_folded_batch_norm_equals_conv_then_batch_norm(training, bn_trainable):
    """Folded when the batch norm uses moving statistics (inference; training with the batch
    norm frozen); batch statistics (a trainable batch norm in training) are not folded."""
    x = tf.random.stateless_normal([2, 9, 7, 5], seed=[4, 0]) * 20.0
    conv, plain_conv = FoldingConv2D(6, 3, strides=2, padding="same"), keras.layers.Conv2D(
        6, 3, strides=2, padding="same")
    bn, plain_bn = conv.fold(BatchNorm()), BatchNorm()
    for layer in (conv, plain_conv):
        layer.build(x.shape)
    for layer in (bn, plain_bn):
        layer.build((2, 5, 4, 6))
    rng = np.random.default_rng(2)
    plain_conv.set_weights([rng.normal(size=w.shape).astype(np.float32)
                            for w in plain_conv.weights])
    conv.set_weights(plain_conv.get_weights())
    stats = [rng.uniform(0.5, 2.0, 6), rng.normal(size=6), rng.normal(size=6) * 3,
             rng.uniform(5.0, 50.0, 6)]  # gamma, beta, moving mean, moving variance
    for layer in (bn, plain_bn):
        layer.set_weights([s.astype(np.float32) for s in stats])
        layer.trainable = bn_trainable

    upstream = tf.random.stateless_normal([2, 5, 4, 6], seed=[5, 0])

    def run(c, b):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = b(c(x, training=training), training=training)
            loss = tf.reduce_sum(y * upstream)
        return [y] + tape.gradient(loss, [x] + c.trainable_weights)

    for a, b in zip(run(conv, bn), run(plain_conv, plain_bn)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-3)
    if bn_trainable and training:  # batch statistics: the moving averages moved alike
        np.testing.assert_allclose(bn.moving_mean.numpy(), plain_bn.moving_mean.numpy(),
                                   rtol=1e-5)


def test_folded_layers_keep_their_own_weights():
    """Linking conv and batch norm adds no weights to either (h5 files map layer by layer)."""
    conv = FoldingConv2D(4, 1, name="res2a_branch2a")
    bn = conv.fold(BatchNorm(name="bn2a_branch2a"))
    conv.build((1, 3, 3, 2))
    bn.build((1, 3, 3, 4))
    assert [w.path for w in conv.weights] == ["res2a_branch2a/kernel", "res2a_branch2a/bias"]
    assert len(bn.weights) == 4 and all(w.path.startswith("bn2a_branch2a/") for w in bn.weights)
