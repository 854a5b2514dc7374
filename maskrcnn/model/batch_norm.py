"""The BatchNormalization layer of every built-in part of the model, and the convolution that
takes a following batch norm into its own kernel and bias when the statistics are fixed."""
from __future__ import annotations

import weakref

from keras import layers, ops

BN_EPSILON = 1e-3  # Keras 2's default, which matterport's weights were trained with


class BatchNorm(layers.BatchNormalization):
    """Keras BatchNormalization with epsilon 1e-3 whose moving statistics are averaged over
    tf.distribute replicas when they are updated (TRAIN_BN with GPU_COUNT > 1).

    Keras creates them without an aggregation, so each replica kept the statistics of its
    own images: the copies drifted apart (bn_conv1's moving variance by 24 after one tiny
    epoch on 2 devices), a checkpoint saved the first replica's copy, and detection on the
    second replica gave other scores than the same checkpoint on one device.

    After ``FoldingConv2D.fold(bn)`` the layer passes its input through whenever it would
    normalise with the moving statistics: the convolution before it has already applied them.
    """

    def __init__(self, epsilon: float = BN_EPSILON, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)
        self._folded_into = None
        # "moving": inference normalises with the moving statistics (Keras' rule); "image":
        # each image (each sample of the batch) with its own mean and variance, as training
        # at 1-2 images per step did; "batch": with those of the whole batch it is given.
        # See precise_bn.set_inference_statistics.
        self.inference_statistics = "moving"

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") in ("moving_mean", "moving_variance"):
            kwargs.setdefault("aggregation", "mean")
        return super().add_weight(*args, **kwargs)

    def uses_moving_statistics(self, training) -> bool:
        """Whether a call with ``training`` normalises with the moving mean and variance
        (Keras' rule: batch statistics only when training a trainable layer; at inference
        ``inference_statistics`` "image" or "batch" normalises with the input's own)."""
        if training:
            return not self.trainable
        return self.inference_statistics == "moving"

    def affine(self):
        """(scale, shift), float32 (channels,): the layer's output on moving statistics is
        ``x * scale + shift``."""
        def as_float32(v):
            return ops.cast(v, "float32")

        scale = ops.rsqrt(as_float32(self.moving_variance) + self.epsilon)
        if self.scale:
            scale = scale * as_float32(self.gamma)
        shift = -as_float32(self.moving_mean) * scale
        if self.center:
            shift = shift + as_float32(self.beta)
        return scale, shift

    def call(self, inputs, training=None, mask=None):
        folded = self._folded_into is not None and self._folded_into() is not None
        if folded and self.uses_moving_statistics(training):
            return inputs
        if not training and not self.uses_moving_statistics(training):
            return self._normalize_with_batch_statistics(inputs, mask)
        return super().call(inputs, training=training, mask=mask)

    def _normalize_with_batch_statistics(self, inputs, mask=None):
        """Normalise with the statistics of ``inputs`` (of each sample in "image" mode, of the
        whole batch in "batch" mode), without updating the moving ones."""
        x = ops.cast(inputs, "float32")
        axes = [a for a in self._reduction_axes
                if a != 0 or self.inference_statistics == "batch"]
        if mask is not None or not axes:
            mean, variance = self._moments(x, mask)
        else:
            mean, variance = ops.moments(x, axes=axes, keepdims=True)
        shape = [1] * len(x.shape)
        shape[self.axis] = x.shape[self.axis]
        scale = ops.rsqrt(variance + self.epsilon)
        if self.scale:
            scale = scale * ops.reshape(ops.cast(self.gamma, "float32"), shape)
        outputs = (x - mean) * scale
        if self.center:
            outputs = outputs + ops.reshape(ops.cast(self.beta, "float32"), shape)
        return ops.cast(outputs, self.compute_dtype)


class FoldingConv2D(layers.Conv2D):
    """Conv2D followed by a ``BatchNorm`` that it applies itself when that batch norm uses its
    moving statistics (inference, and training with TRAIN_BN off): one convolution with
    kernel * scale and bias * scale + shift (per output channel) instead of a convolution, a
    multiply and an add over the whole feature map. Weights, names and h5 files are those of
    the separate Conv2D and BatchNorm layers; the fold is recomputed from them at every call.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._batch_norm = None

    def fold(self, batch_norm: BatchNorm) -> BatchNorm:
        """Link ``batch_norm`` (the layer applied to this convolution's output, and only to
        it) and return it. Weak references: neither layer tracks the other's weights."""
        if self.activation is not None and self.activation.__name__ != "linear":
            raise ValueError(f"{self.name}: cannot fold a batch norm after an activation")
        self._batch_norm = weakref.ref(batch_norm)
        batch_norm._folded_into = weakref.ref(self)
        return batch_norm

    def call(self, inputs, training=None):
        bn = self._batch_norm() if self._batch_norm is not None else None
        if bn is None or not bn.uses_moving_statistics(training):
            return super().call(inputs)
        scale, shift = bn.affine()
        kernel = ops.cast(self.kernel, "float32") * scale
        bias = shift if not self.use_bias else ops.cast(self.bias, "float32") * scale + shift
        outputs = self.convolution_op(inputs, ops.cast(kernel, inputs.dtype))
        return ops.add(outputs, ops.cast(ops.reshape(bias, (1, 1, 1, -1)), outputs.dtype))


def conv_bn(x, filters: int, kernel: int, conv_name: str, bn_name: str, **conv_kwargs):
    """Apply a ``FoldingConv2D`` named ``conv_name`` and its ``BatchNorm`` named ``bn_name``
    (matterport's layer names) to ``x``."""
    conv = FoldingConv2D(filters, kernel, name=conv_name, **conv_kwargs)
    return conv.fold(BatchNorm(name=bn_name))(conv(x))
