"""Portable ops: the inference graph in ops that TensorFlow Lite has as builtins and that
tf2onnx maps onto standard ONNX operators.

Three ops of the inference graph have no TFLite builtin: ``tf.image.crop_and_resize``
(ROIAlign), ``tf.image.combined_non_max_suppression`` (per-class NMS of the detections) and
the float64 arithmetic of the anchors. Traced inside ``portable_ops()``, the graph uses
instead:

- ``crop_and_resize``: the same bilinear sampling written with GATHER (same sample points,
  same interpolation order, zero outside the map as ``extrapolation_value=0``), all pyramid
  levels in one gather (``pyramid_crop_and_resize``), so that no level's group is empty;
- ``combined_non_max_suppression``: single-class NMS (NON_MAX_SUPPRESSION_V5) over all
  (box, class) candidates with each class's boxes moved apart so that classes never suppress
  one another (the "batched NMS" of torchvision), which selects the same boxes;
- anchors in float32 (a few ulps from the float64 ones);
- boxes of zero area (proposals clipped to the image border) moved apart before either NMS
  (``separate_empty_boxes``): TensorFlow's NMS never lets them suppress or be suppressed,
  TFLite's returns repeated indices and a wrong count when they are present (measured: 680
  proposals kept by TensorFlow, "1000" by TFLite, 16 distinct, on a random ResNet-50's
  1000 proposals of which 219 were empty).

Outside ``portable_ops()`` (training, ``MaskRCNN.detect``, the SavedModel) nothing changes.
"""
from __future__ import annotations

import contextlib
import threading
from collections import namedtuple

import tensorflow as tf

_state = threading.local()

NMSResult = namedtuple("NMSResult", "nmsed_boxes nmsed_scores nmsed_classes valid_detections")


def enabled() -> bool:
    """True while a graph is traced inside ``portable_ops()``."""
    return getattr(_state, "on", False)


@contextlib.contextmanager
def portable_ops():
    """Trace the inference graph with the portable ops (see the module's docstring)."""
    before = enabled()
    _state.on = True
    try:
        yield
    finally:
        _state.on = before


def crop_and_resize(image: tf.Tensor, boxes: tf.Tensor, box_indices: tf.Tensor,
                    crop_size) -> tf.Tensor:
    """``tf.image.crop_and_resize(image, boxes, box_indices, crop_size)`` (bilinear,
    extrapolation value 0) in gathers and arithmetic: (B, H, W, C) map, (N, 4) normalised
    boxes, (N,) batch indices -> (N, ch, cw, C)."""
    levels = tf.zeros_like(box_indices, tf.int32)
    return pyramid_crop_and_resize([image], boxes, box_indices, levels, crop_size)


def pyramid_crop_and_resize(feature_maps, boxes: tf.Tensor, box_indices: tf.Tensor,
                            levels: tf.Tensor, crop_size, crop_boxes=None) -> tf.Tensor:
    """Each box cropped from its own level: ``crop_and_resize(feature_maps[levels[i]],
    crop_boxes(boxes, height, width)[i], ...)`` for every box at once, from the maps
    flattened into one table. No grouping by level, so no empty tensors (which TFLite's
    XNNPACK delegate cannot reshape). ``crop_boxes(boxes, heights, widths)`` maps the boxes
    given each box's map size (None: as they are). Returns (N, ch, cw, C) float32."""
    tables, sizes, offset = [], [], 0
    for feature_map in feature_maps:
        shape = tf.shape(feature_map)
        tables.append(tf.reshape(tf.cast(feature_map, tf.float32), [-1, feature_map.shape[-1]]))
        sizes.append(tf.stack([shape[1], shape[2], offset]))
        offset += shape[0] * shape[1] * shape[2]
    per_box = tf.gather(tf.stack(sizes), levels)
    height, width, base = per_box[:, 0], per_box[:, 1], per_box[:, 2]
    boxes = tf.cast(boxes, tf.float32)
    if crop_boxes is not None:
        boxes = crop_boxes(boxes, height, width)
    y1, x1, y2, x2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    ys, y_inside = _sample_points(y1, y2, height, crop_size[0])  # (N, ch)
    xs, x_inside = _sample_points(x1, x2, width, crop_size[1])  # (N, cw)
    top, left = tf.floor(ys), tf.floor(xs)
    y_lerp, x_lerp = (ys - top)[:, :, None, None], (xs - left)[:, None, :, None]
    rows = [_clamped_index(v, height) for v in (top, tf.math.ceil(ys))]
    cols = [_clamped_index(v, width) for v in (left, tf.math.ceil(xs))]
    table = tf.concat(tables, axis=0) if len(tables) > 1 else tables[0]
    start = (base + tf.cast(box_indices, tf.int32) * height * width)[:, None, None]
    row_width = width[:, None, None]

    def at(row, col):  # (N, ch, cw, C)
        return tf.gather(table, start + row[:, :, None] * row_width + col[:, None, :])

    top_row = at(rows[0], cols[0]) + (at(rows[0], cols[1]) - at(rows[0], cols[0])) * x_lerp
    bottom = at(rows[1], cols[0]) + (at(rows[1], cols[1]) - at(rows[1], cols[0])) * x_lerp
    out = top_row + (bottom - top_row) * y_lerp
    inside = (y_inside[:, :, None] & x_inside[:, None, :])[..., None]
    return tf.where(inside, out, 0.0)


def _sample_points(start, end, size, count: int):
    """crop_and_resize's sample coordinates along one axis of maps of ``size`` (N,) pixels:
    (N, count) floats and whether each falls on its map."""
    last = tf.cast(size - 1, tf.float32)
    if count > 1:
        scale = (end - start) * last / (count - 1)
        points = (start * last)[:, None] + tf.range(count, dtype=tf.float32)[None] * scale[:, None]
    else:
        points = (0.5 * (start + end) * last)[:, None]
    return points, (points >= 0.0) & (points <= last[:, None])


def _clamped_index(points, size):
    last = tf.cast(size - 1, tf.float32)[:, None]
    return tf.cast(tf.clip_by_value(points, 0.0, last), tf.int32)


def separate_empty_boxes(boxes: tf.Tensor) -> tf.Tensor:
    """(N, 4) boxes as NMS should see them: each box of zero area (corners in either order,
    as NMS takes them) replaced by a unit box of its own beyond all the others, so that it
    overlaps nothing, as TensorFlow's NMS treats it (it never suppresses and is never
    suppressed). Gather the kept indices from the original boxes."""
    area = tf.abs((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    start = 4.0 + 2.0 * tf.reduce_max(tf.abs(boxes))
    offset = start + 2.0 * tf.range(tf.shape(boxes)[0], dtype=boxes.dtype)
    apart = tf.stack([offset, offset, offset + 1.0, offset + 1.0], axis=1)
    return tf.where((area > 0)[:, None], boxes, apart)


def combined_non_max_suppression(boxes, scores, max_output_size_per_class, max_total_size,
                                 iou_threshold, score_threshold, pad_per_class=False,
                                 clip_boxes=False) -> NMSResult:
    """``tf.image.combined_non_max_suppression`` for ``max_output_size_per_class ==
    max_total_size`` without padding per class or clipping, in single-class NMS.

    boxes (B, N, q, 4) with q = 1 (shared by all classes) or q = classes, in [0, 1];
    scores (B, N, classes). Per image, every (box, class) pair is a candidate; each class's
    boxes are shifted by twice the class index so that boxes of different classes never
    overlap, and one greedy NMS over all candidates then keeps, per class, what per-class NMS
    keeps, best first across classes. Returns boxes (B, K, 4), scores (B, K), classes (B, K)
    (float class index), valid counts (B,), zeros after the last detection."""
    if pad_per_class or clip_boxes or max_output_size_per_class != max_total_size:
        raise ValueError("the portable combined NMS takes max_output_size_per_class == "
                         "max_total_size, pad_per_class=False and clip_boxes=False")
    k = int(max_total_size)
    classes = scores.shape[-1]

    def one_image(args):
        image_boxes, image_scores = args  # (N, q, 4), (N, classes)
        image_boxes = tf.reshape(tf.broadcast_to(
            image_boxes, [tf.shape(image_boxes)[0], classes, 4]), [-1, 4])
        class_index = tf.tile(tf.range(classes, dtype=tf.float32), [tf.shape(image_scores)[0]])
        flat_scores = tf.reshape(image_scores, [-1])
        # Padded to k with the count apart: TFLite's NMS always returns k indices.
        keep, kept_scores, count = tf.raw_ops.NonMaxSuppressionV5(
            boxes=separate_empty_boxes(image_boxes + 2.0 * class_index[:, None]),
            scores=flat_scores,
            max_output_size=k, iou_threshold=iou_threshold, score_threshold=score_threshold,
            soft_nms_sigma=0.0, pad_to_max_output_size=True)
        valid = tf.range(k) < count
        return (tf.where(valid[:, None], tf.gather(image_boxes, keep), 0.0),
                tf.where(valid, kept_scores, 0.0),
                tf.where(valid, tf.gather(class_index, keep), 0.0), count)

    signature = (tf.TensorSpec([k, 4]), tf.TensorSpec([k]), tf.TensorSpec([k]),
                 tf.TensorSpec([], tf.int32))
    out = tf.map_fn(one_image, (tf.cast(boxes, tf.float32), tf.cast(scores, tf.float32)),
                    fn_output_signature=signature)
    return NMSResult(*out)
