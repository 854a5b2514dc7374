"""Figures of a network taken apart on one image (``notebooks/inspect_model.ipynb``): anchors
per level, RPN targets, proposals, ROI refinement and per-class NMS, mask grids (targets or
the mask head's raw output), activations and weight histograms.

They take numpy arrays, as :func:`maskrcnn.inspect_model.inspect_image` and its companions
give them; boxes here are (N, 4) ``(y1, x1, y2, x2)`` in pixels of the image drawn
(``Inspection.to_pixels``).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._colors import random_colors
from ._drawing import add_box, as_rgb, frame
from ._figure import finish, subplots
from .boxes import draw_boxes

POSITIVE, NEGATIVE, TRUTH = (0.1, 0.8, 0.2), (0.85, 0.2, 0.2), (1.0, 1.0, 1.0)
LEVEL_NAMES = ("P2", "P3", "P4", "P5", "P6")


def _grid(count: int, columns: int, size: float = 2.2, figsize=None):
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    fig, axes = subplots(rows, columns, figsize=figsize or (size * columns, size * rows))
    for ax in axes.ravel()[count:]:
        ax.axis("off")
    return fig, axes.ravel()


def _legend(ax, entries) -> None:
    handles = [Line2D([], [], color=color, linestyle=style, linewidth=2, label=text)
               for text, color, style in entries]
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.8)


def display_anchors(image, anchors, levels, level_names=LEVEL_NAMES, columns: int = 5,
                    save_path=None) -> Figure:
    """One panel per pyramid level: the centres of all its anchors (dots) and, solid, the
    anchors of every aspect ratio at the location nearest the image centre.

    anchors (A, 4) pixels; levels (A,) int level index of each anchor (0 for P2)."""
    image, anchors, levels = as_rgb(image), np.asarray(anchors), np.asarray(levels)
    present = np.unique(levels)
    fig, axes = _grid(len(present), columns, size=3.2)
    h, w = image.shape[:2]
    for ax, level in zip(axes, present):
        boxes = anchors[levels == level]
        centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
        locations = np.unique(centres, axis=0)
        nearest = locations[np.argmin(np.abs(locations - [h / 2, w / 2]).sum(axis=1))]
        at_centre = boxes[np.all(np.isclose(centres, nearest), axis=1)]
        name = level_names[level] if level < len(level_names) else f"level {level}"
        side = np.sqrt((at_centre[0, 2] - at_centre[0, 0]) * (at_centre[0, 3] - at_centre[0, 1]))
        frame(ax, image.shape, max(0.05 * max(h, w), side / 2),
              f"{name}: {len(boxes)} anchors, side {side:.0f} px")
        ax.imshow(image)
        ax.scatter(locations[:, 1], locations[:, 0], s=2, color="yellow", alpha=0.6)
        for box, color in zip(at_centre, random_colors(len(at_centre), seed=0)):
            add_box(ax, box, color, linestyle="solid", alpha=1.0)
    return finish(fig, True, save_path)


def display_rpn_targets(image, anchors, labels, gt_boxes=None, negatives: int = 30,
                        seed: int = 0, ax=None, save_path=None) -> Figure:
    """The RPN's training targets: positive anchors (label 1) solid green, a random sample of
    ``negatives`` negative ones (label 0) dotted red, the ground truth dashed white."""
    image, anchors, labels = as_rgb(image), np.asarray(anchors), np.asarray(labels)
    created = ax is None
    if created:
        ax = subplots(figsize=(7, 7))[1][0, 0]
    positive = np.flatnonzero(labels == 1)
    negative = np.flatnonzero(labels == 0)
    shown = np.random.default_rng(seed).permutation(negative)[:negatives]
    frame(ax, image.shape, 5, f"RPN targets: {len(positive)} positive, {len(negative)} "
                              f"negative ({len(shown)} shown),\n"
                              f"{int(np.sum(labels < 0))} anchors not sampled")
    ax.imshow(image)
    for i in shown:
        add_box(ax, anchors[i], NEGATIVE, linestyle="dotted", alpha=0.6, linewidth=1)
    for i in positive:
        add_box(ax, anchors[i], POSITIVE, linestyle="solid", alpha=1.0)
    for box in [] if gt_boxes is None else np.asarray(gt_boxes).reshape(-1, 4):
        add_box(ax, box, TRUTH, linestyle="dashed", alpha=1.0)
    _legend(ax, [("positive", POSITIVE, "solid"), ("negative", NEGATIVE, "dotted"),
                 ("ground truth", TRUTH, "dashed")])
    return finish(ax.figure, created, save_path)


def display_proposals(image, proposals, gt_boxes=None, limit: int = 50, title: str = "",
                      ax=None, save_path=None) -> Figure:
    """The first ``limit`` proposals (best first; the brighter, the better ranked) and the
    ground truth (dashed white)."""
    image, proposals = as_rgb(image), np.asarray(proposals).reshape(-1, 4)
    created = ax is None
    if created:
        ax = subplots(figsize=(7, 7))[1][0, 0]
    shown = proposals[:limit]
    frame(ax, image.shape, 5, title or f"top {len(shown)} of {len(proposals)} proposals")
    ax.imshow(image)
    for rank, box in enumerate(shown[::-1]):
        alpha = 0.25 + 0.75 * (rank + 1) / max(len(shown), 1)
        add_box(ax, box, "yellow", linestyle="solid", alpha=alpha, linewidth=1)
    for box in [] if gt_boxes is None else np.asarray(gt_boxes).reshape(-1, 4):
        add_box(ax, box, TRUTH, linestyle="dashed", alpha=1.0)
    _legend(ax, [("proposal", "yellow", "solid"), ("ground truth", TRUTH, "dashed")])
    return finish(ax.figure, created, save_path)


def display_refinement(image, boxes, refined_boxes, class_ids, class_names, scores=None,
                       limit: int = 12, title: str = "", ax=None, save_path=None) -> Figure:
    """The first ``limit`` of ``boxes`` that are not background (dotted) joined to their
    refined boxes (solid), captioned with class (and score)."""
    class_ids = np.asarray(class_ids).reshape(-1)
    pick = np.flatnonzero(class_ids > 0)[:limit]
    captions = [class_names[class_ids[i]] + ("" if scores is None else f" {scores[i]:.2f}")
                for i in pick]
    return draw_boxes(image, np.asarray(boxes)[pick], np.asarray(refined_boxes)[pick],
                      captions=captions, ax=ax, save_path=save_path,
                      title=title or f"{len(pick)} of {int(np.sum(class_ids > 0))} object "
                                     f"ROIs (of {len(class_ids)}): dotted before, solid after")


def display_nms_by_class(image, boxes, class_ids, detections, class_names, columns: int = 4,
                         save_path=None) -> Figure:
    """Per-class NMS, one panel per class: its refined ROIs before NMS (dotted) and the
    detections that NMS kept (solid, with score). boxes (N, 4) and class_ids (N,) before;
    detections (K, 6) pixel box, class id, score after."""
    image = as_rgb(image)
    boxes, class_ids = np.asarray(boxes).reshape(-1, 4), np.asarray(class_ids).reshape(-1)
    detections = np.asarray(detections).reshape(-1, 6)
    classes = sorted(set(class_ids[class_ids > 0].tolist())
                     | set(detections[:, 4].astype(int).tolist()) - {0})
    fig, axes = _grid(max(len(classes), 1), columns, size=3.5)
    for ax, c in zip(axes, classes):
        before = boxes[class_ids == c]
        after = detections[detections[:, 4].astype(int) == c]
        name = class_names[c] if c < len(class_names) else str(c)
        frame(ax, image.shape, 5, f"{name}: {len(before)} before NMS, {len(after)} after")
        ax.imshow(image)
        for box in before:
            add_box(ax, box, "gray", linestyle="dotted", alpha=0.7, linewidth=1)
        for row, color in zip(after, random_colors(len(after), seed=c)):
            add_box(ax, row[:4], color, linestyle="solid", alpha=1.0)
            ax.text(row[1], row[0], f"{row[5]:.2f}", color="black", fontsize=7, va="bottom",
                    bbox=dict(facecolor=color, alpha=0.8, edgecolor="none", pad=1))
    if not classes:
        frame(axes[0], image.shape, 5, "no object ROIs")
        axes[0].imshow(image)
    return finish(fig, True, save_path)


def display_mask_grid(masks, titles=None, columns: int = 6, cmap: str = "viridis",
                      vmin=None, vmax=None, title: str = "", save_path=None) -> Figure:
    """(N, h, w) small masks side by side (mask targets, or the mask head's logits or
    probabilities) with a shared colour scale."""
    masks = np.asarray(masks, np.float32)
    n = max(len(masks), 1)
    fig, axes = _grid(n, columns)
    low = float(np.min(masks)) if vmin is None and masks.size else vmin
    high = float(np.max(masks)) if vmax is None and masks.size else vmax
    shown = None
    for i, (ax, mask) in enumerate(zip(axes, masks)):
        shown = ax.imshow(mask, cmap=cmap, vmin=low, vmax=high)
        ax.set(xticks=[], yticks=[], title=titles[i] if titles is not None else "")
        ax.title.set_fontsize(8)
    if shown is not None:
        fig.colorbar(shown, ax=list(axes[:len(masks)]), shrink=0.8)
    else:
        axes[0].set(title="nothing to show", xticks=[], yticks=[])
    if title:
        fig.suptitle(title)
    return finish(fig, True, save_path)


def display_activations(activations: dict, channels: int = 6, cmap: str = "viridis",
                        save_path=None) -> Figure:
    """A row per layer (name -> (h, w, C) activation): its ``channels`` most active channels
    (largest mean), each on its own colour scale."""
    names = list(activations)
    fig, axes = subplots(max(len(names), 1), channels,
                         figsize=(1.8 * channels, 1.9 * max(len(names), 1)))
    for row, name in enumerate(names):
        value = np.asarray(activations[name], np.float32)
        order = np.argsort(value.reshape(-1, value.shape[-1]).mean(axis=0))[::-1]
        for col in range(channels):
            ax = axes[row, col]
            ax.set(xticks=[], yticks=[])
            if col >= len(order):
                ax.axis("off")
                continue
            ax.imshow(value[..., order[col]], cmap=cmap)
            ax.set_title(f"{name}\n{value.shape[0]}x{value.shape[1]}x{value.shape[2]}, "
                         f"ch {order[col]}" if col == 0 else f"ch {order[col]}", fontsize=7)
    return finish(fig, True, save_path)


def plot_weight_histograms(weights: dict, columns: int = 4, bins: int = 40,
                           limit: int | None = 24, save_path=None) -> Figure:
    """A histogram per weight (name -> values, e.g. ``inspect_model.weight_values``), titled
    with its size and standard deviation; of more than ``limit`` weights, ``limit`` evenly
    spread over the network (first and last included)."""
    names = list(weights)
    if limit is not None and len(names) > limit:
        names = [names[i] for i in np.unique(np.linspace(0, len(names) - 1, limit).round()
                                             .astype(int))]
    count = max(len(names), 1)
    fig, axes = _grid(count, columns,
                      figsize=(3.2 * min(columns, count), 2.0 * -(-count // columns)))
    for ax, name in zip(axes, names):
        values = np.asarray(weights[name], np.float64).ravel()
        ax.hist(values, bins=bins, color="steelblue")
        short = name if len(name) <= 38 else "..." + name[-35:]
        ax.set_title(f"{short}\n{values.size} values, std {values.std():.3g}", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return finish(fig, True, save_path)
