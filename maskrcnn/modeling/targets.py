"""Training targets, computed inside the graph for a whole batch at once.

``rpn_targets`` labels anchors against ground truth; ``detection_targets`` samples ROIs from
the proposals (plus the ground-truth boxes themselves) and gives each its class, box deltas
and mask. Ground truth comes padded: class id 0 is padding, a negative id a crowd region.
Random sampling uses random priorities and top-k, so there is no per-image Python loop.
"""
from __future__ import annotations

import tensorflow as tf

from .boxes import box_area, encode_deltas, pairwise_iou
from .roi_align import crop_boxes_for

CROWD_IOU = 0.001  # an ROI touching a crowd region this much is not used as background


def _sample(candidates: tf.Tensor, limit) -> tf.Tensor:
    """Keep at most ``limit`` (scalar or (B,)) random True entries in each row of (B, N) bool."""
    batch = tf.shape(candidates)[0]
    limit = tf.broadcast_to(tf.cast(limit, tf.int32), [batch])
    priority = tf.where(candidates, tf.random.uniform(tf.shape(candidates)), -1.0)
    order = tf.argsort(priority, axis=1, direction="DESCENDING")
    rank = tf.argsort(order, axis=1)  # position of each entry in its row's random order
    return candidates & (rank < limit[:, None])


def _match(boxes: tf.Tensor, gt_boxes: tf.Tensor, gt_class_ids: tf.Tensor):
    """Best ground truth of each box. Returns IoU with it (B, N), its index (B, N), the IoU
    matrix with real ground truth (B, N, G; -1 elsewhere) and the max IoU with crowds (B, N)."""
    iou = pairwise_iou(boxes, gt_boxes)
    real = (gt_class_ids > 0)[:, None, :]
    crowd = (gt_class_ids < 0)[:, None, :]
    iou_real = tf.where(real, iou, -1.0)
    best_iou = tf.reduce_max(iou_real, axis=2)
    best_gt = tf.argmax(iou_real, axis=2, output_type=tf.int32)
    crowd_iou = tf.reduce_max(tf.where(crowd, iou, 0.0), axis=2)
    return best_iou, best_gt, iou_real, crowd_iou


def rpn_targets(anchors: tf.Tensor, gt_class_ids: tf.Tensor, gt_boxes: tf.Tensor, config):
    """Anchor labels and deltas.

    anchors (A, 4); gt_class_ids (B, G); gt_boxes (B, G, 4), all normalised.
    Returns labels (B, A) int32 (1 object, 0 background, -1 not sampled) with at most
    RPN_TRAIN_ANCHORS_PER_IMAGE sampled per image, half of them positive at most, and
    deltas (B, A, 4) to each anchor's best ground truth (meaningful where label is 1).
    An anchor is positive at IoU >= 0.7 or when it is a ground truth's best anchor; negative
    below 0.3 unless it overlaps a crowd region.
    """
    batch = tf.shape(gt_boxes)[0]
    anchors_b = tf.broadcast_to(anchors[None], [batch, tf.shape(anchors)[0], 4])
    best_iou, best_gt, iou_real, crowd_iou = _match(anchors_b, gt_boxes, gt_class_ids)
    gt_best = tf.reduce_max(iou_real, axis=1, keepdims=True)  # (B, 1, G)
    is_best = tf.reduce_any((iou_real >= gt_best) & (gt_best > 0.0), axis=2)
    positive = (best_iou >= 0.7) | is_best
    negative = (best_iou < 0.3) & (crowd_iou < CROWD_IOU) & ~positive
    total = config.RPN_TRAIN_ANCHORS_PER_IMAGE
    positive = _sample(positive, total // 2)
    n_pos = tf.reduce_sum(tf.cast(positive, tf.int32), axis=1)
    negative = _sample(negative, total - n_pos)
    labels = tf.where(positive, 1, tf.where(negative, 0, -1))
    matched = tf.gather(gt_boxes, best_gt, batch_dims=1)
    deltas = encode_deltas(anchors_b, matched, config.RPN_BBOX_STD_DEV)
    deltas = tf.where(positive[..., None], deltas, 0.0)
    return labels, tf.stop_gradient(deltas)


def detection_targets(proposals: tf.Tensor, gt_class_ids: tf.Tensor, gt_boxes: tf.Tensor,
                      gt_masks: tf.Tensor, config):
    """Sample TRAIN_ROIS_PER_IMAGE ROIs per image and give each its targets.

    proposals (B, N, 4) normalised, zero rows for padding; gt_class_ids (B, G); gt_boxes
    (B, G, 4) normalised; gt_masks (B, h, w, G): mini-masks (h, w = MINI_MASK_SHAPE) or
    full-image masks. The ground-truth boxes join the proposals, so that the heads get
    positives from the first step. Positives (IoU >= 0.5) are at most ROI_POSITIVE_RATIO of
    the ROIs and come first; negatives fill the rest.

    Returns rois (B, T, 4), class_ids (B, T) int32 (0 for background and padding), deltas
    (B, T, 4), masks (B, P, mh, mw) float 0/1 for the first P ROIs, P the batch's largest
    positive count (at least 1, at most T * ratio), and
    weights (B, T) float (1 for sampled ROIs, 0 for padding).
    """
    total = config.TRAIN_ROIS_PER_IMAGE
    n_positive = int(total * config.ROI_POSITIVE_RATIO)
    real = gt_class_ids > 0
    rois = tf.concat([proposals, tf.where(real[..., None], gt_boxes, 0.0)], axis=1)
    short = tf.maximum(total - tf.shape(rois)[1], 0)  # fewer candidates than ROI slots
    rois = tf.pad(rois, [[0, 0], [0, short], [0, 0]])
    usable = box_area(rois) > 0.0
    best_iou, best_gt, _, crowd_iou = _match(rois, gt_boxes, gt_class_ids)
    positive = _sample((best_iou >= 0.5) & usable, n_positive)
    negative = (best_iou < 0.5) & (crowd_iou < CROWD_IOU) & usable
    # Order: sampled positives, then random negatives, then nothing.
    noise = tf.random.uniform(tf.shape(best_iou))
    priority = tf.where(positive, 2.0 + noise, tf.where(negative, 1.0 + noise, 0.0))
    top = tf.math.top_k(priority, k=total)
    slot_positive = top.values >= 2.0
    weights = tf.cast(top.values >= 1.0, tf.float32)
    index = top.indices
    rois = tf.gather(rois, index, batch_dims=1) * weights[..., None]
    gt_index = tf.gather(best_gt, index, batch_dims=1)
    class_ids = tf.where(slot_positive, tf.gather(gt_class_ids, gt_index, batch_dims=1), 0)
    matched_boxes = tf.gather(gt_boxes, gt_index, batch_dims=1)
    deltas = encode_deltas(rois, matched_boxes, config.BBOX_STD_DEV)
    deltas = tf.where(slot_positive[..., None], deltas, 0.0)
    # Masks only for as many leading slots as the batch has positives (at most n_positive).
    slots = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(slot_positive, tf.int32), 1)), 1)
    masks = _mask_targets(rois[:, :slots], matched_boxes[:, :slots], gt_index[:, :slots],
                          gt_masks, config)
    masks = masks * tf.cast(slot_positive[:, :slots, None, None], masks.dtype)
    return (tf.stop_gradient(rois), class_ids, tf.stop_gradient(deltas),
            tf.stop_gradient(masks), weights)


def _mask_targets(rois, gt_boxes, gt_index, gt_masks, config):
    """Crop each ROI's ground-truth mask to MASK_SHAPE. rois, gt_boxes (B, P, 4); gt_index
    (B, P); gt_masks (B, h, w, G) -> (B, P, mh, mw) float 0/1."""
    batch, count = tf.shape(rois)[0], tf.shape(rois)[1]
    h, w, g = tf.shape(gt_masks)[1], tf.shape(gt_masks)[2], tf.shape(gt_masks)[3]
    # 0/1 floats made by a select, not a cast: Grappler would move a widening cast after the
    # transpose, and oneDNN's graph pass, which takes Transposes of floats only, logs
    # "oneDNN supports DT_UINT8 only on platforms with AVX-512" for a uint8 one.
    masks = tf.where(gt_masks > 0, 1.0, 0.0)
    masks = tf.reshape(tf.transpose(masks, [0, 3, 1, 2]), [-1, h, w, 1])  # (B*G, h, w, 1)
    mask_index = tf.reshape(tf.range(batch)[:, None] * g + gt_index, [-1])
    boxes = tf.reshape(rois, [-1, 4])
    if config.USE_MINI_MASK:  # express the ROI in its ground-truth box's frame
        gt = tf.reshape(gt_boxes, [-1, 4])
        gh = tf.maximum(gt[:, 2] - gt[:, 0], 1e-6)
        gw = tf.maximum(gt[:, 3] - gt[:, 1], 1e-6)
        boxes = tf.stack([(boxes[:, 0] - gt[:, 0]) / gh, (boxes[:, 1] - gt[:, 1]) / gw,
                          (boxes[:, 2] - gt[:, 0]) / gh, (boxes[:, 3] - gt[:, 1]) / gw], axis=1)
    mh, mw = config.MASK_SHAPE
    crop_boxes = crop_boxes_for(boxes, h, w, mh, config.BOX_CONVENTION)
    if mh != mw:
        raise ValueError("MASK_SHAPE must be square")
    crops = tf.image.crop_and_resize(masks, crop_boxes, mask_index, [mh, mw])
    return tf.reshape(tf.round(crops[..., 0]), [batch, count, mh, mw])
