"""ImageNet start: keras.applications ResNet-50 weights mapped onto matterport's layer names give
the same backbone outputs. The Keras model is built with weights=None, randomised and saved
locally; nothing is downloaded."""
import numpy as np
import pytest
from conftest import TinyConfig

from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.imagenet import imagenet_weights_path, keras_resnet_layer_name
from maskrcnn.errors import WeightsError
from maskrcnn.modeling.network import leaf_layers_of

KERAS_STAGE_OUTPUTS = ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out",
                       "conv5_block3_out"]


class ImagenetConfig(TinyConfig):
    BACKBONE = "resnet50"
    TRAIN_BN = False


@pytest.fixture(scope="module")
def keras_resnet50(tmp_path_factory):
    """keras.applications.ResNet50 with random weights and batch-norm statistics (some
    variances below 1e-3, so the epsilon refit takes both of its paths), saved to a file."""
    import keras
    model = keras.applications.ResNet50(include_top=False, weights=None,
                                        input_shape=(None, None, 3))
    rng = np.random.default_rng(1)
    small = np.array([1e-5, 2e-4, 6e-4, 9.9e-4])
    for layer in model.layers:
        values = {v.name: v for v in layer.weights}
        if "moving_variance" in values:
            var = rng.uniform(0.5, 2.0, values["gamma"].shape)
            var[:4] = small
            gamma = rng.uniform(0.5, 1.0, var.shape) * np.sqrt(var)  # keeps activations O(1)
            values["moving_variance"].assign(var.astype(np.float32))
            values["gamma"].assign(gamma.astype(np.float32))
            values["beta"].assign(rng.normal(0, 0.1, var.shape).astype(np.float32))
            values["moving_mean"].assign(rng.normal(0, 0.1, var.shape).astype(np.float32))
        if "bias" in values:
            values["bias"].assign(rng.normal(0, 0.1, values["bias"].shape).astype(np.float32))
    path = str(tmp_path_factory.mktemp("keras") / "resnet50_random.weights.h5")
    model.save_weights(path)
    return model, path


def test_layer_name_mapping():
    assert keras_resnet_layer_name("conv1_conv") == "conv1"
    assert keras_resnet_layer_name("conv1_bn") == "bn_conv1"
    assert keras_resnet_layer_name("conv2_block1_0_conv") == "res2a_branch1"
    assert keras_resnet_layer_name("conv4_block23_2_bn") == "bn4w_branch2b"
    assert keras_resnet_layer_name("conv5_block3_3_conv") == "res5c_branch2c"
    assert keras_resnet_layer_name("conv5_block3_out") is None
    assert keras_resnet_layer_name("predictions") is None


def test_imagenet_mapping_gives_equal_backbone_outputs(keras_resnet50, tmp_path, monkeypatch):
    import keras
    keras_model, weights_file = keras_resnet50
    monkeypatch.setenv("MASKRCNN_CACHE", str(tmp_path / "cache"))
    model = MaskRCNN("training", ImagenetConfig(), str(tmp_path))
    report = model.init_weights("imagenet", path=weights_file, verbose=0)
    backbone_layers = [layer.name for layer in leaf_layers_of(model.keras_model.backbone)]
    assert sorted(report.loaded) == sorted(backbone_layers) and len(backbone_layers) == 106
    assert "fpn_c5p5" in report.missing and "rpn_conv_shared" in report.missing
    assert report.unused_in_file == []

    stages = keras.Model(keras_model.input,
                         [keras_model.get_layer(n).output for n in KERAS_STAGE_OUTPUTS])
    rng = np.random.default_rng(2)
    # 66 px: the stem's max-pool sees the same windows in both nets (see the test below).
    rgb = rng.uniform(-1, 1, (2, 66, 66, 3)).astype(np.float32)  # any input will do
    ours = model.keras_model.backbone(rgb, training=False)
    theirs = stages(rgb[..., ::-1], training=False)  # Keras' ResNets take BGR ("caffe")
    for a, b, name in zip(ours, theirs, KERAS_STAGE_OUTPUTS):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, name
        error = np.max(np.abs(a - b)) / np.max(np.abs(b))
        print(f"{name}: max |ours - keras| / max |keras| = {error:.2e}")
        assert error < 1e-5, (name, error)  # float32 rounding: ~3e-7 here


def test_stem_pooling_offset_at_multiples_of_64(keras_resnet50, tmp_path, monkeypatch):
    """matterport's stem pools with padding="same" (pad only after) where Keras pads one pixel
    on both sides; at even sizes the windows are one pixel apart. The mapping is still exact:
    every later layer computes the same function, only the stem's sampling grid differs."""
    import keras
    keras_model, weights_file = keras_resnet50
    monkeypatch.setenv("MASKRCNN_CACHE", str(tmp_path / "cache"))
    path = imagenet_weights_path("resnet50", weights_file)
    from maskrcnn.checkpoint.h5 import load_weights_by_name
    from maskrcnn.modeling.backbone import resnet
    ours = resnet("resnet50")
    load_weights_by_name(leaf_layers_of(ours), path)
    rgb = np.random.default_rng(3).uniform(-120, 130, (1, 64, 64, 3)).astype(np.float32)
    c5 = np.asarray(ours(rgb)[-1])
    theirs = np.asarray(keras.Model(keras_model.input, keras_model.output)(rgb[..., ::-1]))
    assert c5.shape == theirs.shape == (1, 2, 2, 2048)
    assert np.max(np.abs(c5 - theirs)) > 1e-3 * np.max(np.abs(theirs))  # the grid differs


def test_imagenet_needs_a_resnet_backbone(tmp_path):
    model = MaskRCNN("training", TinyConfig(), str(tmp_path))
    with pytest.raises(WeightsError, match="resnet101"):
        model.init_weights("imagenet", verbose=0)
