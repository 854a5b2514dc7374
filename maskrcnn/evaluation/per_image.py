"""One image scored as matterport's inspect_model notebook does: its precision/recall curve
and the grid of mask IoU between every prediction and every ground-truth object.

``image_matches`` gives the numbers (from :func:`~maskrcnn.evaluation.voc.compute_ap`, the
same matching as the VOC mAP); ``visualize.plot_precision_recall`` and
``visualize.plot_overlaps`` draw them (``ImageMatches.plot_curve`` / ``plot_grid``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.transforms import extract_bboxes
from .voc import compute_ap


@dataclass
class ImageMatches:
    """One image's predictions against its ground truth (predictions best score first).

    AP: VOC AP at ``iou_threshold`` (a fraction; NaN without ground truth).
    precisions, recalls: the curve ``compute_ap`` integrates (with its sentinels).
    overlaps: (P, G) mask IoU, rows the predictions in descending score, columns the objects.
    pred_class_ids, pred_scores: (P,) in the rows' order; gt_class_ids: (G,).
    """
    AP: float
    precisions: np.ndarray
    recalls: np.ndarray
    overlaps: np.ndarray
    pred_class_ids: np.ndarray
    pred_scores: np.ndarray
    gt_class_ids: np.ndarray
    iou_threshold: float = 0.5

    def plot_curve(self, title=None, ax=None):
        """The precision/recall curve, AP in the title (percent)."""
        from ..visualize import plot_precision_recall
        return plot_precision_recall(
            self.AP, self.precisions, self.recalls, ax=ax,
            title=title or f"Precision/recall of this image, AP@{self.iou_threshold:.2f} = "
                           f"{100 * self.AP:.1f} %")

    def plot_grid(self, class_names, threshold=None):
        """The overlaps grid (``visualize.plot_overlaps``)."""
        from ..visualize import plot_overlaps
        return plot_overlaps(self.gt_class_ids, self.pred_class_ids, self.pred_scores,
                             self.overlaps, class_names,
                             threshold=self.iou_threshold if threshold is None else threshold)


def image_matches(gt_masks, gt_class_ids, result: dict, iou_threshold: float = 0.5,
                  score_threshold: float = 0.0) -> ImageMatches:
    """Score one ``detect()`` result (``rois``, ``class_ids``, ``scores``, ``masks``) against
    (H, W, G) ground-truth masks and their (G,) class ids; detections scoring below
    ``score_threshold`` are left out."""
    scores = np.asarray(result["scores"], np.float64).reshape(-1)
    keep = scores >= score_threshold
    pred_masks = np.asarray(result["masks"])[..., keep]
    pred_ids = np.asarray(result["class_ids"]).reshape(-1)[keep]
    scores = scores[keep]
    gt_masks = np.asarray(gt_masks)
    gt_ids = np.asarray(gt_class_ids).reshape(-1)
    ap, precisions, recalls, overlaps = compute_ap(
        extract_bboxes(gt_masks), gt_ids, gt_masks,
        np.asarray(result["rois"]).reshape(-1, 4)[keep], pred_ids, scores, pred_masks,
        iou_threshold=iou_threshold)
    order = np.argsort(-scores, kind="stable")  # the rows of compute_ap's overlaps
    return ImageMatches(float(ap), np.asarray(precisions), np.asarray(recalls),
                        np.asarray(overlaps).reshape(len(order), len(gt_ids)),
                        pred_ids[order], scores[order], gt_ids, iou_threshold)
