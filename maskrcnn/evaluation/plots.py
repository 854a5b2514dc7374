"""Evaluation figures: precision/recall curves, confusion matrix, per-image AP, loss curves.

Every function returns a matplotlib Figure and never calls ``plt.show()``: in Jupyter the figure
shows itself, in a script save it with ``fig.savefig(...)``. Works with the Agg backend.
"""
from __future__ import annotations

import os
from collections import defaultdict

import numpy as np
from matplotlib.figure import Figure


def _figure(width=6.0, height=4.5):
    """A Figure that is not registered with pyplot (no global state, no leaks) and that
    Jupyter shows inline, once."""
    from ..visualize import NotebookFigure
    return NotebookFigure(figsize=(width, height), layout="constrained")


# --------------------------------------------------------------------------- precision/recall
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


def plot_precision_recall(curves, iou=0.5, class_names=None, title=None) -> Figure:
    """Precision/recall curve per class.

    Args:
        curves: a COCO evaluation (``CocoEvaluation`` or pycocotools ``COCOeval``, evaluated
            and accumulated), or a dict ``{class name: (precisions, recalls)}``, e.g. from
            :func:`~maskrcnn.evaluation.voc.compute_ap` on pooled detections.
        iou: IoU threshold of the curves taken from a COCO evaluation.
        class_names: names indexed by category id, to override COCO's names.
    """
    cocoeval = getattr(curves, "cocoeval", curves)
    if hasattr(cocoeval, "eval") and hasattr(cocoeval, "params"):
        curves = _curves_from_cocoeval(cocoeval, iou, class_names)
        title = title or f"Precision/recall at IoU {iou:.2f}"
    elif not isinstance(curves, dict):
        raise TypeError("curves must be a COCO evaluation or a dict {name: (precisions, "
                        f"recalls)}}, got {type(curves).__name__}")
    fig = _figure()
    ax = fig.add_subplot()
    for name, (precisions, recalls) in curves.items():
        ax.plot(np.asarray(recalls), np.asarray(precisions), label=str(name))
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.05),
           title=title or "Precision/recall")
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="lower left", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no class with ground truth", ha="center", va="center")
    return fig


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


# --------------------------------------------------------------------------- losses
def read_tensorboard_scalars(log_dir) -> dict:
    """Scalars of the TensorBoard event files under ``log_dir``.

    Returns ``{run: {tag: (steps, values)}}`` where ``run`` is the event file's folder relative
    to ``log_dir`` ("train", "validation", or "." for files directly in it). Needs TensorFlow,
    imported here only.
    """
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    if not os.path.isdir(log_dir):
        raise FileNotFoundError(f"no log folder {log_dir}")
    points = defaultdict(lambda: defaultdict(dict))
    for folder, _, files in sorted(os.walk(log_dir)):
        for name in sorted(f for f in files if "tfevents" in f):
            run = os.path.relpath(folder, log_dir)
            for record in tf.data.TFRecordDataset(os.path.join(folder, name)):
                event = event_pb2.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.HasField("simple_value"):
                        number = float(value.simple_value)
                    elif value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                        number = float(tf.make_ndarray(value.tensor))
                    else:
                        continue  # images, histograms, text
                    points[run][value.tag][int(event.step)] = number  # last write wins
    return {run: {tag: (np.array(sorted(steps)), np.array([steps[s] for s in sorted(steps)]))
                  for tag, steps in tags.items()} for run, tags in points.items()}


def _history_to_series(history: dict) -> dict:
    """Keras-style ``{"loss": [...], "val_loss": [...]}`` -> {loss: {run: (epochs, values)}}."""
    series = defaultdict(dict)
    for key, values in history.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
        series[name][run] = (np.arange(1, values.size + 1), values)
    return series


def _scalars_to_series(scalars: dict) -> dict:
    """{run: {tag: (steps, values)}} -> {loss: {run: (steps, values)}}, epoch tags preferred."""
    series = defaultdict(dict)
    for run, tags in scalars.items():
        epoch_tags = {t for t in tags if t.startswith("epoch_")}
        for tag, points in tags.items():
            if epoch_tags and tag not in epoch_tags:
                continue
            series[tag.removeprefix("epoch_")][run] = points
    return series


def plot_losses(history: dict, title=None, log_scale=False) -> Figure:
    """Loss curves from a plain dict ``{name: [value per epoch]}`` (Keras ``History.history``).

    ``val_<name>`` is drawn on the same axes as ``<name>``; one panel per loss. Entries whose
    name does not contain "loss" (learning rate, metrics) get panels too.
    """
    return _plot_series(_history_to_series(history), "epoch", title, log_scale)


def plot_loss_curves(source, title=None, log_scale=False) -> Figure:
    """Loss curves from a TensorBoard log folder (``model_dir`` of a run) or a dict of lists.

    For a folder the epoch-level scalars (``epoch_loss``, ``epoch_mrcnn_mask_loss``...) that the
    Keras TensorBoard callback writes are used when present, else all scalars; runs (train,
    validation) share a panel per loss.
    """
    if isinstance(source, dict):
        return plot_losses(source, title=title, log_scale=log_scale)
    scalars = read_tensorboard_scalars(os.fspath(source))
    if not scalars:
        raise ValueError(f"no scalar summaries in the event files under {source}")
    return _plot_series(_scalars_to_series(scalars), "step", title, log_scale)


def _plot_series(series: dict, xlabel: str, title, log_scale) -> Figure:
    names = sorted(series, key=lambda n: (n != "loss", "loss" not in n, n))
    if not names:
        raise ValueError("nothing to plot: no loss values given")
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(4.0 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax, name in zip(axes, names):
        for run, (steps, values) in sorted(series[name].items()):
            ax.plot(steps, values, marker="o" if len(values) < 30 else None, markersize=3,
                    label=run)
        ax.set(title=name, xlabel=xlabel)
        if log_scale:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig
