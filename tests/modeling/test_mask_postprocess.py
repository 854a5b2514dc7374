"""Mask-level duplicate suppression against a brute-force reference on whole-image masks."""
import numpy as np
import pytest

from maskrcnn.data.box_masks import BoxMasks
from maskrcnn.modeling.mask_postprocess import duplicate_detections


def reference(masks, class_ids, scores, iou_threshold, containment, across_classes=None):
    """Greedy by score over (H, W, N) masks, every pair compared on the whole image."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    kept, duplicate = [], np.zeros(len(scores), bool)
    for i in order:
        a = masks[..., i]
        for j in kept:
            b = masks[..., j]
            inter = np.logical_and(a, b).sum()
            union = np.logical_or(a, b).sum()
            if a.sum() == 0 or inter == 0:
                continue
            if class_ids[i] != class_ids[j]:
                if across_classes is not None and inter / union >= across_classes:
                    duplicate[i] = True
                    break
                continue
            if (iou_threshold is not None and inter / union >= iou_threshold) or (
                    containment is not None and inter / a.sum() >= containment):
                duplicate[i] = True
                break
        if not duplicate[i]:
            kept.append(i)
    return duplicate


def run(masks, class_ids, scores, iou=0.5, containment=0.8, across=None):
    boxed = BoxMasks.from_full(masks)
    return duplicate_detections(boxed.boxes, boxed.crop, class_ids, scores, iou, containment,
                                across)


def square(h, w, y1, x1, y2, x2):
    mask = np.zeros((h, w), bool)
    mask[y1:y2, x1:x2] = True
    return mask


def test_known_cases():
    whole = square(40, 40, 5, 5, 25, 25)
    part = square(40, 40, 6, 6, 14, 14)           # inside the whole: IoU 0.16
    shifted = square(40, 40, 7, 7, 27, 27)        # IoU 0.68 with the whole
    apart = square(40, 40, 30, 30, 38, 38)
    masks = np.stack([whole, part, shifted, apart], -1)
    # the part and the shifted copy repeat the whole; the far square is another object
    assert run(masks, [1, 1, 1, 1], [0.9, 0.8, 0.7, 0.6]).tolist() == [False, True, True, False]
    # another class is another object, wherever it lies, unless the rule across classes
    # is on: then the shifted copy (IoU 0.68) is one object with two labels at 0.6, not
    # at 0.7, and the part inside the whole (IoU 0.16) stays whatever its class
    assert not run(masks, [1, 2, 2, 1], [0.9, 0.8, 0.7, 0.6]).any()
    assert run(masks, [1, 2, 2, 1], [0.9, 0.8, 0.7, 0.6], across=0.6).tolist() == [
        False, False, True, False]
    assert not run(masks, [1, 2, 2, 1], [0.9, 0.8, 0.7, 0.6], across=0.7).any()
    assert run(masks, [1, 2, 2, 1], [0.9, 0.8, 0.7, 0.6], None, None, 0.6).tolist() == [
        False, False, True, False]
    # a higher-scoring part does not remove the whole (only a lower-scoring part is a repeat)
    assert run(masks[..., :2], [1, 1], [0.5, 0.9]).tolist() == [False, False]
    # switched off
    assert not run(masks, [1, 1, 1, 1], [0.9, 0.8, 0.7, 0.6], None, None).any()
    # containment only: the shifted copy (86 % inside) goes, IoU alone would not drop the part
    assert run(masks, [1] * 4, [0.9, 0.8, 0.7, 0.6], None, 0.8).tolist() == [
        False, True, True, False]
    assert run(masks, [1] * 4, [0.9, 0.8, 0.7, 0.6], 0.5, None).tolist() == [
        False, False, True, False]


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_whole_image_reference(seed):
    rng = np.random.default_rng(seed)
    h, w, n = 48, 56, 14
    masks = np.zeros((h, w, n), bool)
    for k in range(n):
        y1, x1 = rng.integers(0, h - 4), rng.integers(0, w - 4)
        y2, x2 = y1 + rng.integers(2, 20), x1 + rng.integers(2, 20)
        masks[y1:y2, x1:x2, k] = rng.random((min(y2, h) - y1, min(x2, w) - x1)) < 0.85
    for k in range(n // 2, n):  # near copies of earlier detections, of any class
        dy, dx = rng.integers(-2, 3, size=2)
        masks[..., k] = np.roll(masks[..., k - n // 2], (dy, dx), axis=(0, 1))
    class_ids = rng.integers(1, 3, size=n)
    scores = rng.permutation(np.linspace(0.3, 0.99, n))
    for iou, containment, across in ((0.5, 0.8, None), (0.3, None, None), (None, 0.5, None),
                                     (0.5, 0.8, 0.3), (None, None, 0.5)):
        expected = reference(masks, class_ids, scores, iou, containment, across)
        assert run(masks, class_ids, scores, iou, containment, across).tolist() == \
            expected.tolist()


def test_a_higher_threshold_keeps_a_subset():
    """Greedy by score: the detections above a threshold fare as when detected alone."""
    rng = np.random.default_rng(7)
    masks = np.zeros((30, 30, 8), bool)
    for k in range(8):
        y, x = rng.integers(0, 20, size=2)
        masks[y:y + 10, x:x + 10, k] = True
    scores = np.linspace(0.95, 0.3, 8)
    everything = run(masks, [1] * 8, scores)
    top = run(masks[..., :5], [1] * 5, scores[:5])
    assert top.tolist() == everything[:5].tolist()
