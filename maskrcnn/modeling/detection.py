"""Detection: turn the box head's output on proposals into final, NMS'd detections."""
from __future__ import annotations

import tensorflow as tf

from . import portable
from .boxes import box_area, clip_boxes, decode_deltas


def refine_detections(rois: tf.Tensor, class_logits: tf.Tensor, deltas: tf.Tensor,
                      window: tf.Tensor, config) -> tf.Tensor:
    """Final detections of a batch (matterport's DetectionLayer, vectorised).

    rois (B, N, 4) normalised proposals; class_logits (B, N, C); deltas (B, N, C, 4);
    window (B, 4) the normalised part of the padded image that holds the image.
    Config.DETECTION_CLASS_RULE says which (ROI, class) pairs are candidates: "argmax"
    (matterport): each ROI its most likely class, dropped when that is the background;
    "per_class" (torchvision, detectron2): every non-background class of every ROI, with
    that class's probability and box. Candidates scoring below DETECTION_MIN_CONFIDENCE and
    padding are dropped; NMS runs per class; the best DETECTION_MAX_INSTANCES remain.
    Returns (B, K, 6): y1, x1, y2, x2 (normalised), class id, score, best first, zero rows
    after the last detection.
    """
    probs = tf.nn.softmax(tf.cast(class_logits, tf.float32), axis=-1)
    num_classes = config.NUM_CLASSES
    if config.DETECTION_CLASS_RULE == "per_class":
        scores = probs[..., 1:]  # (B, N, C-1)
        boxes = decode_deltas(rois[:, :, None, :], tf.cast(deltas[:, :, 1:], tf.float32),
                              config.BBOX_STD_DEV)  # (B, N, C-1, 4)
    else:
        class_ids = tf.argmax(probs, axis=-1, output_type=tf.int32)
        picked = tf.gather(tf.cast(deltas, tf.float32), class_ids, batch_dims=2)
        boxes = decode_deltas(rois, picked, config.BBOX_STD_DEV)[:, :, None, :]
        # Only the ROI's own class scores: per-class NMS of all classes in one batched op.
        # A comparison, not tf.one_hot: ONNX's OneHot counts the background's index -1
        # from the end (the last class) where TensorFlow's gives zeros.
        own = tf.equal(tf.expand_dims(class_ids, -1) - 1, tf.range(num_classes - 1))
        scores = tf.cast(own, tf.float32) * tf.reduce_max(probs, axis=-1)[..., None]
    boxes = clip_boxes(boxes, window[:, None, None, :])
    keep = ((scores >= config.DETECTION_MIN_CONFIDENCE) & (box_area(boxes) > 0)
            & (box_area(rois) > 0)[..., None])
    k = config.DETECTION_MAX_INSTANCES
    nms = (portable.combined_non_max_suppression if portable.enabled()
           else tf.image.combined_non_max_suppression)(
        boxes, tf.where(keep, scores, 0.0), max_output_size_per_class=k, max_total_size=k,
        iou_threshold=config.DETECTION_NMS_THRESHOLD,
        score_threshold=max(float(config.DETECTION_MIN_CONFIDENCE), 1e-7),
        pad_per_class=False, clip_boxes=False)
    valid = tf.sequence_mask(nms.valid_detections, k)
    classes = tf.where(valid, nms.nmsed_classes + 1.0, 0.0)
    # expand_dims, not [..., None]: tf2onnx cannot slice the portable NMS loop's outputs.
    out = tf.concat([nms.nmsed_boxes, tf.expand_dims(classes, -1),
                     tf.expand_dims(nms.nmsed_scores, -1)], axis=-1)
    return out * tf.expand_dims(tf.cast(valid, out.dtype), -1)
