"""After the mask head: detections that count one object twice, judged on the pasted masks
(numpy, in image pixels).

Box NMS (``refine_detections``) compares boxes; two detections of one object can have boxes
that overlap little (a part and the whole) while their masks say they are one object.

Masks come as ``boxes`` (N, 4) int y1, x1, y2, x2 (image pixels, exclusive ends) and
``crop(k)``, the bool mask of detection ``k`` inside its box (what
:class:`~maskrcnn.data.box_masks.BoxMasks` holds).
"""
from __future__ import annotations

import numpy as np


def duplicate_detections(boxes, crop, class_ids, scores, iou_threshold: float | None,
                         containment: float | None,
                         across_classes: float | None = None) -> np.ndarray:
    """(N,) bool: True for a detection that repeats a higher-scoring kept detection: of its
    own class, mask IoU >= ``iou_threshold`` or at least ``containment`` of its own mask
    pixels inside the other's mask (a fragment of an object already counted); of another
    class, mask IoU >= ``across_classes`` (one object given two labels). Greedy by score
    (ties: input order), so a detection's fate depends only on the detections above it and
    a higher threshold keeps a subset. None switches a rule off."""
    boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
    n = len(boxes)
    duplicate = np.zeros(n, bool)
    if n < 2 or (iou_threshold is None and containment is None and across_classes is None):
        return duplicate
    class_ids, scores = np.asarray(class_ids), np.asarray(scores, np.float64)
    crops = [crop(k) for k in range(n)]
    areas = np.array([int(c.sum()) for c in crops], np.int64)
    # pairs that can share a pixel: overlapping boxes, of one class unless the rule across
    # classes is on (one numpy pass)
    low = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    high = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    same_class = class_ids[:, None] == class_ids[None, :]
    candidates = np.all(high > low, axis=-1) & (areas[:, None] > 0)
    if across_classes is None:
        candidates &= same_class
    kept = np.zeros(n, bool)
    for i in np.argsort(-scores, kind="stable"):
        for j in np.flatnonzero(candidates[i] & kept):
            inter = _intersection(boxes[i], crops[i], boxes[j], crops[j])
            iou = inter / (areas[i] + areas[j] - inter)
            if not same_class[i, j]:
                repeats = iou >= across_classes
            else:
                repeats = ((iou_threshold is not None and iou >= iou_threshold) or
                           (containment is not None and inter / areas[i] >= containment))
            if repeats:
                duplicate[i] = True
                break
        kept[i] = not duplicate[i]
    return duplicate


def _intersection(box_a, crop_a, box_b, crop_b) -> int:
    """Pixels in both masks, counted over the overlap of their boxes."""
    y1, x1 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    y2, x2 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if y2 <= y1 or x2 <= x1:
        return 0
    part_a = crop_a[y1 - box_a[0]:y2 - box_a[0], x1 - box_a[1]:x2 - box_a[1]]
    part_b = crop_b[y1 - box_b[0]:y2 - box_b[0], x1 - box_b[1]:x2 - box_b[1]]
    return int(np.count_nonzero(part_a & part_b))
