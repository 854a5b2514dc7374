"""The operating point: the score threshold at which a model's counts are right, chosen on
images whose counts are known.

Users read counts and area shares, and a detector's scores say nothing about where counting
should start: a model trained for 20 minutes on 60 photos counted 339 objects for 240 at the
default 0.7. :func:`calibrate` detects on a dataset down to score 0.05, takes the threshold
with the smallest mean per-image count error (ties: the highest F1 at mask IoU 0.5; see
:func:`~maskrcnn.evaluation.counting.best_count_threshold`) and sets the model's
``DETECTION_MIN_CONFIDENCE`` to it. The :class:`Calibration` record travels in the
checkpoint, and detection, evaluation and export use the threshold unless told otherwise.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..errors import DatasetError
from .evaluate import evaluate_model

#: What a calibration was chosen on: the user's validation split, or the training images
#: when there is none (no images held back from a small dataset; see the issue-33 note in
#: benchmarks/bench_real_data.py for the measurement behind that choice).
SOURCES = ("validation", "training", "dataset")


@dataclass
class Calibration:
    """A chosen operating threshold and what it gave on the images it was chosen on.

    threshold: the score from which detections count (DETECTION_MIN_CONFIDENCE).
    source: "validation", "training" or "dataset" (``maskrcnn calibrate``); images: how many.
    mean_count_error: mean relative per-image count error there (0.1 = 10 %);
    within_10_percent: images counted within 10 %; f1: F1 at mask IoU 0.5.
    previous, previous_error: the threshold before and its mean count error there.
    """
    threshold: float
    source: str
    images: int
    mean_count_error: float
    within_10_percent: int
    f1: float
    previous: float
    previous_error: float

    def describe(self) -> str:
        """One line for the training summary, ``detect`` and ``evaluate``."""
        images = {"dataset": "images whose counts were given"}.get(
            self.source, f"{self.source} images")
        return (f"score threshold {self.threshold:.3f}, calibrated on {self.images} "
                f"{images}: mean count error {100 * self.mean_count_error:.0f} % "
                f"({self.within_10_percent}/{self.images} within 10 %, F1 "
                f"{100 * self.f1:.0f} %), where {self.previous:.3f} gave "
                f"{100 * self.previous_error:.0f} %")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Calibration | None:
        """The record a checkpoint carries, or None for one without (or an unreadable one)."""
        if not text:
            return None
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            return None


def calibrate(model, dataset, source: str = "dataset", limit: int | None = None,
              progress: bool = False) -> Calibration:
    """Choose ``model``'s operating threshold on ``dataset`` (images whose counts are known)
    and set ``model.config.DETECTION_MIN_CONFIDENCE`` to it. ``model``: anything
    :func:`~maskrcnn.evaluation.evaluate_model` takes that has a ``config``. ``source`` says
    what the images are (:data:`SOURCES`); ``limit``: the first ``limit`` images only.
    Raises DatasetError when no image has an object (nothing to calibrate on)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    result = evaluate_model(model, dataset, limit=limit, verbose=False, progress=progress)
    if not result.per_image["n_gt"].gt(0).any():
        raise DatasetError(f"none of the {len(result.per_image)} {source} images has an "
                           "annotated object: the threshold cannot be calibrated on them")
    best, before = result.best_counting(), result.counting()
    calibration = Calibration(
        threshold=float(best.threshold), source=source, images=int(best.truth.size),
        mean_count_error=best.mean_error, within_10_percent=best.within_10_percent,
        f1=result.f1(best.threshold)[2], previous=float(before.threshold),
        previous_error=before.mean_error)
    model.config.DETECTION_MIN_CONFIDENCE = calibration.threshold
    return calibration
