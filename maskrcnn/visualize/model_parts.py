"""Figures of a network taken apart on one image (``notebooks/inspect_model.ipynb``): anchors
per level, RPN targets, proposals, ROI refinement and per-class NMS, mask grids (targets or
the mask head's raw output), activations and weight histograms, the histograms of the RPN's
box deltas and of where the proposals lie, and the mini-mask round trip.

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
    # a dark frame: the ground truth's entry is white and would vanish on a white one
    legend = ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.85,
                       facecolor="0.25", edgecolor="0.25", labelcolor="white")
    legend.get_frame().set_linewidth(0.5)


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
              f"{name}: side {side:.0f} px\n{len(boxes)} anchors")  # two lines: no overlap
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
    # one or two classes: panels large enough to read the scores on (e.g. small insects)
    fig, axes = _grid(max(len(classes), 1), columns, size={1: 7, 2: 5}.get(len(classes), 3.5))
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


DELTA_NAMES = ("dy", "dx", "log dh", "log dw")


def plot_rpn_deltas(deltas, bins: int = 50, title: str = "", save_path=None) -> Figure:
    """Histograms of the RPN's (A, 4) box deltas (as predicted, divided by RPN_BBOX_STD_DEV):
    centre shifts dy, dx and log size changes; matterport's ``rpn_bbox`` histograms."""
    deltas = np.asarray(deltas, np.float64).reshape(-1, 4)
    fig, axes = subplots(1, 4, figsize=(13, 2.8))
    for k, ax in enumerate(axes[0]):
        ax.hist(deltas[:, k], bins=bins, color="steelblue")
        ax.set(title=f"{DELTA_NAMES[k]} (mean {deltas[:, k].mean():+.2f}, std "
                     f"{deltas[:, k].std():.2f})", xlabel="delta (units of the std dev)",
               ylabel="anchors" if k == 0 else None)
        ax.title.set_fontsize(9)
    fig.suptitle(title or f"RPN box deltas of {len(deltas)} anchors")
    fig.tight_layout()
    return finish(fig, True, save_path)


def plot_box_centres(boxes, shape, bins: int = 20, title: str = "", save_path=None) -> Figure:
    """Where (N, 4) pixel boxes lie in an image of ``shape`` (H, W): histograms of their centres'
    y and x (matterport's y/x distribution of the proposals)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = int(shape[0]), int(shape[1])
    fig, axes = subplots(1, 2, figsize=(9, 2.8))
    for ax, (name, centre, side) in zip(axes[0], (
            ("y", (boxes[:, 0] + boxes[:, 2]) / 2, h), ("x", (boxes[:, 1] + boxes[:, 3]) / 2, w))):
        ax.hist(centre, bins=bins, range=(0, side), color="darkorange")
        ax.set(xlabel=f"box centre {name} (px, image {'height' if name == 'y' else 'width'} "
                      f"{side})", ylabel="boxes", xlim=(0, side))
    fig.suptitle(title or f"Where the {len(boxes)} boxes lie")
    fig.tight_layout()
    return finish(fig, True, save_path)


def display_mini_mask_round_trip(masks, restored, titles=None, limit: int = 6,
                                 save_path=None) -> Figure:
    """Per object (up to ``limit``): its (H, W, N) mask, the mask after the mini-mask round trip
    (``restored``) and where they differ (red: pixels lost, blue: pixels added)."""
    masks, restored = np.asarray(masks, bool), np.asarray(restored, bool)
    n = max(1, min(limit, masks.shape[-1]))
    fig, axes = subplots(n, 3, figsize=(7.5, 2.5 * n))
    for i in range(n):
        row = axes[i]
        if i >= masks.shape[-1]:
            row[0].set_title("no objects")
            for ax in row:
                ax.axis("off")
            continue
        ys, xs = np.nonzero(masks[..., i] | restored[..., i])
        y1, y2 = (ys.min(), ys.max() + 1) if ys.size else (0, masks.shape[0])
        x1, x2 = (xs.min(), xs.max() + 1) if xs.size else (0, masks.shape[1])
        crop = (slice(max(0, y1 - 2), y2 + 2), slice(max(0, x1 - 2), x2 + 2))
        a, b = masks[crop + (i,)], restored[crop + (i,)]
        diff = np.ones(a.shape + (3,))
        diff[a & b] = 0.8
        diff[a & ~b] = (0.85, 0.1, 0.1)
        diff[~a & b] = (0.1, 0.3, 0.9)
        name = titles[i] if titles is not None else f"object {i}"
        for ax, picture, text in zip(row, (a, b, diff), (
                f"{name}: mask", "after the round trip",
                f"lost {int(np.sum(a & ~b))}, added {int(np.sum(~a & b))} px")):
            ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None,
                      interpolation="nearest")
            ax.set(xticks=[], yticks=[])
            ax.set_title(text, fontsize=8)
    fig.tight_layout()
    return finish(fig, True, save_path)
