"""The BatchNormalization layer of every built-in part of the model, and ``ConvBN``: a
convolution and the batch norm after it as one layer, which folds the batch norm into the
convolution's kernel and bias whenever the statistics are fixed."""
from __future__ import annotations

import keras
from keras import layers, ops

BN_EPSILON = 1e-3  # Keras 2's default, which matterport's weights were trained with


@keras.saving.register_keras_serializable(package="maskrcnn")
class BatchNorm(layers.BatchNormalization):
    """Keras BatchNormalization with epsilon 1e-3 whose moving statistics are averaged over
    tf.distribute replicas when they are updated (TRAIN_BN with GPU_COUNT > 1).

    Keras creates them without an aggregation, so each replica kept the statistics of its
    own images: the copies drifted apart (bn_conv1's moving variance by 24 after one tiny
    epoch on 2 devices), a checkpoint saved the first replica's copy, and detection on the
    second replica gave other scores than the same checkpoint on one device.
    """

    def __init__(self, epsilon: float = BN_EPSILON, inference_statistics: str = "moving",
                 **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)
        # "moving": inference normalises with the moving statistics (Keras' rule); "image":
        # each image (each sample of the batch) with its own mean and variance, as training
        # at 1-2 images per step did; "batch": with those of the whole batch it is given.
        # See precise_bn.set_inference_statistics.
        self.inference_statistics = inference_statistics

    def get_config(self):
        return {**super().get_config(), "inference_statistics": self.inference_statistics}

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


@keras.saving.register_keras_serializable(package="maskrcnn")
class ConvBN(layers.Layer):
    """A ``Conv2D`` named ``conv_name`` and the ``BatchNorm`` named ``bn_name`` after it, as one
    layer that owns both (their weights, names and h5 groups are the two sublayers', as in
    matterport's files: ``res2a_branch2a`` and ``bn2a_branch2a``).

    When the batch norm normalises with its moving statistics (inference, and training with
    it frozen) the layer runs one convolution with kernel * scale and bias * scale + shift
    per output channel, recomputed from the variables at each call, instead of a
    convolution, a multiply and an add over the whole feature map. Otherwise (batch or
    per-image statistics) it runs the convolution, then the batch norm.
    """

    def __init__(self, filters: int, kernel_size, conv_name: str, bn_name: str,
                 strides=1, padding: str = "valid", use_bias: bool = True, **kwargs):
        kwargs.setdefault("name", f"{conv_name}_with_{bn_name}")
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                                  use_bias=use_bias, name=conv_name, dtype=self.dtype_policy)
        self.bn = BatchNorm(name=bn_name, dtype=self.dtype_policy)
        self._settings = {"filters": filters, "kernel_size": kernel_size,
                          "conv_name": conv_name, "bn_name": bn_name, "strides": strides,
                          "padding": padding, "use_bias": use_bias}

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(self.conv.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def leaf_layers(self) -> list:
        """The two layers that own weights, in h5 order."""
        return [self.conv, self.bn]

    def call(self, inputs, training=None):
        if not self.bn.uses_moving_statistics(training):
            return self.bn(self.conv(inputs, training=training), training=training)
        scale, shift = self.bn.affine()
        kernel = ops.cast(self.conv.kernel, "float32") * scale
        bias = shift
        if self.conv.use_bias:
            bias = ops.cast(self.conv.bias, "float32") * scale + shift
        outputs = self.conv.convolution_op(inputs, ops.cast(kernel, inputs.dtype))
        return ops.add(outputs, ops.cast(ops.reshape(bias, (1, 1, 1, -1)), outputs.dtype))

    def get_config(self):
        return {**super().get_config(), **self._settings}


def conv_bn(x, filters: int, kernel: int, conv_name: str, bn_name: str, **conv_kwargs):
    """Apply a ``ConvBN`` of ``conv_name`` and ``bn_name`` (matterport's layer names) to ``x``."""
    return ConvBN(filters, kernel, conv_name, bn_name, **conv_kwargs)(x)


def __getattr__(name):
    if name == "FoldingConv2D":
        raise AttributeError("FoldingConv2D was replaced by ConvBN, one layer that owns the "
                             "convolution and its batch norm (maskrcnn.modeling.batch_norm."
                             "ConvBN; conv_bn(x, ...) builds one)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
