import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.config import Config
from maskrcnn.modeling.targets import detection_targets, rpn_targets


class TargetConfig(Config):
    NUM_CLASSES = 3
    RPN_TRAIN_ANCHORS_PER_IMAGE = 8
    TRAIN_ROIS_PER_IMAGE = 6
    ROI_POSITIVE_RATIO = 0.5
    USE_MINI_MASK = False
    MASK_POOL_SIZE = 2
    MASK_SHAPE = [4, 4]


def test_rpn_targets_on_hand_made_boxes():
    anchors = tf.constant([[0.0, 0.0, 0.5, 0.5],    # IoU 1 with gt 0 -> positive
                           [0.0, 0.0, 0.45, 0.5],   # IoU 0.9 -> positive
                           [0.0, 0.0, 0.3, 0.5],    # IoU 0.6 -> neutral
                           [0.6, 0.6, 1.0, 1.0],    # IoU 0 -> negative
                           [0.5, 0.5, 0.6, 0.6],    # negative
                           [0.55, 0.0, 1.0, 0.4]])  # best for gt 1 (IoU < 0.7) -> positive
    gt_boxes = tf.constant([[[0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 1.0, 0.4], [0, 0, 0, 0]]])
    gt_ids = tf.constant([[1, 2, 0]])
    labels, deltas = rpn_targets(anchors, gt_ids, gt_boxes, TargetConfig())
    assert list(labels.numpy()[0]) == [1, 1, -1, 0, 0, 1]
    np.testing.assert_allclose(deltas[0, 0], 0.0, atol=1e-6)
    assert np.all(deltas.numpy()[0, 3:5] == 0)


def test_rpn_sampling_caps_positives_at_half():
    rng = np.random.default_rng(0)
    anchors = tf.constant(np.tile([[0.0, 0.0, 0.5, 0.5]], (40, 1)) +
                          rng.uniform(0, 0.01, (40, 4)), tf.float32)
    anchors = tf.concat([anchors, tf.constant([[0.8, 0.8, 0.9, 0.9]] * 40)], axis=0)
    gt_boxes = tf.constant([[[0.0, 0.0, 0.5, 0.5]]])
    labels, _ = rpn_targets(anchors, tf.constant([[1]]), gt_boxes, TargetConfig())
    labels = labels.numpy()[0]
    assert (labels == 1).sum() == 4 and (labels == 0).sum() == 4  # 8 sampled, half positive


def test_crowd_overlapping_anchors_are_not_negatives():
    anchors = tf.constant([[0.6, 0.6, 1.0, 1.0], [0.0, 0.0, 0.2, 0.2]])
    gt_boxes = tf.constant([[[0.6, 0.6, 1.0, 1.0], [0.0, 0.0, 0.1, 0.1]]])
    labels, _ = rpn_targets(anchors, tf.constant([[-1, 1]]), gt_boxes, TargetConfig())
    assert labels.numpy()[0, 0] == -1


@pytest.mark.parametrize("convention, edge", [("aligned", 0.5), ("matterport", 3 / 7)])
def test_detection_targets_counts_classes_and_masks(convention, edge):
    """The gt box covers pixels 0..3 of an 8 x 8 mask: 4 / 8 in the aligned convention,
    (4 - 1) / (8 - 1) in matterport's. Its mask target must then be all ones."""
    c = TargetConfig()
    c.BOX_CONVENTION = convention
    proposals = tf.constant([[[0.0, 0.0, edge, edge],        # positive, gt 0
                              [0.0, 0.0, edge, 0.9 * edge],  # positive, gt 0
                              [0.5, 0.5, 1.0, 1.0],          # negative
                              [0.6, 0.0, 1.0, 0.3],          # negative
                              [0.0, 0.0, 0.0, 0.0]]])        # padding
    gt_boxes = tf.constant([[[0.0, 0.0, edge, edge], [0, 0, 0, 0]]])
    gt_ids = tf.constant([[2, 0]])
    masks = np.zeros((1, 8, 8, 2), np.float32)
    masks[0, :4, :4, 0] = 1  # the gt's mask fills its box
    rois, class_ids, deltas, mask_targets, weights = detection_targets(
        proposals, gt_ids, gt_boxes, tf.constant(masks), c)
    class_ids, weights = class_ids.numpy()[0], weights.numpy()[0]
    # 3 positive candidates (2 proposals + the gt box itself) but at most 6 * 0.5 = 3.
    assert list(class_ids[:3]) == [2, 2, 2]
    assert list(class_ids[3:]) == [0, 0, 0]
    assert list(weights) == [1, 1, 1, 1, 1, 0]  # 2 negatives; the padding row is unused
    assert mask_targets.shape == (1, 3, 4, 4)
    full_box = [i for i in range(3) if np.allclose(rois[0, i], [0, 0, edge, edge])]
    assert full_box and np.all(mask_targets.numpy()[0, full_box[0]] == 1)
    assert np.all(deltas.numpy()[0, 3:] == 0)


def test_detection_targets_with_mini_masks_crop_inside_the_gt_box():
    class Mini(TargetConfig):
        USE_MINI_MASK = True
        MINI_MASK_SHAPE = (8, 8)
    mini = np.zeros((1, 8, 8, 1), np.float32)
    mini[0, :, :4, 0] = 1  # left half of the gt box
    gt_boxes = tf.constant([[[0.2, 0.2, 0.6, 0.6]]])
    proposals = tf.zeros([1, 2, 4])
    rois, class_ids, _, masks, _ = detection_targets(proposals, tf.constant([[1]]), gt_boxes,
                                                     tf.constant(mini), Mini())
    assert class_ids.numpy()[0, 0] == 1
    np.testing.assert_array_equal(masks.numpy()[0, 0], np.tile([1, 1, 0, 0], (4, 1)))
