"""Evaluate a detector on a Dataset: per-image VOC AP (matterport style) and the COCO tables.

The model is used only through ``model.detect(images)``: a list of (H, W, 3) uint8 images in,
one dict per image out with ``rois`` (N, 4) y1, x1, y2, x2, ``class_ids`` (N,), ``scores`` (N,)
and ``masks`` (H, W, N) bool, all in original-image pixels.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.borders import touches_border
from ..data.convert import dataset_to_coco
from ..data.transforms import extract_bboxes
from ..errors import DatasetError
from ..progress import progress_bar
from .coco import CocoEvaluation, evaluate_coco, format_table, results_to_coco
from .counting import (
    DETECTION_KINDS,
    Counting,
    best_count_threshold,
    classify_detections,
    count_at,
    f1_at,
)
from .voc import compute_matches, evaluate_image


@dataclass
class EvaluationResult:
    """What :func:`evaluate_model` returns.

    per_image: DataFrame, one row per image: ``image_id`` (dataset id), ``reference``,
        ``AP50`` (VOC AP at ``iou_threshold``), ``AP`` (mean VOC AP over IoU 0.50:0.95),
        ``n_gt`` (non-crowd instances), ``n_pred``; AP is NaN for an image without ground truth.
    mAP50, mAP: means of those columns over the images that have ground truth (matterport).
    coco_bbox, coco_segm: :class:`~maskrcnn.evaluation.coco.CocoEvaluation` of the detections.
    confusion: (num_classes, num_classes) counts at ``iou_threshold``, rows ground truth,
        columns predicted, index 0 background (see ``plot_confusion_matrix``).
    class_names: the dataset's class names, index = class id.
    seconds_per_image: mean wall time of ``detect`` per image.
    detection_scores: one (N,) array per image (rows of ``per_image``): the scores of the
        image's detections of all classes, down to ``scored_from``.
    operating_threshold: the model's DETECTION_MIN_CONFIDENCE (None: it has no config).
    scored_from: the lowest score detected during the evaluation (None: as configured).
    detection_matched: one (N,) bool array per image, aligned with ``detection_scores``:
        the detection matches an object of its class at mask IoU >= ``iou_threshold``.

    ``per_image`` also says, at the operating threshold, what each counted detection is
    (``n_correct``, ``n_duplicate``, ``n_fragment``, ``n_merged``, ``n_ignore_region``,
    ``n_background``: :data:`~maskrcnn.evaluation.counting.DETECTION_KINDS`), ``n_missed``
    objects, ``n_wrong_at_border`` (detections not correct that touch the image border), and
    ``true_share`` / ``counted_share``, the share of the image's pixels the objects cover.
    """
    per_image: pd.DataFrame
    mAP50: float
    mAP: float
    coco_bbox: CocoEvaluation
    coco_segm: CocoEvaluation
    confusion: np.ndarray
    class_names: list
    iou_threshold: float = 0.5
    seconds_per_image: float = float("nan")
    detection_scores: list = field(default_factory=list)
    operating_threshold: float | None = None
    scored_from: float | None = None
    detection_matched: list = field(default_factory=list)

    def counting(self, threshold: float | None = None) -> Counting:
        """Per-image counts against the truth (``n_gt``) when detections with score >=
        ``threshold`` count (default: the operating threshold, else every detection)."""
        if threshold is None:
            threshold = self.operating_threshold if self.operating_threshold is not None \
                else -np.inf
        return count_at(self.detection_scores, self.per_image["n_gt"], threshold)

    def best_counting(self) -> Counting:
        """The score threshold at which these images' counts come closest to the truth.
        Chosen on these images, it flatters them: choose it on images the model was not
        trained on and judge it on others."""
        return best_count_threshold(self.detection_scores, self.per_image["n_gt"],
                                    lowest=self.scored_from or 0.0,
                                    matched=self.detection_matched or None)

    def f1(self, threshold: float | None = None) -> tuple[float, float, float]:
        """Precision, recall and F1 at mask IoU ``iou_threshold`` of the detections scoring
        at least ``threshold`` (default: the operating threshold), all images together."""
        threshold = self.counting(threshold).threshold
        counted = sum(int(np.count_nonzero(s >= threshold)) for s in self.detection_scores)
        hits = sum(int(np.count_nonzero(m & (s >= threshold)))
                   for s, m in zip(self.detection_scores, self.detection_matched))
        true = int(self.per_image["n_gt"].sum())
        return (hits / counted if counted else float("nan"), hits / true if true else
                float("nan"), f1_at(self.detection_scores, self.per_image["n_gt"],
                                    self.detection_matched, threshold))

    def threshold_curve(self, points: int = 200) -> pd.DataFrame:
        """Per score threshold (``points`` of them, evenly over the scores' ranks, from the
        lowest scored): mean count error, precision, recall and F1 (all as fractions)."""
        pooled = np.sort(np.concatenate([np.zeros(0)] + [np.asarray(s, np.float64)
                                                          for s in self.detection_scores]))
        low = self.scored_from or 0.0
        if pooled.size:
            grid = np.unique(pooled[np.linspace(0, pooled.size - 1, points).astype(int)])
        else:
            grid = np.array([max(low, 0.5)])
        rows = []
        for t in grid:
            precision, recall, f1 = self.f1(float(t))
            rows.append((float(t), self.counting(float(t)).mean_error, precision, recall, f1))
        return pd.DataFrame(rows, columns=["threshold", "mean_count_error", "precision",
                                           "recall", "f1"])

    def breakdown(self) -> pd.Series:
        """What the detections counted at the operating threshold are, all images together
        (see :data:`~maskrcnn.evaluation.counting.DETECTION_KINDS`), with the objects missed
        and the wrong detections that touch the border."""
        columns = [f"n_{k}" for k in DETECTION_KINDS] + ["n_missed", "n_wrong_at_border"]
        totals = self.per_image[columns].sum()
        return totals.rename(lambda c: c.removeprefix("n_"))

    def counts_table(self) -> pd.DataFrame:
        """Per image: true and counted objects at the operating threshold, the relative count
        error, and the true and counted share of the image's pixels (what counts.csv holds)."""
        counting = self.counting()
        return pd.DataFrame({
            "image_id": self.per_image["image_id"], "reference": self.per_image["reference"],
            "true_count": counting.truth, "counted": counting.counts,
            "count_error": counting.errors, "true_share": self.per_image["true_share"],
            "counted_share": self.per_image["counted_share"]})

    def per_class_ap(self) -> pd.DataFrame:
        """Per class (rows: the classes with ground truth or detections): COCO AP over IoU
        0.50:0.95 and AP at IoU 0.50, for boxes and for masks, in percent (the column names
        say so), and the number of (non-crowd) objects."""
        box, mask = self.coco_bbox.per_class, self.coco_segm.per_class
        if box is None or mask is None:
            raise ValueError("the COCO evaluation was run without per_class")
        return pd.DataFrame({
            "box AP (%)": box["AP"], "box AP50 (%)": box["AP50"],
            "mask AP (%)": mask["AP"], "mask AP50 (%)": mask["AP50"],
            "objects": mask["n_gt"]}).rename_axis("class")

    def coco_table(self) -> pd.DataFrame:
        """bbox and segm COCO summaries in one DataFrame (percent)."""
        return pd.concat([self.coco_bbox.summary, self.coco_segm.summary])

    def __repr__(self) -> str:
        lines = [f"{len(self.per_image)} images, "
                 f"{int(self.per_image['n_gt'].gt(0).sum())} with ground truth",
                 f"VOC mAP@{self.iou_threshold:.2f}: {100 * self.mAP50:.1f} %",
                 f"VOC mAP@[.50:.95]: {100 * self.mAP:.1f} %",
                 "COCO (percent):", format_table(self.coco_table())]
        if self.detection_scores and self.per_image["n_gt"].gt(0).any():
            best = self.best_counting()
            precision, recall, f1 = self.f1()
            kinds = self.breakdown()
            lines += [f"counts at the operating threshold, {self.counting()}",
                      f"  precision {100 * precision:.0f} %, recall {100 * recall:.0f} %, "
                      f"F1 {100 * f1:.0f} % (mask IoU >= {self.iou_threshold:.2f})",
                      "  the counted detections: " + ", ".join(
                          f"{int(kinds[k])} {k.replace('_', ' ')}" for k in DETECTION_KINDS)
                      + f"; {int(kinds['missed'])} objects missed; "
                      f"{int(kinds['wrong_at_border'])} of the wrong detections touch the "
                      "image border",
                      f"counts at the best threshold for these pictures, {best} (chosen on "
                      "these pictures: it flatters them; `maskrcnn calibrate` chooses one on "
                      "a validation split)"]
        notes = {e.note for e in (self.coco_bbox, self.coco_segm) if e.note}
        return "\n".join(lines + [f"note: {n}" for n in sorted(notes)])


def _select_image_ids(dataset, image_ids, limit):
    ids = np.asarray(dataset.image_ids if image_ids is None else image_ids, dtype=np.int64)
    ids = ids.reshape(-1)
    if limit is not None:
        ids = ids[:int(limit)]
    known = len(dataset.image_info)
    bad = ids[(ids < 0) | (ids >= known)]
    if bad.size:
        raise ValueError(f"image id {bad[0]} is not in the dataset (it has {known} images, "
                         f"ids 0..{known - 1})")
    if ids.size == 0:
        raise ValueError("no images to evaluate (empty image_ids or limit=0)")
    return ids


def _check_result(result, image, reference):
    """Fail early, naming the image, when ``detect`` returns something unusable."""
    missing = {"rois", "class_ids", "scores", "masks"} - set(result)
    if missing:
        raise ValueError(f"{reference}: detect() returned no {sorted(missing)}")
    masks = np.asarray(result["masks"])
    if masks.ndim != 3 or masks.shape[:2] != image.shape[:2]:
        raise ValueError(f"{reference}: detect() returned masks of shape {masks.shape}; they "
                         f"must be (H, W, N) at the image size {image.shape[:2]}")


def class_names_problem(model_names, dataset_names) -> str | None:
    """Why a model that knows ``model_names`` cannot be scored on a dataset of
    ``dataset_names`` (a class id must mean the same class in both; index 0, the
    background, is not compared), or None when they agree or the model has no names."""
    if not model_names:
        return None
    model_names, dataset_names = list(model_names), list(dataset_names)
    if model_names[1:] == dataset_names[1:]:
        return None
    differ = [(i, m, d) for i, (m, d) in enumerate(zip(model_names, dataset_names)) if i and m != d]
    first = (f"class id {differ[0][0]} is {differ[0][1]!r} for the model and {differ[0][2]!r} "
             "in the dataset" if differ else
             f"the model has {len(model_names)} classes, the dataset {len(dataset_names)}")
    return (f"the model's classes {model_names} are not the dataset's {dataset_names}: {first}. "
            "Evaluate on the dataset the model was trained for, or read this one with the "
            "model's classes in the model's order (e.g. the reader's class_names=)")


EVALUATION_MIN_CONFIDENCE = 0.05  # as torchvision and detectron2 evaluate


def evaluate_model(model, dataset, image_ids=None, limit=None, iou_threshold=0.5,
                   verbose=True, batch_size=1,
                   min_confidence: float | None = EVALUATION_MIN_CONFIDENCE,
                   progress: bool | None = None) -> EvaluationResult:
    """Detect on dataset images and score the detections (VOC per image and COCO).

    Args:
        model: anything with ``detect(list_of_images) -> list_of_result_dicts``.
        dataset: a prepared Dataset (``load_image_and_masks`` gives image, masks, class ids).
        image_ids: dataset image ids to use (default: all); ``limit`` keeps the first ``limit``.
        iou_threshold: IoU of the per-image ``AP50`` column and of the confusion matrix.
        verbose: print the final tables.
        progress: show a progress bar over the images (tqdm.auto: one line in a notebook);
            None: when ``verbose``.
        batch_size: images per ``detect`` call.
        min_confidence: APs are computed on the ranked list of detections down to this score
            (AP integrates precision over all recall levels; a list cut at the operating
            threshold truncates it): a model with a ``config`` detects with
            DETECTION_MIN_CONFIDENCE lowered to it during the evaluation. The confusion matrix
            and ``n_pred`` count only detections at the config's own threshold (the
            operating point). None: detect as configured.

    A model with ``class_names`` that differ from the dataset's raises DatasetError.
    """
    problem = class_names_problem(getattr(model, "class_names", None), dataset.class_names)
    if problem:
        raise DatasetError(problem)
    progress = verbose if progress is None else progress
    config = getattr(model, "config", None)
    operating = getattr(config, "DETECTION_MIN_CONFIDENCE", None)
    if min_confidence is None or operating is None or min_confidence >= operating:
        return _evaluate(model, dataset, image_ids, limit, iou_threshold, verbose, batch_size,
                         operating, progress, scored_from=operating)
    config.DETECTION_MIN_CONFIDENCE = float(min_confidence)
    try:
        return _evaluate(model, dataset, image_ids, limit, iou_threshold, verbose, batch_size,
                         operating, progress, scored_from=float(min_confidence))
    finally:
        config.DETECTION_MIN_CONFIDENCE = operating


def _evaluate(model, dataset, image_ids, limit, iou_threshold, verbose, batch_size,
              operating, progress=False, scored_from=None) -> EvaluationResult:
    ids = _select_image_ids(dataset, image_ids, limit)
    num_classes = dataset.num_classes
    rows, coco_records, detection_scores, detection_matched = [], [], [], []
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    detect_seconds = 0.0
    bar = progress_bar(total=int(ids.size), desc="evaluating", unit="image",
                       disable=not progress)
    for start in range(0, ids.size, max(1, int(batch_size))):
        batch = ids[start:start + max(1, int(batch_size))]
        loaded = [dataset.load_image_and_masks(int(i)) for i in batch]
        tic = time.perf_counter()
        results = model.detect([image for image, _, _ in loaded])
        detect_seconds += time.perf_counter() - tic
        if len(results) != len(batch):
            raise ValueError(f"detect() returned {len(results)} results for {len(batch)} images")
        for position, image_id, (image, gt_masks, gt_class_ids), result in zip(
                range(start + 1, start + 1 + len(batch)), batch, loaded, results):
            reference = dataset.image_reference(int(image_id))
            _check_result(result, image, reference)
            gt_boxes = extract_bboxes(gt_masks)
            pred = (result["rois"], result["class_ids"], result["scores"], result["masks"])
            shown = (np.ones(len(result["scores"]), bool) if operating is None
                     else np.asarray(result["scores"]) >= operating)
            try:
                ap50, ap, image_confusion = evaluate_image(
                    gt_boxes, gt_class_ids, gt_masks, *pred, num_classes=num_classes,
                    iou_threshold=iou_threshold)
                if not shown.all():  # the confusion matrix at the operating threshold
                    operating_pred = (result["rois"][shown], result["class_ids"][shown],
                                      result["scores"][shown], result["masks"][..., shown])
                    *_, image_confusion = evaluate_image(
                        gt_boxes, gt_class_ids, gt_masks, *operating_pred,
                        num_classes=num_classes, iou_threshold=iou_threshold)
            except ValueError as error:
                raise ValueError(f"{reference}: {error}") from None
            confusion += image_confusion
            masks = np.asarray(result["masks"])
            kinds, missed = classify_detections(gt_masks, gt_class_ids, masks[..., shown],
                                                result["scores"][shown], iou_threshold)
            rows.append({"image_id": dataset.image_info[int(image_id)]["id"],
                         "reference": reference, "AP50": ap50, "AP": ap,
                         "n_gt": int(np.count_nonzero(gt_class_ids > 0)),
                         "n_pred": int(np.count_nonzero(shown)),
                         **{f"n_{kind}": int(np.count_nonzero(kinds == kind))
                            for kind in DETECTION_KINDS},
                         "n_missed": int(missed.sum()),
                         "n_wrong_at_border": _wrong_at_border(masks[..., shown], kinds),
                         "true_share": _share(gt_masks[..., gt_class_ids > 0]),
                         "counted_share": _share(masks[..., shown])})
            coco_records += results_to_coco([position], [result])
            detection_scores.append(np.asarray(result["scores"], np.float32).reshape(-1))
            detection_matched.append(_matched(gt_boxes, gt_class_ids, gt_masks, result,
                                              iou_threshold))
        bar.update(len(batch))
    bar.close()
    per_image = pd.DataFrame(rows)
    gt_coco = dataset_to_coco(dataset, ids)  # COCO image ids are 1-based positions in ids
    result = EvaluationResult(
        per_image=per_image,
        mAP50=_nanmean(per_image["AP50"]), mAP=_nanmean(per_image["AP"]),
        coco_bbox=evaluate_coco(gt_coco, coco_records, "bbox"),
        coco_segm=evaluate_coco(gt_coco, coco_records, "segm"),
        confusion=confusion, class_names=list(dataset.class_names),
        iou_threshold=iou_threshold, seconds_per_image=detect_seconds / ids.size,
        detection_scores=detection_scores, detection_matched=detection_matched,
        operating_threshold=operating, scored_from=scored_from)
    if verbose:
        print(result)
    return result


def _matched(gt_boxes, gt_class_ids, gt_masks, result, iou_threshold) -> np.ndarray:
    """(N,) bool in the result's order: the detections that match an object of their class
    at mask IoU >= ``iou_threshold`` (greedy by score, as VOC AP matches)."""
    _, pred_match, _ = compute_matches(gt_boxes, gt_class_ids, gt_masks, result["rois"],
                                       result["class_ids"], result["scores"],
                                       np.asarray(result["masks"]), iou_threshold)
    order = np.argsort(-np.asarray(result["scores"], np.float64), kind="stable")
    matched = np.zeros(order.size, bool)
    matched[order] = pred_match >= 0
    return matched


def _wrong_at_border(masks: np.ndarray, kinds: np.ndarray) -> int:
    """How many of the detections not ``correct`` touch the image border."""
    wrong = np.flatnonzero(kinds != "correct")
    if wrong.size == 0:
        return 0
    boxes = extract_bboxes(masks[..., wrong]).astype(np.int64)
    touching = touches_border(boxes, lambda k: masks[boxes[k, 0]:boxes[k, 2],
                                                     boxes[k, 1]:boxes[k, 3], wrong[k]],
                              masks.shape[0], masks.shape[1])
    return int(touching.sum())


def _share(masks: np.ndarray) -> float:
    """Share of the image's pixels that the union of (H, W, N) masks covers."""
    return float(masks.any(axis=-1).mean()) if masks.shape[-1] else 0.0


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
