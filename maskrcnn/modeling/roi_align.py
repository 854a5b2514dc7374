"""ROIAlign over the feature pyramid: each box is pooled from the level that fits its size."""
from __future__ import annotations

import tensorflow as tf

from . import portable


def aligned_crop_boxes(boxes: tf.Tensor, height: tf.Tensor, width: tf.Tensor,
                       crop_size: int) -> tf.Tensor:
    """Boxes for ``tf.image.crop_and_resize`` that sample bin centres (ROIAlign, one sample
    per bin) of normalised (N, 4) ``boxes`` on a (height, width) map.

    crop_and_resize samples from box edge to box edge; ROIAlign wants the centres of
    crop_size equal bins, in pixel-centre coordinates. This maps one onto the other.
    """
    h = tf.cast(height, boxes.dtype)
    w = tf.cast(width, boxes.dtype)
    y1, x1, y2, x2 = boxes[:, 0] * h, boxes[:, 1] * w, boxes[:, 2] * h, boxes[:, 3] * w
    bin_h, bin_w = (y2 - y1) / crop_size, (x2 - x1) / crop_size
    first_y, last_y = y1 + 0.5 * bin_h - 0.5, y2 - 0.5 * bin_h - 0.5
    first_x, last_x = x1 + 0.5 * bin_w - 0.5, x2 - 0.5 * bin_w - 0.5
    hd, wd = tf.maximum(h - 1.0, 1.0), tf.maximum(w - 1.0, 1.0)
    return tf.stack([first_y / hd, first_x / wd, last_y / hd, last_x / wd], axis=1)


def crop_boxes_for(boxes: tf.Tensor, height, width, crop_size: int,
                   convention: str) -> tf.Tensor:
    """The boxes to give ``tf.image.crop_and_resize`` for normalised (N, 4) ``boxes``:
    matterport's convention passes them as they are (samples from box edge to box edge);
    "aligned" samples bin centres (``aligned_crop_boxes``)."""
    if convention == "matterport":
        return boxes
    return aligned_crop_boxes(boxes, height, width, crop_size)


def roi_align(feature_map: tf.Tensor, boxes: tf.Tensor, box_indices: tf.Tensor,
              crop_size: int, convention: str = "aligned") -> tf.Tensor:
    """(B, H, W, C) map, (N, 4) normalised boxes, (N,) batch indices -> (N, s, s, C)."""
    if feature_map.dtype == tf.bfloat16:  # crop_and_resize has no bfloat16 kernel
        feature_map = tf.cast(feature_map, tf.float32)
    shape = tf.shape(feature_map)
    crop_boxes = crop_boxes_for(boxes, shape[1], shape[2], crop_size, convention)
    return tf.image.crop_and_resize(feature_map, crop_boxes, box_indices, [crop_size, crop_size])


def pyramid_level(boxes: tf.Tensor, image_height, image_width) -> tf.Tensor:
    """Level 2..5 for each (..., 4) normalised box: 4 + log2(sqrt(area in pixels) / 224),
    rounded and clipped (the FPN paper's rule, as matterport)."""
    h = (boxes[..., 2] - boxes[..., 0]) * tf.cast(image_height, boxes.dtype)
    w = (boxes[..., 3] - boxes[..., 1]) * tf.cast(image_width, boxes.dtype)
    size = tf.sqrt(tf.maximum(h * w, 1e-6))
    level = 4.0 + tf.round(tf.math.log(size / 224.0) / tf.math.log(2.0))
    return tf.cast(tf.clip_by_value(level, 2.0, 5.0), tf.int32)


def pyramid_roi_align(boxes: tf.Tensor, feature_maps, image_shape, pool_size: int,
                      convention: str = "aligned") -> tf.Tensor:
    """Pool (B, N, 4) normalised boxes from [P2, P3, P4, P5] -> (B, N, s, s, C).

    Boxes are grouped by level, pooled in one crop_and_resize per level, and put back in
    their original order.
    """
    boxes = tf.stop_gradient(boxes)
    batch, count = tf.shape(boxes)[0], tf.shape(boxes)[1]
    flat = tf.reshape(boxes, [-1, 4])
    batch_index = tf.repeat(tf.range(batch), count)
    level = pyramid_level(flat, image_shape[0], image_shape[1])
    channels = feature_maps[0].shape[-1]
    if portable.enabled():  # every box from its level in one gather, no grouping

        def crop_boxes(b, height, width):
            return crop_boxes_for(b, height, width, pool_size, convention)

        pooled = portable.pyramid_crop_and_resize(feature_maps[:4], flat, batch_index,
                                                  level - 2, [pool_size, pool_size], crop_boxes)
        return tf.reshape(pooled, [batch, count, pool_size, pool_size, channels])
    pooled, order = [], []
    for i, feature_map in enumerate(feature_maps[:4]):
        ix = tf.reshape(tf.where(tf.equal(level, i + 2)), [-1])
        pooled.append(roi_align(feature_map, tf.gather(flat, ix), tf.gather(batch_index, ix),
                                pool_size, convention))
        order.append(ix)
    pooled = tf.concat(pooled, axis=0)
    pooled = tf.gather(pooled, tf.argsort(tf.concat(order, axis=0)))
    return tf.reshape(pooled, [batch, count, pool_size, pool_size, channels])
