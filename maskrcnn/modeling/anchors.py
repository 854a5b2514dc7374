"""Anchors: a grid of boxes of one or more sides and several aspect ratios on each pyramid
level.

Matterport's layout: for level i, anchors of side ``scales[i]`` pixels (area scale**2) and
each ratio (width / height), centred on every ``anchor_stride``-th cell of a feature map of
stride ``strides[i]``, centres at cell * stride (not cell centres); levels concatenated P2..P6,
within a level ordered by (row, column, ratio). A level may also have several sides
(``RPN_ANCHOR_SCALES`` entry a list, as detectron2's ANCHOR_GENERATOR.SIZES): then ordered by
(row, column, side, ratio), every level with the same number of sides.
"""
from __future__ import annotations

import numpy as np

from .conventions import normalize_boxes


def level_sizes(config) -> list[list[float]]:
    """Anchor sides per pyramid level: ``RPN_ANCHOR_SCALES`` with each number made a list."""
    return [[float(v) for v in np.ravel(entry)] for entry in config.RPN_ANCHOR_SCALES]


def cell_shapes(sides, ratios) -> tuple[np.ndarray, np.ndarray]:
    """Heights and widths (k,) float64 of the anchors of one cell, ordered (side, ratio)."""
    sides = np.asarray(sides, dtype=np.float64).reshape(-1, 1)
    ratios = np.asarray(ratios, dtype=np.float64).reshape(1, -1)
    return (sides / np.sqrt(ratios)).ravel(), (sides * np.sqrt(ratios)).ravel()


def level_anchors(scale, ratios, feature_shape, feature_stride: int,
                  anchor_stride: int = 1, dtype=np.float32) -> np.ndarray:
    """(rows * cols * k, 4) pixel boxes (y1, x1, y2, x2) for one level; ``scale`` one side or
    a list of sides, k = sides * ratios."""
    heights, widths = cell_shapes(scale, ratios)
    ys = np.arange(0, feature_shape[0], anchor_stride) * feature_stride
    xs = np.arange(0, feature_shape[1], anchor_stride) * feature_stride
    cy, cx = np.meshgrid(ys, xs, indexing="ij")
    cy = cy[..., None].astype(np.float64)
    cx = cx[..., None].astype(np.float64)
    boxes = np.stack(np.broadcast_arrays(cy - 0.5 * heights, cx - 0.5 * widths,
                                         cy + 0.5 * heights, cx + 0.5 * widths), axis=-1)
    return boxes.reshape(-1, 4).astype(dtype)


def pyramid_anchors(config, image_shape, dtype=np.float32) -> np.ndarray:
    """(A, 4) anchors in pixels of a padded image of ``image_shape`` (H, W, ...)."""
    h, w = int(image_shape[0]), int(image_shape[1])
    out = []
    for scale, stride in zip(level_sizes(config), config.BACKBONE_STRIDES):
        shape = (int(np.ceil(h / stride)), int(np.ceil(w / stride)))
        out.append(level_anchors(scale, config.RPN_ANCHOR_RATIOS, shape, stride,
                                 config.RPN_ANCHOR_STRIDE, dtype))
    return np.concatenate(out, axis=0)


def normalized_pyramid_anchors(config, image_shape) -> np.ndarray:
    """``pyramid_anchors`` in the graph's 0..1 coordinates (Config.BOX_CONVENTION)."""
    h, w = float(image_shape[0]), float(image_shape[1])
    # float64 until the end, so that the result is matterport's to the last bit.
    anchors = normalize_boxes(pyramid_anchors(config, image_shape, np.float64), h, w,
                              config.BOX_CONVENTION)
    return anchors.astype(np.float32)


def anchors_per_location(config) -> int:
    """k: anchors per feature-map cell (sides per level times ratios)."""
    return len(level_sizes(config)[0]) * len(config.RPN_ANCHOR_RATIOS)


def graph_anchors(config, image_hw):
    """``normalized_pyramid_anchors`` computed in the TensorFlow graph from the padded image
    size ``image_hw`` (an int (2,) tensor, or a pair of ints), so that one graph serves
    every image size. float64 until the end, as the numpy version: the two are bit-equal
    (float32 throughout inside ``portable.portable_ops()``: TFLite has no float64 builtins).
    Returns (A, 4) float32."""
    import tensorflow as tf

    from . import portable
    dtype = tf.float32 if portable.enabled() else tf.float64
    hw = tf.cast(image_hw, dtype)
    out = []
    for sides, stride in zip(level_sizes(config), config.BACKBONE_STRIDES):
        heights, widths = cell_shapes(sides, config.RPN_ANCHOR_RATIOS)
        heights, widths = tf.constant(heights, dtype), tf.constant(widths, dtype)
        rows = tf.cast(tf.math.ceil(hw[0] / stride), tf.int32)
        cols = tf.cast(tf.math.ceil(hw[1] / stride), tf.int32)
        step = config.RPN_ANCHOR_STRIDE
        ys = tf.cast(tf.range(0, rows, step) * stride, dtype)
        xs = tf.cast(tf.range(0, cols, step) * stride, dtype)
        cy, cx = tf.meshgrid(ys, xs, indexing="ij")
        cy, cx = tf.expand_dims(cy, -1), tf.expand_dims(cx, -1)  # TFLite: no new_axis
        boxes = tf.stack([cy - 0.5 * heights, cx - 0.5 * widths,
                          cy + 0.5 * heights, cx + 0.5 * widths], axis=-1)
        out.append(tf.reshape(boxes, [-1, 4]))
    anchors = normalize_boxes(tf.concat(out, axis=0), hw[0], hw[1], config.BOX_CONVENTION)
    return tf.cast(anchors, tf.float32)
