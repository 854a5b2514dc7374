"""BOX_CONVENTION: the two conventions' arithmetic, config versions and migration, and
checkpoints written before the field existed detecting exactly as they did."""
import json
import os

import h5py
import numpy as np
import pytest

from maskrcnn.config import CONFIG_VERSION, Config
from maskrcnn.data.transforms import resize_image
from maskrcnn.errors import ConfigError
from maskrcnn.modeling.conventions import denormalize_boxes, normalize_boxes

DATA = os.path.join(os.path.dirname(__file__), "data")


def test_matterport_normalisation_is_its_formula():
    boxes = np.array([[0, 0, 128, 96], [10, 20, 30, 41]], np.float64)
    expected = (boxes - [0, 0, 1, 1]) / [127, 95, 127, 95]  # matterport's utils.norm_boxes
    np.testing.assert_allclose(normalize_boxes(boxes, 128, 96, "matterport"), expected)
    np.testing.assert_allclose(np.round(denormalize_boxes(expected, 128, 96, "matterport")),
                               boxes)
    np.testing.assert_allclose(normalize_boxes(boxes, 128, 96, "aligned"),
                               boxes / [128, 96, 128, 96])


def test_normalisation_works_on_tensors():
    import tensorflow as tf
    boxes = np.array([[4.0, 8.0, 60.0, 30.0]])
    out = normalize_boxes(tf.constant(boxes), tf.constant(64.0, tf.float64),
                          tf.constant(32.0, tf.float64), "matterport")
    np.testing.assert_allclose(out.numpy(), normalize_boxes(boxes, 64, 32, "matterport"))


def test_matterport_resize_is_scikit_image_truncated():
    """matterport's utils.resize_image: scikit-image order 1, mode "constant", range kept, no
    anti-aliasing, then ``astype(uint8)`` (truncation, not rounding). The matterport parity
    test checks the result against matterport's own molded images."""
    import skimage.transform
    image = np.random.default_rng(0).integers(0, 256, (6, 5, 3)).astype(np.uint8)
    out, window, scale, _, _ = resize_image(image, min_dim=12, max_dim=12, mode="square",
                                            convention="matterport")
    assert scale == 2 and window == (0, 1, 12, 11)
    smooth = skimage.transform.resize(image, (12, 10), order=1, mode="constant", cval=0,
                                      preserve_range=True, anti_aliasing=False)
    np.testing.assert_array_equal(out[:, 1:11], np.floor(smooth).astype(np.uint8))
    assert np.any(np.round(smooth) != np.floor(smooth))  # truncation is what is tested
    aligned, *_ = resize_image(image, min_dim=12, max_dim=12, mode="square",
                               convention="aligned")
    assert not np.array_equal(aligned, out)  # cv2: the conventions really differ


def test_config_records_version_and_convention():
    fields = json.loads(Config().to_json())
    assert fields["CONFIG_VERSION"] == CONFIG_VERSION
    assert fields["BOX_CONVENTION"] == "matterport"


def test_config_without_version_is_current_for_people_and_v1_for_checkpoints():
    written_by_hand = {"NAME": "balloon", "NUM_CLASSES": 2}
    assert Config.from_dict(written_by_hand).BOX_CONVENTION == "matterport"
    old_checkpoint = json.loads(Config().to_json())
    del old_checkpoint["CONFIG_VERSION"], old_checkpoint["BOX_CONVENTION"]
    migrated = Config.from_dict(old_checkpoint, default_version=1)
    assert migrated.BOX_CONVENTION == "aligned"
    assert migrated.CONFIG_VERSION == CONFIG_VERSION


def test_unknown_version_and_convention_are_refused():
    with pytest.raises(ConfigError, match="upgrade maskrcnn"):
        Config.from_dict({"CONFIG_VERSION": CONFIG_VERSION + 1})
    with pytest.raises(ConfigError, match="BOX_CONVENTION"):
        Config.from_dict({"BOX_CONVENTION": "centre"})


@pytest.fixture(scope="module")
def v1():
    """A checkpoint written by the package before BOX_CONVENTION existed (commit e74afc5), and
    the detections that code made with it on three images (64 x 64, 80 x 96, 120 x 50)."""
    return os.path.join(DATA, "v1_checkpoint.h5"), np.load(os.path.join(DATA,
                                                                         "v1_detections.npz"))


def test_v1_checkpoint_has_no_version(v1):
    with h5py.File(v1[0], "r") as f:
        saved = json.loads(f.attrs["maskrcnn_config"])
    assert "CONFIG_VERSION" not in saved and "BOX_CONVENTION" not in saved


def test_v1_checkpoint_detects_as_before(v1):
    from maskrcnn import MaskRCNN
    path, recorded = v1
    model = MaskRCNN.from_checkpoint(path)
    assert model.config.BOX_CONVENTION == "aligned"
    for i in range(3):
        (r,) = model.detect([recorded[f"image{i}"]])
        # Same detections in the same (score) order, to float noise.
        np.testing.assert_array_equal(r["class_ids"], recorded[f"class_ids{i}"])
        np.testing.assert_allclose(r["scores"], recorded[f"scores{i}"], atol=1e-5)
        np.testing.assert_allclose(r["rois"], recorded[f"rois{i}"], atol=1)
        differing = np.mean(r["masks"] != recorded[f"masks{i}"])
        assert differing < 1e-3, f"image {i}: {differing:.2%} of mask pixels differ"


def test_v1_checkpoint_in_a_matterport_model_warns(v1, tiny_config):
    from maskrcnn import MaskRCNN
    config = Config.from_json(h5py.File(v1[0], "r").attrs["maskrcnn_config"],
                              default_version=1)
    config.BOX_CONVENTION = "matterport"
    model = MaskRCNN("inference", config, "unused")
    with pytest.warns(UserWarning, match="BOX_CONVENTION='aligned'"):
        model.load_weights(v1[0])
