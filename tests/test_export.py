"""Export: a Keras 3 .weights.h5 and a SavedModel each load back with identical detections."""
import numpy as np
import pytest
from conftest import TinyConfig

from maskrcnn import MaskRCNN
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import WeightsError
from maskrcnn.export import load_saved_model


@pytest.fixture(scope="module")
def model_and_images():
    import keras
    keras.utils.set_random_seed(5)
    model = MaskRCNN("inference", TinyConfig(), "unused")
    rng = np.random.default_rng(5)
    for v in model.keras_model.weights:  # batch-norm weights off their defaults too
        if v.path.rsplit("/", 1)[-1] in ("gamma", "moving_variance"):
            v.assign(rng.uniform(0.8, 1.2, v.shape).astype(np.float32))
        elif v.path.rsplit("/", 1)[-1] in ("beta", "moving_mean"):
            v.assign(rng.normal(0, 0.05, v.shape).astype(np.float32))
    model.class_names = ["BG", "square", "circle", "triangle"]
    images = [ShapesDataset(3, 64, 64, seed=11).load_image(i) for i in range(3)]
    images[2] = images[2][:48]  # another size: molded with padding
    return model, images, model.detect(images)


def assert_same(results, expected, score_tolerance=1e-5):
    """The same detections to float noise: classes equal, scores within ``score_tolerance``,
    boxes within a pixel, masks but for boundary pixels (another trace of the same graph
    rounds by a few ulps)."""
    assert sum(len(r["class_ids"]) for r in expected) > 0
    for a, b in zip(results, expected):
        np.testing.assert_array_equal(a["class_ids"], b["class_ids"])
        np.testing.assert_allclose(a["scores"], b["scores"], rtol=0, atol=score_tolerance)
        np.testing.assert_allclose(a["rois"], b["rois"], rtol=0, atol=1)
        assert np.mean(a["masks"] != b["masks"]) < 1e-3


def test_keras3_weights_round_trip(model_and_images, tmp_path):
    model, images, expected = model_and_images
    path = model.export(str(tmp_path / "tiny.weights.h5"), format="weights")
    other = MaskRCNN("inference", TinyConfig(), str(tmp_path))
    assert other.load_weights(path) is None
    assert_same(other.detect(images), expected)
    with pytest.raises(WeightsError, match=".weights.h5"):
        model.export(str(tmp_path / "tiny.h5"), format="weights")


def test_saved_model_round_trip(model_and_images, tmp_path):
    import tensorflow as tf
    model, images, expected = model_and_images
    path = model.export(str(tmp_path / "served"))
    served = load_saved_model(path)
    assert served.class_names == model.class_names
    # The served graph has an unknown batch size where the in-process one was traced for a
    # batch of 2; kernels picked for the static shapes round a score differently by ~1 ulp.
    assert_same(served.detect(images), expected)
    signature = served.loaded.signatures["serving_default"]
    spec = signature.structured_input_signature[1]
    assert spec["images"].shape.as_list() == [None, None, None, 3]  # any padded size
    assert spec["images"].dtype == tf.uint8
    assert sorted(signature.structured_outputs) == ["detections", "masks"]
    with pytest.raises(WeightsError, match="no SavedModel"):
        load_saved_model(str(tmp_path))


@pytest.mark.parametrize("mode", ["crop", "pad64"])
def test_saved_model_detects_images_of_any_size(mode, tmp_path):
    """Anchors come from the image shape in the graph: one export serves every size (crop
    mode used to export a fixed square and fail on the first non-square image)."""
    import keras

    class Config(TinyConfig):
        IMAGE_RESIZE_MODE = mode

    keras.utils.set_random_seed(7)
    model = MaskRCNN("inference", Config(), "unused")
    images = [ShapesDataset(1, h, w, seed=s).load_image(0)
              for h, w, s in ((64, 64, 1), (48, 100, 2), (130, 70, 3))]
    expected = model.detect(images)
    assert len({r["masks"].shape[:2] for r in expected}) == 3
    served = load_saved_model(model.export(str(tmp_path / mode)))
    assert_same(served.detect(images), expected)


def test_config_changed_after_the_first_detect_takes_effect(model_and_images):
    model, images, expected = model_and_images
    scores = np.concatenate([r["scores"] for r in expected])
    cut = float(np.median(scores))
    old = model.config.DETECTION_MIN_CONFIDENCE
    model.config.DETECTION_MIN_CONFIDENCE = cut
    try:
        results = model.detect(images)
    finally:
        model.config.DETECTION_MIN_CONFIDENCE = old
    kept = np.concatenate([r["scores"] for r in results])
    assert 0 < len(kept) < len(scores) and kept.min() >= cut


def _result(rois, class_ids, scores, masks):
    return {"rois": np.array(rois, np.int32).reshape(-1, 4),
            "class_ids": np.array(class_ids, np.int32), "scores": np.array(scores, np.float32),
            "masks": masks}


def test_compare_detections_finds_each_kind_of_difference():
    from maskrcnn.export.check import compare_detections

    masks = np.zeros((20, 20, 2), bool)
    masks[2:8, 2:8, 0] = masks[10:18, 10:18, 1] = True
    a = _result([[2, 2, 8, 8], [10, 10, 18, 18]], [1, 2], [0.9, 0.8], masks)
    same = _result([[10, 10, 18, 18], [2, 2, 8, 8]], [2, 1], [0.8, 0.9005], masks[..., ::-1])
    dropped = _result([[2, 2, 8, 8]], [1], [0.9], masks[..., :1])
    taller = _result([[2, 2, 8, 8], [10, 10, 21, 18]], [1, 2], [0.9, 0.8], masks)
    table = compare_detections([a] * 3, [same, dropped, taller], ["same", "dropped", "taller"])
    assert table["same"].tolist() == [True, False, False]
    assert table.loc[1, "unpaired"] == 1 and table.loc[1, "exported"] == 1
    assert table.loc[2, "max_box_px"] == 3 and table.loc[2, "unpaired"] == 0
    loose = compare_detections([a], [taller], ["taller"], box_pixels=3)
    assert loose["same"].iloc[0]


def test_export_check_compares_the_file_with_its_checkpoint(model_and_images, tmp_path, capsys,
                                                            monkeypatch):
    from PIL import Image

    from maskrcnn.cli import main

    model, images, _ = model_and_images
    checkpoint = str(tmp_path / "tiny.h5")
    model.save_weights(checkpoint, 1)
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    code = main(["export", "--weights", checkpoint, "--output", str(tmp_path / "served"),
                 "--check", str(tmp_path / "*.png")])
    out = capsys.readouterr().out
    assert code == 0 and "check: 3/3 images give the same detections" in out
