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


def best_count_threshold(scores, truth, lowest: float = 0.0,
                         max_candidates: int = 4096) -> Counting:
    """The threshold, not below ``lowest``, with the smallest mean count error.

    Every threshold between two neighbouring distinct scores counts the same detections, so
    the candidates are the midpoints between them (robust to small score changes), the midpoint
    between the lowest score and ``lowest``, and one just above the highest score (count
    nothing); with more than ``max_candidates`` distinct scores, that many spread evenly over
    their ranks. Ties go to the highest threshold. ``lowest`` is the score down to which
    ``scores`` were kept (below it nothing is known).
    """
    truth = np.asarray(truth, dtype=np.int64).reshape(-1)
    ranked = [np.sort(np.asarray(s, dtype=np.float64).reshape(-1)) for s in scores]
    if len(ranked) != truth.size:
        raise ValueError(f"{len(ranked)} score arrays for {truth.size} true counts")
    pooled = np.concatenate(ranked + [np.zeros(0)])
    distinct = np.unique(pooled[pooled >= lowest])[::-1]  # descending
    if distinct.size == 0:
        return count_at(scores, truth, max(float(lowest), 0.5))
    if distinct.size > max_candidates:
        distinct = distinct[np.linspace(0, distinct.size - 1, max_candidates).astype(int)]
    below = np.append(distinct[1:], lowest)
    candidates = np.where(below < distinct, (distinct + below) / 2, distinct)
    candidates = np.append(np.nextafter(distinct[0], np.inf), candidates)  # high to low
    total = np.zeros(candidates.size)
    for image_scores, true in zip(ranked, truth):
        counted = image_scores.size - np.searchsorted(image_scores, candidates, side="left")
        total += np.abs(counted - true) / max(int(true), 1)
    best = int(np.flatnonzero(total <= total.min() + 1e-9)[0])
    return count_at(scores, truth, float(candidates[best]))
