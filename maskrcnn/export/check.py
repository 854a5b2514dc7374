"""Does an exported file detect what its checkpoint detects? ``compare_detections`` runs both
on the user's own images and pairs their detections.

Each detection of the checkpoint is paired with the exported model's nearest one of the same
class (largest box side difference, in pixels); an image is "same" when both found as many
detections, every pair's box is within ``box_pixels``, its score within ``score_delta`` and
its mask IoU at least ``mask_iou``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: What "the same detections" allows: float32 runtimes differ by rounding only.
BOX_PIXELS, SCORE_DELTA, MASK_IOU = 1.0, 1e-3, 0.98


def pair_detections(expected: dict, got: dict) -> list[tuple[int, int | None]]:
    """(index in ``expected``, index in ``got`` or None) for each expected detection: the
    nearest unpaired detection of the same class in ``got``."""
    taken: set[int] = set()
    pairs = []
    for i, (roi, class_id) in enumerate(zip(expected["rois"], expected["class_ids"])):
        cost = np.abs(np.asarray(got["rois"], np.float64) - roi).max(axis=1, initial=0) \
            if len(got["rois"]) else np.zeros(0)
        cost = np.where(np.asarray(got["class_ids"]) == class_id, cost, np.inf)
        cost[list(taken)] = np.inf
        j = int(np.argmin(cost)) if cost.size and np.isfinite(cost.min()) else None
        if j is not None:
            taken.add(j)
        pairs.append((i, j))
    return pairs


def compare_detections(expected: list[dict], got: list[dict], names: list[str],
                       box_pixels: float = BOX_PIXELS, score_delta: float = SCORE_DELTA,
                       mask_iou: float = MASK_IOU) -> pd.DataFrame:
    """One row per image: detections of each side, the largest box and score differences,
    the smallest mask IoU over paired detections, and ``same`` (bool)."""
    rows = []
    for name, a, b in zip(names, expected, got):
        pairs = pair_detections(a, b)
        box = score = 0.0
        iou = 1.0
        unpaired = sum(j is None for _, j in pairs)
        for i, j in pairs:
            if j is None:
                continue
            box = max(box, float(np.abs(np.asarray(a["rois"][i], float)
                                        - np.asarray(b["rois"][j], float)).max()))
            score = max(score, abs(float(a["scores"][i]) - float(b["scores"][j])))
            ma, mb = np.asarray(a["masks"][..., i]), np.asarray(b["masks"][..., j])
            union = np.logical_or(ma, mb).sum()
            iou = min(iou, 1.0 if union == 0 else float(np.logical_and(ma, mb).sum() / union))
        same = (len(a["scores"]) == len(b["scores"]) and unpaired == 0 and box <= box_pixels
                and score <= score_delta and iou >= mask_iou)
        rows.append({"image": name, "checkpoint": len(a["scores"]), "exported": len(b["scores"]),
                     "unpaired": unpaired, "max_box_px": box, "max_score_delta": score,
                     "min_mask_iou": iou, "same": same})
    return pd.DataFrame(rows)
