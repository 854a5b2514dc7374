"""The heads' matmul forms of matterport's conv layers, and convolutions with their batch norm
folded in, equal the Keras layers they replace, forward and backward, with the same weights
(so matterport's h5 files load unchanged)."""
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.modeling.batch_norm import BatchNorm, ConvBN
from maskrcnn.modeling.box_head import PooledFullyConnected
from maskrcnn.modeling.mask_head import UpsamplingDeconv


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
def test_conv_bn_equals_conv_then_batch_norm(training, bn_trainable):
    """Folded when the batch norm uses moving statistics (inference; training with the batch
    norm frozen); batch statistics (a trainable batch norm in training) are not folded."""
    x = tf.random.stateless_normal([2, 9, 7, 5], seed=[4, 0]) * 20.0
    fused = ConvBN(6, 3, "conv", "bn", strides=2, padding="same")
    plain_conv = keras.layers.Conv2D(6, 3, strides=2, padding="same")
    plain_bn = BatchNorm()
    fused.build(x.shape)
    plain_conv.build(x.shape)
    plain_bn.build((2, 5, 4, 6))
    rng = np.random.default_rng(2)
    plain_conv.set_weights([rng.normal(size=w.shape).astype(np.float32)
                            for w in plain_conv.weights])
    fused.conv.set_weights(plain_conv.get_weights())
    stats = [rng.uniform(0.5, 2.0, 6), rng.normal(size=6), rng.normal(size=6) * 3,
             rng.uniform(5.0, 50.0, 6)]  # gamma, beta, moving mean, moving variance
    for layer in (fused.bn, plain_bn):
        layer.set_weights([s.astype(np.float32) for s in stats])
        layer.trainable = bn_trainable
    upstream = tf.random.stateless_normal([2, 5, 4, 6], seed=[5, 0])

    def run(layer_fn, conv):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer_fn(x) * upstream)
        return [layer_fn(x)] + tape.gradient(loss, [x] + conv.trainable_weights)

    got = run(lambda v: fused(v, training=training), fused.conv)
    want = run(lambda v: plain_bn(plain_conv(v), training=training), plain_conv)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-3)
    if bn_trainable and training:  # batch statistics: the moving averages moved alike
        np.testing.assert_allclose(fused.bn.moving_mean.numpy(), plain_bn.moving_mean.numpy(),
                                   rtol=1e-5)


def test_conv_bn_keeps_matterports_layer_names_and_weights():
    """The two sublayers own the weights under their own names (h5 files map layer by
    layer); the batch norm alone is an ordinary batch norm."""
    fused = ConvBN(4, 1, "res2a_branch2a", "bn2a_branch2a")
    fused.build((1, 3, 3, 2))
    assert [w.path.split("/")[-2:] for w in fused.conv.weights] == [
        ["res2a_branch2a", "kernel"], ["res2a_branch2a", "bias"]]
    assert len(fused.bn.weights) == 4
    assert all(w.path.split("/")[-2] == "bn2a_branch2a" for w in fused.bn.weights)
    assert [layer.name for layer in fused.leaf_layers()] == ["res2a_branch2a", "bn2a_branch2a"]
    x = tf.random.stateless_normal([1, 3, 3, 4], seed=[6, 0]) + 3.0
    fused.bn.moving_mean.assign(np.full(4, 3.0, np.float32))
    assert np.abs(fused.bn(x, training=False).numpy()).max() < np.abs(x.numpy()).max()


def test_custom_layers_serialize_and_copy():
    """Registered with get_config: a model of them survives a .keras round trip, clone_model
    and deepcopy, and computes the same."""
    import copy
    inputs = keras.Input((8, 8, 3))
    x = ConvBN(4, 3, "c1", "b1", padding="same")(inputs)
    x = UpsamplingDeconv(5, 2, strides=2)(x)
    x = PooledFullyConnected(6, 16)(x)
    model = keras.Model(inputs, x)
    batch = tf.random.stateless_normal([2, 8, 8, 3], seed=[7, 0])
    want = model(batch).numpy()
    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    for other in (keras.saving.load_model(path), copy.deepcopy(model)):
        np.testing.assert_allclose(other(batch).numpy(), want, rtol=1e-5, atol=1e-5)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(batch).numpy(), want, rtol=1e-5, atol=1e-5)
