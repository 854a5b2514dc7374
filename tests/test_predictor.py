"""detect(): the result contract, paste-back, and the detection post-processing."""
import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.modeling.detection import refine_detections
from maskrcnn.modeling.mask_head import paste_masks


def test_paste_masks_round_trip():
    """A box-filling mask pasted at its box gives exactly the box; a half mask half of it."""
    full = np.ones((1, 28, 28), np.float32)
    half = np.zeros((1, 28, 28), np.float32)
    half[:, :, :14] = 1
    boxes = tf.constant([[10.0, 20.0, 40.0, 60.0]])
    pasted = paste_masks(tf.constant(np.concatenate([full, half])),
                         tf.concat([boxes, boxes], 0), 50, 80).numpy()
    expected = np.zeros((50, 80), bool)
    expected[10:40, 20:60] = True
    np.testing.assert_array_equal(pasted[..., 0], expected)
    expected_half = np.zeros((50, 80), bool)
    expected_half[10:40, 20:40] = True
    np.testing.assert_array_equal(pasted[..., 1], expected_half)


def test_paste_masks_with_no_detections():
    out = paste_masks(tf.zeros([0, 28, 28]), tf.zeros([0, 4]), 30, 40)
    assert out.shape == (30, 40, 0)


def test_refine_detections_per_class_nms_and_threshold(tiny_config):
    tiny_config.DETECTION_MIN_CONFIDENCE = 0.5
    tiny_config.DETECTION_NMS_THRESHOLD = 0.3
    rois = tf.constant([[[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.5, 0.52],   # duplicates, class 1
                         [0.1, 0.1, 0.5, 0.5],                           # same box, class 2
                         [0.6, 0.6, 0.9, 0.9],                           # low score
                         [0.2, 0.6, 0.4, 0.9]]])                         # background
    probs = np.array([[0.05, 0.9, 0.03, 0.02], [0.1, 0.8, 0.05, 0.05], [0.1, 0.1, 0.7, 0.1],
                      [0.4, 0.45, 0.1, 0.05], [0.9, 0.05, 0.03, 0.02]], np.float32)
    logits = tf.constant(np.log(probs)[None])
    deltas = tf.zeros([1, 5, 4, 4])
    out = refine_detections(rois, logits, deltas, tf.constant([[0.0, 0.0, 1.0, 1.0]]),
                            tiny_config).numpy()[0]
    kept = out[out[:, 4] > 0]
    assert sorted(kept[:, 4].tolist()) == [1, 2]  # one per class; the duplicate suppressed
    np.testing.assert_allclose(kept[0, 5], 0.9, rtol=1e-5)
    assert out.shape == (tiny_config.DETECTION_MAX_INSTANCES, 6)


def test_per_class_rule_makes_every_class_of_a_roi_a_candidate(tiny_config):
    """DETECTION_CLASS_RULE="per_class": a ROI at 0.45 object / 0.4 background gives a
    detection of its second class too (argmax gives only the first), each with its own
    probability and its own class's box; background is never a candidate."""
    tiny_config.DETECTION_MIN_CONFIDENCE = 0.2
    rois = tf.constant([[[0.1, 0.1, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9]]])
    probs = np.array([[0.15, 0.45, 0.35, 0.05], [0.7, 0.1, 0.1, 0.1]], np.float32)
    logits = tf.constant(np.log(probs)[None])
    deltas = np.zeros([1, 2, 4, 4], np.float32)
    deltas[0, 0, 2] = [1.0, 0.0, 0.0, 0.0]  # class 2's box moves down by 0.1 * 0.4
    window = tf.constant([[0.0, 0.0, 1.0, 1.0]])
    tiny_config.DETECTION_CLASS_RULE = "argmax"
    argmax = refine_detections(rois, logits, tf.constant(deltas), window, tiny_config)[0]
    tiny_config.DETECTION_CLASS_RULE = "per_class"
    per_class = refine_detections(rois, logits, tf.constant(deltas), window, tiny_config)[0]
    argmax, per_class = argmax.numpy(), per_class.numpy()
    assert argmax[argmax[:, 4] > 0][:, 4].tolist() == [1]
    kept = per_class[per_class[:, 4] > 0]
    assert kept[:, 4].tolist() == [1, 2]
    np.testing.assert_allclose(kept[:, 5], [0.45, 0.35], rtol=1e-5)
    np.testing.assert_allclose(kept[0, :4], [0.1, 0.1, 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(kept[1, :4], [0.14, 0.1, 0.54, 0.5], atol=1e-6)


def check_result(result, shape):
    h, w = shape[:2]
    n = len(result["class_ids"])
    assert result["rois"].shape == (n, 4) and result["rois"].dtype == np.int32
    assert result["class_ids"].dtype == np.int32 and result["scores"].dtype == np.float32
    assert result["masks"].shape == (h, w, n) and result["masks"].dtype == bool
    if n:
        r = result["rois"]
        assert r[:, 0].min() >= 0 and r[:, 1].min() >= 0
        assert r[:, 2].max() <= h and r[:, 3].max() <= w
        assert np.all(r[:, 2] > r[:, 0]) and np.all(r[:, 3] > r[:, 1])
        assert np.all(np.diff(result["scores"]) <= 1e-6)  # best first


def test_detect_contract_on_images_of_any_kind(trained_tiny):
    model, _ = trained_tiny
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8),
              rng.integers(0, 255, (50, 130, 3), dtype=np.uint8),       # non-square
              rng.integers(0, 255, (70, 40), dtype=np.uint8),           # grayscale
              rng.integers(0, 255, (33, 47, 4), dtype=np.uint8),        # RGBA
              rng.random((64, 64, 3)).astype(np.float32)]               # float 0..1
    results = model.detect(images)
    assert len(results) == len(images)
    for image, result in zip(images, results):
        check_result(result, image.shape)


def test_detections_are_in_original_image_coordinates(trained_tiny):
    """The same picture at twice the size gives boxes twice as large."""
    model, _ = trained_tiny
    from maskrcnn.data.readers.shapes import ShapesDataset
    image = ShapesDataset(1, 64, 64, seed=9).load_image(0)
    big = np.kron(image, np.ones((2, 2, 1), np.uint8))  # 128 x 128, resized back to 64
    molded, metas = model.mold_inputs([image, big])
    np.testing.assert_array_equal(molded[0], molded[1])  # the graph sees the same input
    assert metas[1]["scale"] == 0.5
    # One graph run, mapped back to each original image as detect() does.
    predictor = model.predictor
    window = predictor.normalized_window(metas[0])[None]
    detections, masks = predictor.run_graph(molded[0][None], window)
    detections = detections[0].numpy()
    small_r, big_r = (predictor.unmold(detections, masks[0], meta) for meta in metas)
    assert len(small_r["scores"]) > 0
    # Each detection unmolded alone, so that the two images' results pair by construction
    # (a box that rounds to nothing at 64 px is dropped there only).
    for k in np.flatnonzero(detections[:, 4] > 0):
        one_small, one_big = (predictor.unmold(detections[k:k + 1], masks[0][k:k + 1], meta)
                              for meta in metas)
        if len(one_small["scores"]) == 0:
            continue
        assert len(one_big["scores"]) == 1
        assert one_big["scores"][0] == one_small["scores"][0]  # one graph output, not paired by it
        assert one_big["class_ids"][0] == one_small["class_ids"][0]
        np.testing.assert_allclose(one_big["rois"][0], 2 * one_small["rois"][0], atol=2)
    assert big_r["masks"].shape[:2] == (128, 128)
    # And detect() itself maps to the big image's pixels.
    (direct,) = model.detect([big])
    assert direct["masks"].shape[:2] == (128, 128)
    assert direct["rois"].size == 0 or direct["rois"].max() <= 128


def test_zero_detections(trained_tiny):
    model, _ = trained_tiny
    old = model.config.DETECTION_MIN_CONFIDENCE
    model.config.DETECTION_MIN_CONFIDENCE = 1.0
    try:
        result = tiny_detector(model)
    finally:
        model.config.DETECTION_MIN_CONFIDENCE = old
    check_result(result, (64, 64))
    assert len(result["class_ids"]) == 0


def tiny_detector(model):
    """A fresh detect graph (the threshold is read when the graph is traced)."""
    from maskrcnn import MaskRCNN
    fresh = MaskRCNN("inference", model.config, model.model_dir)
    fresh.keras_model.set_weights(model.keras_model.get_weights())
    return fresh.detect([np.zeros((64, 64, 3), np.uint8)])[0]


def test_detect_needs_a_list(trained_tiny):
    model, _ = trained_tiny
    with pytest.raises(TypeError, match="list"):
        model.detect(np.zeros((64, 64, 3), np.uint8))
