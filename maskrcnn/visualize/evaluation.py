"""Detections against ground truth: ``display_differences``, precision/recall curves and the
overlaps grid (matterport's names and arguments)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._colors import FP_COLOR, MISSED_COLOR, TP_COLOR
from ._drawing import check_instances, label
from ._figure import axes_or_new, finish, subplots
from .instances import display_instances


def _mask_ious(masks_a: np.ndarray, masks_b: np.ndarray) -> np.ndarray:
    """IoU of every pair of (H, W, A) and (H, W, B) masks: (A, B) floats."""
    if masks_a.shape[-1] == 0 or masks_b.shape[-1] == 0:
        return np.zeros((masks_a.shape[-1], masks_b.shape[-1]), np.float32)
    a = masks_a.reshape(-1, masks_a.shape[-1]).astype(np.float32)
    b = masks_b.reshape(-1, masks_b.shape[-1]).astype(np.float32)
    inter = a.T @ b
    union = a.sum(0)[:, None] + b.sum(0)[None, :] - inter
    return inter / np.maximum(union, 1)


def _match(gt_masks, gt_ids, pred_masks, pred_ids, pred_scores, iou_threshold):
    """Greedy matching by score: (gt -> pred index or -1, pred -> gt index or -1, IoUs)."""
    ious = _mask_ious(pred_masks, gt_masks)
    gt_match = -np.ones(len(gt_ids), int)
    pred_match = -np.ones(len(pred_ids), int)
    for p in np.argsort(-pred_scores, kind="stable"):
        for g in np.argsort(-ious[p], kind="stable"):
            if ious[p, g] < iou_threshold:
                break
            if gt_match[g] < 0 and gt_ids[g] == pred_ids[p]:
                gt_match[g], pred_match[p] = p, g
                break
    return gt_match, pred_match, ious


def display_differences(image, gt_box, gt_class_id, gt_mask, pred_box, pred_class_id,
                        pred_score, pred_mask, class_names, title="", ax=None, show_mask=True,
                        show_box=True, iou_threshold=0.5, score_threshold=0.0,
                        save_path=None) -> Figure:
    """Ground truth against predictions, matched by mask IoU >= ``iou_threshold`` and class.

    Colours: green = matched prediction and its ground truth, red = false positive,
    yellow = missed ground truth. Predictions are captioned "name score / IoU".
    Predictions scoring below ``score_threshold`` are left out.
    """
    gt_box, gt_mask, gt_ids, _ = check_instances(image, gt_box, gt_mask, gt_class_id)
    pred_box, pred_mask, pred_ids, pred_score = check_instances(image, pred_box, pred_mask,
                                                                pred_class_id, pred_score)
    if gt_mask is None or pred_mask is None:
        raise ValueError("display_differences needs gt_mask and pred_mask (H, W, N) to match")
    if pred_score is None:
        pred_score = np.ones(len(pred_ids))
    keep = pred_score >= score_threshold
    pred_box, pred_mask, pred_ids, pred_score = (pred_box[keep], pred_mask[..., keep],
                                                 pred_ids[keep], pred_score[keep])
    gt_match, pred_match, ious = _match(gt_mask, gt_ids, pred_mask, pred_ids, pred_score,
                                        iou_threshold)
    colors = [TP_COLOR if m >= 0 else MISSED_COLOR for m in gt_match] + \
             [TP_COLOR if m >= 0 else FP_COLOR for m in pred_match]
    best = ious.max(axis=1) if ious.size else np.zeros(len(pred_ids))
    captions = [f"GT {label(class_names, int(c))}" for c in gt_ids] + [
        f"{label(class_names, int(c))} {s:.2f} / {iou:.2f}"
        for c, s, iou in zip(pred_ids, pred_score, best)]
    title = title or (f"Ground truth vs. predictions: {int(np.sum(pred_match >= 0))} matched, "
                      f"{int(np.sum(pred_match < 0))} false, {int(np.sum(gt_match < 0))} missed"
                      "\ngreen = match, red = false positive, yellow = missed; score / IoU")
    ax, created = axes_or_new(ax, (12, 12))
    display_instances(image, np.concatenate([gt_box, pred_box]),
                      np.concatenate([gt_mask, pred_mask], axis=-1),
                      np.concatenate([gt_ids, pred_ids]), class_names, title=title, ax=ax,
                      show_mask=show_mask, show_bbox=show_box, colors=colors, captions=captions)
    for text, (_, x1, y2) in zip(ax.texts[:len(gt_ids)], gt_box[:, :3]):
        text.set_position((x1, y2))  # ground-truth labels under their box, predictions above
        text.set_verticalalignment("top")
    return finish(ax.figure, created, save_path)


def _curves_from_cocoeval(cocoeval, iou, class_names):
    """{name: (precisions, recalls)} per category from a COCOeval's accumulated arrays."""
    precision = cocoeval.eval["precision"]  # (T, R, K, A, M)
    params = cocoeval.params
    t = int(np.argmin(np.abs(params.iouThrs - iou)))
    area_all = list(params.areaRngLbl).index("all")
    curves = {}
    for k, category_id in enumerate(params.catIds):
        p = precision[t, :, k, area_all, -1]
        if (p < 0).all():
            continue  # no ground truth for this category
        name = (class_names[category_id] if class_names is not None
                else cocoeval.cocoGt.cats[category_id]["name"])
        curves[name] = (np.where(p < 0, np.nan, p), np.asarray(params.recThrs))
    return curves


def plot_precision_recall(AP, precisions=None, recalls=None, ax=None, save_path=None, *,
                          iou=0.5, class_names=None, title=None) -> Figure:
    """Precision/recall curves: matterport's one curve, or one per class.

    ``plot_precision_recall(AP, precisions, recalls)`` (matterport's call, e.g. with the
    outputs of ``compute_ap``) draws one curve with AP in the title.
    ``plot_precision_recall(curves)`` draws one curve per class, where ``curves`` is a COCO
    evaluation (``CocoEvaluation`` or pycocotools ``COCOeval``, evaluated and accumulated;
    ``iou`` picks its threshold and ``class_names``, indexed by category id, override COCO's
    names) or a dict ``{class name: (precisions, recalls)}``.
    """
    if precisions is not None:
        curves = {None: (precisions, recalls)}
        title = title or f"Precision-Recall Curve. AP@50 = {AP:.3f}"
    else:
        curves = AP
        cocoeval = getattr(curves, "cocoeval", curves)
        if hasattr(cocoeval, "eval") and hasattr(cocoeval, "params"):
            curves = _curves_from_cocoeval(cocoeval, iou, class_names)
            title = title or f"Precision/recall at IoU {iou:.2f}"
        elif not isinstance(curves, dict):
            raise TypeError("give AP, precisions, recalls, or curves: a COCO evaluation or a "
                            f"dict {{name: (precisions, recalls)}}, got {type(curves).__name__}")
    ax, created = axes_or_new(ax, (6, 4.5))
    for name, (p, r) in curves.items():
        ax.plot(np.asarray(r), np.asarray(p), label=None if name is None else str(name))
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.05), ylim=(0, 1.05),
           title=title or "Precision/recall")
    ax.grid(alpha=0.3)
    if not curves:
        ax.text(0.5, 0.5, "no class with ground truth", ha="center", va="center")
    elif None not in curves:
        ax.legend(loc="lower left", fontsize="small")
    return finish(ax.figure, created, save_path)


def plot_overlaps(gt_class_ids, pred_class_ids, pred_scores, overlaps, class_names,
                  threshold=0.5, save_path=None) -> Figure:
    """Grid of IoU between predictions (rows) and ground truths (columns), matches marked."""
    overlaps = np.asarray(overlaps).reshape(len(pred_class_ids), len(gt_class_ids))
    fig, axes = subplots(figsize=(2 + 0.6 * len(gt_class_ids), 2 + 0.5 * len(pred_class_ids)))
    ax = axes[0, 0]
    if overlaps.size == 0:  # no predictions or no objects: an empty grid, said in words
        ax.text(0.5, 0.5, "no predictions" if len(pred_class_ids) == 0 else "no objects",
                ha="center", va="center", transform=ax.transAxes)
    else:
        ax.imshow(overlaps, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(pred_class_ids)), [
        f"{label(class_names, int(c))} ({s:.2f})" for c, s in zip(pred_class_ids, pred_scores)])
    ax.set_xticks(range(len(gt_class_ids)), [label(class_names, int(c)) for c in gt_class_ids],
                  rotation=90)
    for i, j in np.ndindex(overlaps.shape):
        hit = overlaps[i, j] >= threshold
        same = pred_class_ids[i] == gt_class_ids[j]
        note = "match" if hit and same else "wrong" if hit else ""
        ax.text(j, i, f"{overlaps[i, j]:.2f}\n{note}", ha="center", va="center", fontsize=8,
                color="white" if overlaps[i, j] > 0.6 else "black")
    ax.set(xlabel="Ground truth", ylabel="Predictions (score)", title="Overlaps (IoU)")
    fig.tight_layout()
    return finish(fig, True, save_path)
