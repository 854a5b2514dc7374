import numpy as np
import tensorflow as tf

from maskrcnn.modeling.box_head import mrcnn_bbox_loss, mrcnn_class_loss
from maskrcnn.modeling.mask_head import mrcnn_mask_loss
from maskrcnn.modeling.rpn import rpn_bbox_loss, rpn_class_loss

BIG = 50.0  # logits this confident make cross-entropy ~exp(-50)


def test_rpn_losses_zero_when_prediction_equals_target():
    labels = tf.constant([[1, 0, -1, 1]])
    logits = tf.constant([[[-BIG, BIG], [BIG, -BIG], [0.0, 0.0], [-BIG, BIG]]])
    assert float(rpn_class_loss(labels, logits)) < 1e-6
    deltas = tf.constant(np.random.default_rng(0).normal(size=(1, 4, 4)), tf.float32)
    assert float(rpn_bbox_loss(labels, deltas, deltas)) == 0.0
    # and positive when they differ
    assert float(rpn_bbox_loss(labels, deltas, deltas + 1.0)) > 0
    assert float(rpn_class_loss(labels, -logits)) > 1.0


def test_head_losses_zero_when_prediction_equals_target():
    ids = tf.constant([[2, 1, 0]])
    logits = tf.one_hot(ids, 3) * 2 * BIG - BIG
    weights = tf.ones([1, 3])
    active = tf.ones([1, 3])
    assert float(mrcnn_class_loss(ids, logits, weights, active)) < 1e-6
    deltas = tf.constant(np.random.default_rng(1).normal(size=(1, 3, 3, 4)), tf.float32)
    targets = tf.gather(deltas, ids, batch_dims=2)
    assert float(mrcnn_bbox_loss(targets, ids, deltas)) == 0.0
    masks = tf.constant(np.random.default_rng(2).integers(0, 2, (1, 3, 4, 4)), tf.float32)
    mask_logits = tf.tile(((masks * 2 - 1) * BIG)[..., None], [1, 1, 1, 1, 3])
    assert float(mrcnn_mask_loss(masks, ids, mask_logits)) < 1e-6
    assert float(mrcnn_mask_loss(masks, ids, -mask_logits)) > 1.0


def test_losses_are_zero_not_nan_without_positives():
    labels = tf.constant([[0, -1]])
    assert float(rpn_bbox_loss(labels, tf.zeros([1, 2, 4]), tf.ones([1, 2, 4]))) == 0.0
    ids = tf.zeros([1, 2], tf.int32)
    assert float(mrcnn_mask_loss(tf.zeros([1, 2, 4, 4]), ids, tf.ones([1, 2, 4, 4, 3]))) == 0.0
