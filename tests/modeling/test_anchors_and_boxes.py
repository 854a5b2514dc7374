import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.modeling.anchors import level_anchors, pyramid_anchors
from maskrcnn.modeling.boxes import clip_boxes, decode_deltas, encode_deltas, pairwise_iou

STD = np.array([0.1, 0.1, 0.2, 0.2])


def test_delta_round_trip():
    rng = np.random.default_rng(0)
    y1x1 = rng.uniform(0, 0.5, (50, 2))
    boxes = np.concatenate([y1x1, y1x1 + rng.uniform(0.01, 0.5, (50, 2))], 1).astype(np.float32)
    y1x1 = rng.uniform(0, 0.5, (50, 2))
    gt = np.concatenate([y1x1, y1x1 + rng.uniform(0.01, 0.5, (50, 2))], 1).astype(np.float32)
    deltas = encode_deltas(tf.constant(boxes), tf.constant(gt), STD)
    np.testing.assert_allclose(decode_deltas(tf.constant(boxes), deltas, STD), gt, atol=1e-5)


def test_identical_boxes_have_zero_deltas():
    b = tf.constant([[0.1, 0.2, 0.4, 0.6]])
    np.testing.assert_allclose(encode_deltas(b, b, STD), 0.0, atol=1e-6)


def test_iou_hand_cases():
    a = tf.constant([[0.0, 0.0, 2.0, 2.0]])
    b = tf.constant([[0.0, 0.0, 2.0, 2.0],   # same: 1
                     [1.0, 1.0, 3.0, 3.0],   # 1 / 7
                     [0.0, 1.0, 2.0, 3.0],   # 2 / 6
                     [5.0, 5.0, 6.0, 6.0],   # disjoint: 0
                     [0.5, 0.5, 1.5, 1.5]])  # inside: 1 / 4
    np.testing.assert_allclose(pairwise_iou(a, b)[0], [1, 1 / 7, 1 / 3, 0, 0.25], rtol=1e-6)


def test_iou_of_degenerate_boxes_is_zero_not_nan():
    z = tf.zeros([2, 4])
    assert np.all(pairwise_iou(z, z).numpy() == 0)


def test_clip_boxes():
    out = clip_boxes(tf.constant([[-0.2, 0.3, 1.4, 0.9]]), tf.constant([0.0, 0.0, 1.0, 0.5]))
    np.testing.assert_allclose(out, [[0.0, 0.3, 1.0, 0.5]])


def test_anchor_count_and_positions(tiny_config):
    anchors = pyramid_anchors(tiny_config, (64, 64))
    ratios = len(tiny_config.RPN_ANCHOR_RATIOS)
    cells = sum(int(np.ceil(64 / s)) ** 2 for s in tiny_config.BACKBONE_STRIDES)
    assert anchors.shape == (cells * ratios, 4)
    # First level: scale 8 at stride 4, centres at (0, 0), (0, 4), ...; ratio 1 is square.
    first = level_anchors(8, [1], (16, 16), 4)
    np.testing.assert_allclose(first[0], [-4, -4, 4, 4])
    np.testing.assert_allclose(first[1], [-4, 0, 4, 8])
    np.testing.assert_allclose(first[16], [0, -4, 8, 4])
    # Ratio 2 (width / height) keeps the area of the scale.
    wide = level_anchors(8, [2], (1, 1), 4)[0]
    h, w = wide[2] - wide[0], wide[3] - wide[1]
    assert w / h == pytest.approx(2) and w * h == pytest.approx(64)


@pytest.mark.parametrize("convention", ["matterport", "aligned"])
def test_graph_anchors_equal_the_numpy_anchors_bit_for_bit(convention):
    """One traced graph for every image size: its anchors must be the numpy ones exactly."""
    import tensorflow as tf
    from conftest import TinyConfig

    from maskrcnn.modeling.anchors import graph_anchors, normalized_pyramid_anchors
    config = TinyConfig()
    config.BOX_CONVENTION = convention
    traced = tf.function(lambda hw: graph_anchors(config, hw))
    for hw in [(64, 64), (96, 160), (37, 51), (800, 1024)]:
        np.testing.assert_array_equal(traced(tf.constant(hw)).numpy(),
                                      normalized_pyramid_anchors(config, hw))


def test_several_sides_per_level_are_ordered_side_then_ratio():
    """A level given a list of sides (detectron2's ANCHOR_GENERATOR.SIZES): each cell holds
    sides x ratios anchors, side-major, each keeping its side's area."""
    boxes = level_anchors([8, 16], [0.5, 1, 2], (2, 3), 4)
    assert boxes.shape == (2 * 3 * 6, 4)
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    # first cell, centre (0, 0): side 8 at ratios 0.5, 1, 2, then side 16
    np.testing.assert_allclose((h * w)[:6], [64, 64, 64, 256, 256, 256], rtol=1e-6)
    np.testing.assert_allclose((w / h)[:6], [0.5, 1, 2, 0.5, 1, 2], rtol=1e-6)
    np.testing.assert_allclose(boxes[4], [-8, -8, 8, 8])
    # second cell is one stride to the right
    np.testing.assert_allclose(boxes[6 + 4], [-8, -4, 8, 12])
    # a one-side list is the plain number
    np.testing.assert_array_equal(level_anchors([8], [0.5, 1, 2], (4, 4), 4),
                                  level_anchors(8, [0.5, 1, 2], (4, 4), 4))


def test_several_sides_per_level_in_the_graph_and_the_rpn_head():
    from conftest import TinyConfig

    from maskrcnn.modeling.anchors import (
        anchors_per_location,
        graph_anchors,
        normalized_pyramid_anchors,
    )
    from maskrcnn.modeling.rpn import build_rpn
    config = TinyConfig()
    config.RPN_ANCHOR_SCALES = [[8, 11], [16, 22], [32, 45], [64, 90], [128, 181]]
    config.validate()
    assert anchors_per_location(config) == 6
    anchors = normalized_pyramid_anchors(config, (64, 96))
    cells = sum(int(np.ceil(64 / s)) * int(np.ceil(96 / s)) for s in config.BACKBONE_STRIDES)
    assert anchors.shape == (cells * 6, 4)
    np.testing.assert_array_equal(graph_anchors(config, (64, 96)).numpy(), anchors)
    logits, deltas = build_rpn(config)(np.zeros((1, 16, 24, config.TOP_DOWN_PYRAMID_SIZE),
                                                np.float32))
    assert logits.shape == (1, 16 * 24 * 6, 2) and deltas.shape == (1, 16 * 24 * 6, 4)


def test_anchor_sides_of_unequal_counts_are_refused():
    from conftest import TinyConfig

    from maskrcnn.errors import ConfigError
    config = TinyConfig()
    config.RPN_ANCHOR_SCALES = [[8, 11], 16, 32, 64, 128]
    with pytest.raises(ConfigError, match="RPN_ANCHOR_SCALES"):
        config.validate()
    config.RPN_ANCHOR_SCALES = [8, 16, 32, 64, -1]
    with pytest.raises(ConfigError, match="RPN_ANCHOR_SCALES"):
        config.validate()
