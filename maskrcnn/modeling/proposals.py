"""Proposals: the RPN's best anchors, refined by their deltas and thinned by NMS."""
from __future__ import annotations

import tensorflow as tf

from . import portable
from .boxes import clip_boxes, decode_deltas


def generate_proposals(object_scores: tf.Tensor, deltas: tf.Tensor, anchors: tf.Tensor,
                       count: int, pre_nms_limit: int, nms_threshold: float,
                       std_dev) -> tf.Tensor:
    """Top proposals of each image.

    object_scores (B, A) object probability; deltas (B, A, 4); anchors (A, 4) normalised.
    Returns (B, count, 4) normalised boxes, best first, zero rows where NMS left fewer.
    No gradient flows through proposals (they are where the heads look, not what they learn).
    """
    object_scores = tf.stop_gradient(tf.cast(object_scores, tf.float32))
    deltas = tf.stop_gradient(tf.cast(deltas, tf.float32))
    k = tf.minimum(pre_nms_limit, tf.shape(anchors)[0])
    scores, index = tf.math.top_k(object_scores, k=k, sorted=True)
    boxes = decode_deltas(tf.gather(anchors, index), tf.gather(deltas, index, batch_dims=1),
                          std_dev)
    boxes = clip_boxes(boxes, tf.constant([0.0, 0.0, 1.0, 1.0]))

    def nms_one(args):
        b, s = args
        # padded to ``count`` with the number kept: TFLite's NMS always returns ``count``
        # indices (index 0 in the unused slots), so the rows past the kept ones are zeroed
        # boxes clipped to nothing break TFLite's NMS: moved apart while exporting
        nms_boxes = portable.separate_empty_boxes(b) if portable.enabled() else b
        keep, kept = tf.raw_ops.NonMaxSuppressionV4(
            boxes=nms_boxes, scores=s, max_output_size=count, iou_threshold=nms_threshold,
            score_threshold=float("-inf"), pad_to_max_output_size=True)
        return tf.where((tf.range(count) < kept)[:, None], tf.gather(b, keep), 0.0)

    out = tf.map_fn(nms_one, (boxes, scores), fn_output_signature=tf.TensorSpec([count, 4]))
    return tf.stop_gradient(out)
