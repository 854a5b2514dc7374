"""The basic-block ResNets: He et al.'s architecture (checked against torchvision's parameter
counts), strides 4..32, matterport-style names."""
import numpy as np
import pytest
from keras import layers

from maskrcnn.modeling.backbone import resnet
from maskrcnn.modeling.network import leaf_layers_of

# torchvision.models.resnet18/34(weights=None), without the classifier: the summed sizes of
# the 4-D (convolution) weights and the channels of all BatchNorm2d layers.
TORCHVISION = {"resnet18": (11_166_912, 4_800), "resnet34": (21_267_648, 8_512)}


def _kernels_and_bn_channels(model):
    kernels = sum(int(np.prod(w.shape)) for w in model.weights if len(w.shape) == 4)
    bn = sum(int(layer.gamma.shape[0]) for layer in leaf_layers_of(model)
             if isinstance(layer, layers.BatchNormalization))
    return kernels, bn


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_basic_resnets_have_torchvisions_weights(name):
    assert _kernels_and_bn_channels(resnet(name)) == TORCHVISION[name]


def test_basic_resnet_strides_and_names():
    model = resnet("resnet18")
    outputs = model(np.zeros((1, 64, 96, 3), np.float32))
    assert [tuple(o.shape) for o in outputs] == [(1, 16, 24, 64), (1, 8, 12, 128),
                                                 (1, 4, 6, 256), (1, 2, 3, 512)]
    names = {layer.name for layer in leaf_layers_of(model)}
    assert {"conv1", "res2a_branch2a", "res2b_branch2b", "res3a_branch1",
            "bn5b_branch2b"} <= names
    assert "res2a_branch1" not in names  # stage 2 keeps 64 channels: identity shortcut
    assert not any(n.endswith("branch2c") for n in names)  # two convolutions a block
