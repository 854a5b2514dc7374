"""Proposals against a numpy re-derivation: top-k by score, deltas applied, clipped to the
image, greedy NMS, padded with zero rows."""
import numpy as np
import tensorflow as tf

from maskrcnn.modeling.proposals import generate_proposals

STD = np.array([0.1, 0.1, 0.2, 0.2])


def numpy_proposals(scores, deltas, anchors, count, limit, threshold):
    order = np.argsort(-scores, kind="stable")[:limit]
    a, d = anchors[order].astype(np.float64), deltas[order] * STD
    h, w = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    cy, cx = a[:, 0] + 0.5 * h + d[:, 0] * h, a[:, 1] + 0.5 * w + d[:, 1] * w
    h, w = h * np.exp(d[:, 2]), w * np.exp(d[:, 3])
    boxes = np.clip(np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 1), 0, 1)
    keep = []
    for i in range(len(boxes)):
        if len(keep) == count:
            break
        y1 = np.maximum(boxes[i, 0], boxes[keep, 0])
        x1 = np.maximum(boxes[i, 1], boxes[keep, 1])
        y2 = np.minimum(boxes[i, 2], boxes[keep, 2])
        x2 = np.minimum(boxes[i, 3], boxes[keep, 3])
        inter = np.maximum(y2 - y1, 0) * np.maximum(x2 - x1, 0)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        iou = inter / (area(boxes[i]) + area(boxes[keep]) - inter + 1e-12)
        if not keep or iou.max() <= threshold:
            keep.append(i)
    out = np.zeros((count, 4))
    out[:len(keep)] = boxes[keep]
    return out


def test_generate_proposals_equals_the_numpy_reference():
    rng = np.random.default_rng(0)
    n = 300
    centres = rng.uniform(0.1, 0.9, (n, 2))
    sides = rng.uniform(0.05, 0.4, (n, 2))
    anchors = np.concatenate([centres - sides / 2, centres + sides / 2], 1).astype(np.float32)
    scores = rng.permutation(n).astype(np.float32) / n  # distinct: one order
    deltas = rng.normal(0, 1, (n, 4)).astype(np.float32)
    for count, limit, threshold in ((50, 200, 0.7), (400, 300, 0.3)):
        got = generate_proposals(tf.constant(scores[None]), tf.constant(deltas[None]),
                                 tf.constant(anchors), count, limit, threshold, STD).numpy()[0]
        want = numpy_proposals(scores, deltas, anchors, count, limit, threshold)
        assert (np.abs(want).sum(1) > 0).sum() == (np.abs(got).sum(1) > 0).sum()
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert (np.abs(got).sum(1) == 0).any()  # fewer survive NMS than count: zero padding
