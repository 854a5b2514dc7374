"""ResNet backbones with matterport's layer names (``conv1``, ``res4b_branch2a``,
``bn5c_branch2c``).

The names are what let matterport's ``.h5`` weights load by name and what its ``layers=``
regexes match. ``small`` is the same network with a quarter of the channels and one block per
stage, for tests and smoke runs. ``resnet18`` and ``resnet34`` are He et al.'s basic-block
ResNets (two 3x3 convolutions a block, C2..C5 of 64..512 channels), the backbones worth
training from scratch on a CPU (the README's "Training from scratch" gives the measurements);
their blocks are named as matterport names bottlenecks (``res3a_branch2b``, ``bn3a_branch1``).
"""
from __future__ import annotations

import keras
from keras import layers

from .batch_norm import conv_bn

# Blocks per stage (C2..C5), the channel multiplier and the block of each built-in backbone.
RESNETS = {
    "resnet18": ((2, 2, 2, 2), 1.0, "basic"),
    "resnet34": ((3, 4, 6, 3), 1.0, "basic"),
    "resnet50": ((3, 4, 6, 3), 1.0, "bottleneck"),
    "resnet101": ((3, 4, 23, 3), 1.0, "bottleneck"),
    "small": ((1, 1, 1, 1), 0.25, "bottleneck"),
}


def _bottleneck(x, filters, stage: int, block: str, strides: int, shortcut_conv: bool):
    """One ResNet bottleneck block (stride on the first 1x1 conv, as in the Caffe ResNets)."""
    f1, f2, f3 = filters
    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    y = conv_bn(x, f1, 1, conv + "2a", bn + "2a", strides=strides)
    y = layers.Activation("relu")(y)
    y = conv_bn(y, f2, 3, conv + "2b", bn + "2b", padding="same")
    y = layers.Activation("relu")(y)
    y = conv_bn(y, f3, 1, conv + "2c", bn + "2c")
    return _add_shortcut(x, y, f3, stage, block, strides, shortcut_conv)


def _basic(x, width: int, stage: int, block: str, strides: int, shortcut_conv: bool):
    """One basic ResNet block: two 3x3 convolutions, the stride on the first."""
    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    y = conv_bn(x, width, 3, conv + "2a", bn + "2a", strides=strides, padding="same")
    y = layers.Activation("relu")(y)
    y = conv_bn(y, width, 3, conv + "2b", bn + "2b", padding="same")
    return _add_shortcut(x, y, width, stage, block, strides, shortcut_conv)


def _add_shortcut(x, y, filters: int, stage: int, block: str, strides: int,
                  shortcut_conv: bool):
    """``relu(y + shortcut(x))``; the shortcut is a strided 1x1 conv where shapes change."""
    if shortcut_conv:
        x = conv_bn(x, filters, 1, f"res{stage}{block}_branch1", f"bn{stage}{block}_branch1",
                    strides=strides)
    y = layers.Add()([y, x])
    return layers.Activation("relu", name=f"res{stage}{block}_out")(y)


def resnet(name: str, channels: int = 3) -> keras.Model:
    """Functional ResNet: (B, H, W, channels) float image -> [C2, C3, C4, C5] at strides 4..32."""
    blocks, width, kind = RESNETS[name]
    image = keras.Input(shape=(None, None, channels), name="input_image")
    x = layers.ZeroPadding2D(3)(image)
    x = conv_bn(x, int(64 * width), 7, "conv1", "bn_conv1", strides=2)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    outputs = []
    for stage, count in zip((2, 3, 4, 5), blocks):
        base = int(64 * width) * 2 ** (stage - 2)
        for i in range(count):
            block = chr(ord("a") + i) if count <= 26 else f"{i}"
            strides = 2 if (i == 0 and stage > 2) else 1
            if kind == "basic":  # stage 2 keeps 64 channels: no shortcut conv needed there
                x = _basic(x, base, stage, block, strides, shortcut_conv=(i == 0 and stage > 2))
            else:
                x = _bottleneck(x, (base, base, base * 4), stage, block, strides,
                                shortcut_conv=(i == 0))
        outputs.append(x)
    return keras.Model(image, outputs, name=f"backbone_{name}")


def build_backbone(config) -> keras.Model:
    """The backbone named by ``config.BACKBONE``, or one made by a callable there.

    A callable is called as ``f(input_image, train_bn)`` with a Keras input tensor and must
    return the feature maps [C2, C3, C4, C5] (a longer list's last four are used).
    """
    if callable(config.BACKBONE):
        image = keras.Input(shape=(None, None, config.IMAGE_CHANNEL_COUNT), name="input_image")
        features = list(config.BACKBONE(image, train_bn=config.TRAIN_BN))[-4:]
        return keras.Model(image, features, name="backbone_custom")
    return resnet(config.BACKBONE, config.IMAGE_CHANNEL_COUNT)
