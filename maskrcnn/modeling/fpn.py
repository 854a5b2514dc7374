"""Feature pyramid: C2..C5 -> P2..P6, all with TOP_DOWN_PYRAMID_SIZE channels (matterport names)."""
from __future__ import annotations

import keras
from keras import layers


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
    p4 = layers.Add(name="fpn_p4add")([layers.UpSampling2D(2, name="fpn_p5upsampled")(p5),
                                       layers.Conv2D(size, 1, name="fpn_c4p4")(c4)])
    p3 = layers.Add(name="fpn_p3add")([layers.UpSampling2D(2, name="fpn_p4upsampled")(p4),
                                       layers.Conv2D(size, 1, name="fpn_c3p3")(c3)])
    p2 = layers.Add(name="fpn_p2add")([layers.UpSampling2D(2, name="fpn_p3upsampled")(p3),
                                       layers.Conv2D(size, 1, name="fpn_c2p2")(c2)])
    outputs = [layers.Conv2D(size, 3, padding="same", name=f"fpn_p{i}")(p)
               for i, p in zip((2, 3, 4, 5), (p2, p3, p4, p5))]
    outputs.append(layers.MaxPooling2D(1, strides=2, name="fpn_p6")(outputs[-1]))
    return keras.Model(inputs, outputs, name="fpn")
