"""Boxes and their refinements: anchors, proposals and ROIs (matterport's ``draw_boxes`` and
``draw_rois``)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._colors import ink, random_colors
from ._drawing import add_box, apply_mask, as_rgb, frame, label
from ._figure import axes_or_new, finish


def draw_boxes(image, boxes=None, refined_boxes=None, masks=None, captions=None,
               visibilities=None, title="", ax=None, save_path=None) -> Figure:
    """Proposals and their refinements: ``boxes`` dotted, ``refined_boxes`` solid, joined.

    visibilities (N,): 0 hides a box, 1 draws it faint, 2 (default) draws it fully.
    """
    image = as_rgb(image)
    n = len(boxes) if boxes is not None else len(refined_boxes)
    if boxes is not None and refined_boxes is not None and len(boxes) != len(refined_boxes):
        raise ValueError(f"boxes has {len(boxes)} rows, refined_boxes {len(refined_boxes)}")
    ax, created = axes_or_new(ax, (12, 12))
    colors = random_colors(n)
    canvas = image.astype(np.float32)
    frame(ax, image.shape, 15, title)
    for i in range(n):
        vis = 2 if visibilities is None else visibilities[i]
        if vis == 0:
            continue
        color, alpha = (colors[i], 1.0) if vis == 2 else ("gray", 0.5)
        if boxes is not None:
            y1, x1 = boxes[i][:2]
            add_box(ax, boxes[i], color, linestyle="dotted", alpha=alpha)
        if refined_boxes is not None:
            add_box(ax, refined_boxes[i], color, linestyle="solid", alpha=None)
            ry1, rx1 = refined_boxes[i][:2]
            if boxes is not None:
                ax.plot([x1, rx1], [y1, ry1], color=color, linewidth=1)
            y1, x1 = ry1, rx1
        if captions is not None:
            ax.text(x1, y1, captions[i], color=ink(color), fontsize=9, va="bottom",
                    bbox=dict(facecolor=color, alpha=0.8, edgecolor="none", pad=1))
        if masks is not None:
            apply_mask(canvas, np.asarray(masks)[..., i], colors[i])
    ax.imshow(np.round(canvas).astype(np.uint8))
    return finish(ax.figure, created, save_path)


def draw_rois(image, rois, refined_rois, mask, class_ids, class_names, limit=10) -> Figure:
    """Up to ``limit`` random ROIs (dotted) with their refined boxes (solid) and class names.

    ``mask`` is accepted for matterport compatibility and not drawn.
    """
    class_ids = np.asarray(class_ids).reshape(-1)
    pick = np.random.default_rng().permutation(len(rois))[:limit]
    return draw_boxes(image, np.asarray(rois)[pick], np.asarray(refined_rois)[pick],
                      captions=[label(class_names, int(c)) for c in class_ids[pick]],
                      title=f"ROIs: showing {len(pick)} of {len(rois)}, "
                            f"{int(np.sum(class_ids > 0))} positive")
