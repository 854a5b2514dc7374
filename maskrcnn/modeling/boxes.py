"""Box arithmetic in TensorFlow: IoU, delta encoding and decoding, clipping.

Boxes are (..., 4) as (y1, x1, y2, x2). Inside the graph they are normalised to the padded
image, 0..1; deltas are (dy, dx, log dh, log dw), divided by a std-dev vector as matterport
does, so that their targets have roughly unit variance.
"""
from __future__ import annotations

import tensorflow as tf


def box_area(boxes: tf.Tensor) -> tf.Tensor:
    """(..., 4) -> (...) area, 0 for degenerate boxes."""
    return tf.maximum(boxes[..., 2] - boxes[..., 0], 0.0) * tf.maximum(
        boxes[..., 3] - boxes[..., 1], 0.0)


def pairwise_iou(boxes1: tf.Tensor, boxes2: tf.Tensor) -> tf.Tensor:
    """IoU of every pair: (..., N, 4) x (..., M, 4) -> (..., N, M). Leading dims broadcast."""
    b1 = boxes1[..., :, None, :]
    b2 = boxes2[..., None, :, :]
    y1 = tf.maximum(b1[..., 0], b2[..., 0])
    x1 = tf.maximum(b1[..., 1], b2[..., 1])
    y2 = tf.minimum(b1[..., 2], b2[..., 2])
    x2 = tf.minimum(b1[..., 3], b2[..., 3])
    intersection = tf.maximum(y2 - y1, 0.0) * tf.maximum(x2 - x1, 0.0)
    union = box_area(boxes1)[..., :, None] + box_area(boxes2)[..., None, :] - intersection
    return tf.math.divide_no_nan(intersection, union)


def encode_deltas(boxes: tf.Tensor, gt_boxes: tf.Tensor, std_dev) -> tf.Tensor:
    """Deltas that turn ``boxes`` into ``gt_boxes`` (both (..., 4)), divided by ``std_dev``."""
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    cy = boxes[..., 0] + 0.5 * h
    cx = boxes[..., 1] + 0.5 * w
    gh = gt_boxes[..., 2] - gt_boxes[..., 0]
    gw = gt_boxes[..., 3] - gt_boxes[..., 1]
    gcy = gt_boxes[..., 0] + 0.5 * gh
    gcx = gt_boxes[..., 1] + 0.5 * gw
    tiny = 1e-8
    h, w = tf.maximum(h, tiny), tf.maximum(w, tiny)
    deltas = tf.stack([(gcy - cy) / h, (gcx - cx) / w,
                       tf.math.log(tf.maximum(gh, tiny) / h),
                       tf.math.log(tf.maximum(gw, tiny) / w)], axis=-1)
    return deltas / tf.constant(std_dev, dtype=deltas.dtype)


# Largest log-scale step a delta may take (as torchvision: log(1000 / 16)), so that an
# untrained head cannot overflow exp().
MAX_LOG_SCALE = 4.135


def decode_deltas(boxes: tf.Tensor, deltas: tf.Tensor, std_dev) -> tf.Tensor:
    """Apply (..., 4) deltas (divided by ``std_dev``) to (..., 4) boxes -> (..., 4) boxes."""
    deltas = deltas * tf.constant(std_dev, dtype=deltas.dtype)
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    cy = boxes[..., 0] + 0.5 * h + deltas[..., 0] * h
    cx = boxes[..., 1] + 0.5 * w + deltas[..., 1] * w
    h = h * tf.exp(tf.minimum(deltas[..., 2], MAX_LOG_SCALE))
    w = w * tf.exp(tf.minimum(deltas[..., 3], MAX_LOG_SCALE))
    y1, x1 = cy - 0.5 * h, cx - 0.5 * w  # y2 = y1 + h in matterport's order of operations,
    return tf.stack([y1, x1, y1 + h, x1 + w], axis=-1)  # so that its boxes come out bit-equal


def clip_boxes(boxes: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """Clip (..., 4) boxes to ``window`` (y1, x1, y2, x2), broadcastable to boxes."""
    window = tf.cast(window, boxes.dtype)
    y1 = tf.clip_by_value(boxes[..., 0], window[..., 0], window[..., 2])
    x1 = tf.clip_by_value(boxes[..., 1], window[..., 1], window[..., 3])
    y2 = tf.clip_by_value(boxes[..., 2], window[..., 0], window[..., 2])
    x2 = tf.clip_by_value(boxes[..., 3], window[..., 1], window[..., 3])
    return tf.stack([y1, x1, y2, x2], axis=-1)
