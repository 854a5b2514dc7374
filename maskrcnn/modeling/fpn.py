"""Feature pyramid: C2..C5 -> P2..P6, all with TOP_DOWN_PYRAMID_SIZE channels (matterport names)."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="maskrcnn")
class NearestUpsampling(layers.UpSampling2D):
    """``UpSampling2D``'s nearest-neighbour upsampling as one reshape, broadcast and reshape.

    Keras repeats rows and columns with ``tf.tile``, whose gradient transposes an int32 shape
    vector; TensorFlow's oneDNN graph pass takes Transposes of floats only and, meeting that
    one, logs "oneDNN supports DT_INT32 only on platforms with AVX-512" to stderr at the first
    training step. A broadcast's gradient is a sum. The output is the same; other
    interpolations and data formats run as ``UpSampling2D``.
    """

    def call(self, inputs):
        if self.interpolation != "nearest" or self.data_format != "channels_last":
            return super().call(inputs)
        sh, sw = self.size
        shape = tf.shape(inputs)
        b, h, w = shape[0], shape[1], shape[2]
        c = inputs.shape[-1] if inputs.shape[-1] is not None else shape[3]
        wide = tf.broadcast_to(tf.reshape(inputs, [b, h, 1, w, 1, c]), [b, h, sh, w, sw, c])
        return tf.reshape(wide, [b, h * sh, w * sw, c])


def build_fpn(config, backbone: keras.Model) -> keras.Model:
    """Functional model taking the backbone's [C2, C3, C4, C5] and returning [P2, ..., P6].

    Top-down path with nearest 2x upsampling and lateral 1x1 convs, a 3x3 conv on each merged
    map, and P6 subsampled from P5 (stride 64) for the RPN's largest anchors.
    """
    size = config.TOP_DOWN_PYRAMID_SIZE
    inputs = [keras.Input(shape=(None, None, int(t.shape[-1])), name=f"fpn_input_c{i}")
              for i, t in zip((2, 3, 4, 5), backbone.outputs)]
    c2, c3, c4, c5 = inputs
    p5 = layers.Conv2D(size, 1, name="fpn_c5p5")(c5)
    p4 = layers.Add(name="fpn_p4add")([NearestUpsampling(2, name="fpn_p5upsampled")(p5),
                                       layers.Conv2D(size, 1, name="fpn_c4p4")(c4)])
    p3 = layers.Add(name="fpn_p3add")([NearestUpsampling(2, name="fpn_p4upsampled")(p4),
                                       layers.Conv2D(size, 1, name="fpn_c3p3")(c3)])
    p2 = layers.Add(name="fpn_p2add")([NearestUpsampling(2, name="fpn_p3upsampled")(p3),
                                       layers.Conv2D(size, 1, name="fpn_c2p2")(c2)])
    outputs = [layers.Conv2D(size, 3, padding="same", name=f"fpn_p{i}")(p)
               for i, p in zip((2, 3, 4, 5), (p2, p3, p4, p5))]
    outputs.append(layers.MaxPooling2D(1, strides=2, name="fpn_p6")(outputs[-1]))
    return keras.Model(inputs, outputs, name="fpn")
