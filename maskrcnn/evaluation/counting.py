"""Counting objects with a detector: how far the per-image counts are from the truth, and the
score threshold at which they come closest.

``scores`` is one 1-D array per image: the scores of that image's detections (all classes
together). A detection counts when its score is >= the threshold. The count error of an image
is ``|counted - true| / max(true, 1)`` (relative; an image without objects counts each false
detection as 100 %).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Counting:
    """Counts at one score threshold.

    threshold: score from which a detection counts.
    counts, truth: (images,) int, counted and true objects per image.
    errors: (images,) relative count error per image (see the module docstring).
    """
    threshold: float
    counts: np.ndarray
    truth: np.ndarray
    errors: np.ndarray

    @property
    def mean_error(self) -> float:
        """Mean relative count error over the images (0.25 = 25 %)."""
        return float(self.errors.mean()) if self.errors.size else float("nan")

    @property
    def within_10_percent(self) -> int:
        """Images whose count is within 10 % of the truth."""
        return int(np.count_nonzero(self.errors <= 0.10 + 1e-9))

    def __str__(self) -> str:
        return (f"score >= {self.threshold:.3f}: {int(self.counts.sum())} counted, "
                f"{int(self.truth.sum())} true, mean count error "
                f"{100 * self.mean_error:.0f} % a picture, {self.within_10_percent}/"
                f"{self.errors.size} pictures within 10 %")


def count_at(scores, truth, threshold: float) -> Counting:
    """Counts and errors when detections with score >= ``threshold`` count."""
    truth = np.asarray(truth, dtype=np.int64).reshape(-1)
    if len(scores) != truth.size:
        raise ValueError(f"{len(scores)} score arrays for {truth.size} true counts")
    counts = np.array([np.count_nonzero(np.asarray(s) >= threshold) for s in scores],
                      dtype=np.int64)
    errors = np.abs(counts - truth) / np.maximum(truth, 1)
    return Counting(float(threshold), counts, truth, errors)


def best_count_threshold(scores, truth, lowest: float = 0.0, matched=None,
                         max_candidates: int = 4096) -> Counting:
    """The threshold, not below ``lowest``, with the smallest mean count error; among equal
    errors the one with the highest F1 (when ``matched`` is given), then the highest.

    Every threshold between two neighbouring distinct scores counts the same detections, so
    the candidates are the midpoints between them (robust to small score changes), the midpoint
    between the lowest score and ``lowest``, and one just above the highest score (count
    nothing); with more than ``max_candidates`` distinct scores, that many spread evenly over
    their ranks. ``lowest`` is the score down to which ``scores`` were kept (below it
    nothing is known). ``matched``: per image, (N,) bool aligned with its scores, True for a
    detection that matches an object (mask IoU >= 0.5); F1 = 2 TP / (counted + true).
    """
    truth = np.asarray(truth, dtype=np.int64).reshape(-1)
    scores = [np.asarray(s, dtype=np.float64).reshape(-1) for s in scores]
    if len(scores) != truth.size:
        raise ValueError(f"{len(scores)} score arrays for {truth.size} true counts")
    pooled = np.concatenate(scores + [np.zeros(0)])
    distinct = np.unique(pooled[pooled >= lowest])[::-1]  # descending
    if distinct.size == 0:
        return count_at(scores, truth, max(float(lowest), 0.5))
    if distinct.size > max_candidates:
        distinct = distinct[np.linspace(0, distinct.size - 1, max_candidates).astype(int)]
    below = np.append(distinct[1:], lowest)
    candidates = np.where(below < distinct, (distinct + below) / 2, distinct)
    candidates = np.append(np.nextafter(distinct[0], np.inf), candidates)  # high to low
    error, true_positives, counted_all = (np.zeros(candidates.size) for _ in range(3))
    for k, (image_scores, true) in enumerate(zip(scores, truth)):
        order = np.argsort(image_scores, kind="stable")
        ranked = image_scores[order]
        counted = ranked.size - np.searchsorted(ranked, candidates, side="left")
        error += np.abs(counted - true) / max(int(true), 1)
        counted_all += counted
        if matched is not None:
            hits = np.asarray(matched[k], bool).reshape(-1)[order][::-1]  # best score first
            cumulative = np.concatenate([[0], np.cumsum(hits)])
            true_positives += cumulative[counted]
    f1 = 2 * true_positives / np.maximum(counted_all + truth.sum(), 1)
    tied = np.flatnonzero(error <= error.min() + 1e-9)
    best = int(tied[np.argmax(f1[tied])])  # the first (highest threshold) of equal F1s
    return count_at(scores, truth, float(candidates[best]))


def f1_at(scores, truth, matched, threshold: float) -> float:
    """F1 of the detections with score >= ``threshold``: 2 TP / (counted + true), with TP
    the counted detections that ``matched`` marks (see :func:`best_count_threshold`)."""
    counted = sum(int(np.count_nonzero(np.asarray(s) >= threshold)) for s in scores)
    hits = sum(int(np.count_nonzero(np.asarray(m, bool) & (np.asarray(s) >= threshold)))
               for s, m in zip(scores, matched))
    return 2 * hits / max(counted + int(np.sum(truth)), 1)


# ------------------------------------------------------------------ where counts go wrong
#: What each detection at the operating threshold is, against the annotations of its image:
#: ``correct`` (mask IoU >= 0.5 with an object no higher-scoring detection took),
#: ``duplicate`` (IoU >= 0.5 with, or most of its pixels on, an object already counted),
#: ``fragment`` (most of its pixels on one object it does not match: a part of it),
#: ``merged`` (covers most of two or more objects), ``ignore_region`` (most of its pixels in a
#: crowd or ``__ignore__`` region), ``background`` (on no annotated object).
DETECTION_KINDS = ("correct", "duplicate", "fragment", "merged", "ignore_region", "background")


def classify_detections(gt_masks, gt_class_ids, pred_masks, pred_scores,
                        iou_threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Sort one image's detections into :data:`DETECTION_KINDS`, all classes together (a
    count is of objects, whatever their class).

    gt_masks (H, W, G) bool with gt_class_ids (G,) (negative: crowd / ignore regions);
    pred_masks (H, W, P) bool, pred_scores (P,). Detections are judged best score first.
    Returns kinds (P,) str in the input order and missed (G,) bool: the objects that no
    detection matched (crowd regions never are missed). Then ``counted - true`` = duplicates
    + fragments + merged + ignore_region + background - missed (+ the extra objects of
    merged detections, which stay one count each).
    """
    from .voc import mask_intersections

    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    scores = np.asarray(pred_scores, np.float64).reshape(-1)
    kinds = np.full(scores.size, "background", dtype=object)
    real = gt_class_ids > 0
    missed = real.copy()
    if scores.size == 0 or gt_class_ids.size == 0:
        return kinds.astype(str), missed
    inter, pred_area, gt_area = mask_intersections(pred_masks, gt_masks)
    iou = inter / np.maximum(pred_area[:, None] + gt_area[None, :] - inter, 1e-9)
    on = inter / np.maximum(pred_area[:, None], 1e-9)       # share of the detection
    covers = inter / np.maximum(gt_area[None, :], 1e-9)     # share of the object
    matched = np.zeros(gt_class_ids.size, bool)
    for p in np.argsort(-scores, kind="stable"):
        best_iou = np.where(real, iou[p], -1.0)
        g = int(np.argmax(best_iou))
        if best_iou[g] >= iou_threshold:
            kinds[p] = "duplicate" if matched[g] else "correct"
            matched[g] = True
            continue
        if np.count_nonzero(real & (covers[p] >= 0.5)) >= 2:
            kinds[p] = "merged"
            continue
        most = np.where(real, on[p], -1.0)
        g = int(np.argmax(most))
        if most[g] >= 0.5:
            kinds[p] = "duplicate" if matched[g] else "fragment"
        elif (~real).any() and on[p][~real].sum() >= 0.5:
            kinds[p] = "ignore_region"
    missed &= ~matched
    return kinds.astype(str), missed
