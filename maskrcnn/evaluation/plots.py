"""Evaluation figures: precision/recall curves, confusion matrix, per-image AP, loss curves.

Every function returns a matplotlib Figure and never calls ``plt.show()``: in Jupyter the figure
shows itself, in a script save it with ``fig.savefig(...)``. Works with the Agg backend.
Precision/recall and loss curves are drawn by :mod:`maskrcnn.visualize` (one function each);
their names here stay for the code that imports them from ``maskrcnn.evaluation``.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import visualize
from ..visualize import NotebookFigure
from ..visualize.training import plot_loss_curves, plot_losses, read_tensorboard_scalars

__all__ = ["plot_precision_recall", "plot_confusion_matrix", "plot_ap_histogram",
           "plot_count_error", "plot_operating_point", "plot_losses", "plot_loss_curves",
           "read_tensorboard_scalars"]


def _figure(width=6.0, height=4.5):
    """A Figure that is not registered with pyplot (no global state, no leaks) and that
    Jupyter shows inline, once."""
    return NotebookFigure(figsize=(width, height), layout="constrained")


# --------------------------------------------------------------------------- precision/recall
def plot_precision_recall(curves, iou=0.5, class_names=None, title=None) -> Figure:
    """Precision/recall curve per class: :func:`maskrcnn.visualize.plot_precision_recall`
    with this module's arguments.

    Args:
        curves: a COCO evaluation (``CocoEvaluation`` or pycocotools ``COCOeval``, evaluated
            and accumulated), or a dict ``{class name: (precisions, recalls)}``, e.g. from
            :func:`~maskrcnn.evaluation.voc.compute_ap` on pooled detections.
        iou: IoU threshold of the curves taken from a COCO evaluation.
        class_names: names indexed by category id, to override COCO's names.
    """
    return visualize.plot_precision_recall(curves, iou=iou, class_names=class_names,
                                           title=title)


# --------------------------------------------------------------------------- confusion matrix
def plot_confusion_matrix(matrix, class_names=None, normalize=False, title=None) -> Figure:
    """Confusion matrix from :func:`~maskrcnn.evaluation.voc.compute_confusion_matrix`.

    ``matrix`` (C, C): rows ground-truth class, columns predicted class, index 0 background:
    row 0 holds false positives, column 0 missed ground truths. ``class_names`` (C,) labels the
    classes (index 0 is shown as "background"/"missed"). ``normalize`` divides each row by its
    sum (the share of each ground-truth class that went where).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (C, C), got {matrix.shape}")
    n = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for a {n}x{n} matrix")
    shown = matrix
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        shown = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    size = max(4.0, 0.6 * n + 2)
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n), ["missed"] + names[1:], rotation=45, ha="right")
    ax.set_yticks(range(n), ["background"] + names[1:])
    ax.set(xlabel="predicted class", ylabel="ground-truth class",
           title=title or "Confusion matrix (IoU 0.5)")
    limit = shown.max() if shown.size else 0
    for (i, j), value in np.ndenumerate(shown):
        if matrix[i, j]:
            text = f"{value:.2f}" if normalize else f"{int(matrix[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize="small",
                    color="white" if value > limit / 2 else "black")
    return fig


# --------------------------------------------------------------------------- per-image AP
def plot_ap_histogram(per_image_ap, bins=10, title=None) -> Figure:
    """Histogram of per-image AP in [0, 1]: an array, a Series, or the ``per_image`` DataFrame
    of :func:`~maskrcnn.evaluation.evaluate.evaluate_model` (its ``AP50`` column). Images with
    undefined AP (NaN, no ground truth) are left out and counted in the title."""
    if hasattr(per_image_ap, "columns"):
        per_image_ap = per_image_ap["AP50"]
    values = np.asarray(per_image_ap, dtype=np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    fig = _figure()
    ax = fig.add_subplot()
    ax.hist(finite, bins=bins, range=(0, 1), color="tab:blue", edgecolor="white")
    skipped = values.size - finite.size
    text = title or f"Per-image AP ({finite.size} images"
    if not title:
        text += f", {skipped} without ground truth)" if skipped else ")"
    mean = finite.mean() if finite.size else float("nan")
    ax.axvline(mean, color="tab:red", linestyle="--", label=f"mean {mean:.3f}")
    ax.set(xlabel="AP", ylabel="images", xlim=(0, 1), title=text)
    ax.legend()
    return fig


# --------------------------------------------------------------------------- counting
def plot_count_error(result, title=None) -> Figure:
    """Mean per-image count error and F1 (percent) against the score threshold, for an
    :class:`~maskrcnn.evaluation.evaluate.EvaluationResult`, with the operating threshold
    and the best one for these images marked."""
    curve = result.threshold_curve()
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(curve["threshold"], 100 * curve["mean_count_error"], color="tab:red",
            label="mean count error per image")
    ax.plot(curve["threshold"], 100 * curve["f1"], color="tab:blue",
            label="F1 at mask IoU 0.5")
    best = result.best_counting()
    ax.axvline(best.threshold, color="tab:green", linestyle=":",
               label=f"best here {best.threshold:.2f} ({100 * best.mean_error:.0f} %)")
    if result.operating_threshold is not None:
        now = result.counting()
        ax.axvline(now.threshold, color="black", linestyle="--",
                   label=f"operating {now.threshold:.2f} ({100 * now.mean_error:.0f} %)")
    ax.set_xlabel("score threshold")
    ax.set_ylabel("percent")
    ax.set_ylim(0, max(100.0, float(np.nanmax(100 * curve["mean_count_error"])) * 1.05))
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title or f"Counting on {len(result.per_image)} images")
    return fig


def plot_operating_point(result, title=None) -> Figure:
    """Precision against recall at mask IoU 0.5 over every score threshold (all classes and
    images pooled), with the operating point marked: where the counts and pictures are."""
    curve = result.threshold_curve()
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(100 * curve["recall"], 100 * curve["precision"], color="tab:blue",
            label="all thresholds")
    precision, recall, f1 = result.f1()
    threshold = result.counting().threshold
    ax.plot([100 * recall], [100 * precision], "o", color="black", markersize=8,
            label=f"operating point: score {threshold:.2f}, F1 {100 * f1:.0f} %")
    ax.set_xlabel("recall (percent)")
    ax.set_ylabel("precision (percent)")
    ax.set_xlim(0, 101)
    ax.set_ylim(0, 101)
    ax.legend(loc="lower left", fontsize="small")
    ax.set_title(title or "Precision and recall (mask IoU 0.5)")
    return fig
