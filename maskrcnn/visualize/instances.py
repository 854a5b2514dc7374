"""Instances over an image: matterport's ``display_instances``, ground truth beside detections
(``side_by_side``) and ``draw_instances``, which draws into an array without a figure."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._colors import class_palette, ink, random_colors
from ._drawing import (
    add_box,
    add_outline,
    apply_mask,
    as_rgb,
    blend_top_masks,
    check_instances,
    frame,
    label,
)
from ._figure import axes_or_new, finish, subplots
from ._text import draw_outlines_and_labels


def display_instances(image, boxes, masks, class_ids, class_names, scores=None, title="",
                      figsize=(16, 16), ax=None, show_mask=True, show_bbox=True, colors=None,
                      captions=None, save_path=None) -> Figure:
    """Draw instances over ``image``: mask fill and outline, dashed box, "name score" label.

    image (H, W, 3); boxes (N, 4) y1, x1, y2, x2 pixels (None: from the masks); masks
    (H, W, N) bool or None; class_ids (N,); scores (N,) or None; captions replace the labels.
    """
    image = as_rgb(image)
    boxes, masks, class_ids, scores = check_instances(image, boxes, masks, class_ids, scores,
                                                      captions, colors)
    n = len(boxes)
    ax, created = axes_or_new(ax, figsize)
    if n == 0:
        title = f"{title}\n*** No instances to display ***" if title else \
            "*** No instances to display ***"
    colors = random_colors(n) if colors is None else list(colors)
    frame(ax, image.shape, 10, title)
    canvas = image.astype(np.float32)
    # labels that follow the picture's size on the page: small panels, small labels
    position, (fig_w, fig_h) = ax.get_position(), ax.figure.get_size_inches()
    panel_pt = 72 * min(position.width * fig_w, position.height * fig_h)
    fontsize = float(np.clip(panel_pt / 28, 6, 11))
    for i in range(n):
        color = colors[i]
        y1, x1 = boxes[i][:2]
        if show_bbox and np.any(boxes[i]):
            add_box(ax, boxes[i], color)
        if show_mask and masks is not None:
            apply_mask(canvas, masks[..., i], color)
            add_outline(ax, masks[..., i], color)
        text = captions[i] if captions is not None else label(
            class_names, int(class_ids[i]), None if scores is None else scores[i])
        if text:
            ax.text(x1, y1, text, color=ink(color), fontsize=fontsize, va="bottom",
                    bbox=dict(facecolor=color, alpha=0.8, edgecolor="none", pad=1.5))
    ax.imshow(np.round(canvas).astype(np.uint8))
    return finish(ax.figure, created, save_path)


def side_by_side(image, gt, pred, class_names, save_path=None,
                 titles=("Ground truth", "Detections"), figsize=None) -> Figure:
    """Ground truth (left) next to detections (right); one row per image.

    image (H, W, 3) or a list of them; gt (boxes, masks, class_ids) and pred (boxes, masks,
    class_ids, scores) or a ``detect()`` result dict, or lists of these, one per image.
    Instances are coloured by class, so the two sides compare at a glance. The default
    ``figsize`` is 12 inches wide with rows as high as the images' aspect ratio needs.
    """
    many = isinstance(image, (list, tuple)) or np.ndim(image) == 4
    images, gts, preds = (list(image), list(gt), list(pred)) if many else ([image], [gt], [pred])
    if not len(images) == len(gts) == len(preds):
        raise ValueError(f"{len(images)} images but {len(gts)} gt and {len(preds)} pred entries")
    if figsize is None:  # rows as high as the images need: no gaps around wide pictures
        width = 12.0
        heights = [width / 2 * np.shape(img)[0] / max(np.shape(img)[1], 1) + 0.6
                   for img in images]
        figsize = (width, sum(heights))
    else:
        heights = [1.0] * len(images)
    # each row as high as its own images (a wide photo above a tall one leaves no gap)
    fig, axes = subplots(len(images), 2, figsize, gridspec_kw={"height_ratios": heights})
    for row, (img, g, p) in enumerate(zip(images, gts, preds)):
        if isinstance(p, dict):
            p = (p["rois"], p["masks"], p["class_ids"], p["scores"])
        for col, inst in enumerate((tuple(g)[:3] + (None,), (tuple(p) + (None,))[:4])):
            boxes, masks, ids, scores = inst
            ids = np.asarray(ids, dtype=np.int64).reshape(-1)
            display_instances(img, boxes, masks, ids, class_names, scores,
                              title=f"{titles[col]} ({len(ids)})", ax=axes[row, col],
                              colors=class_palette(ids, len(class_names)))
    fig.tight_layout()
    return finish(fig, True, save_path)


def draw_instances(image, boxes, masks, class_ids, class_names, scores=None, colors=None,
                   alpha=0.5, show_labels=True) -> np.ndarray:
    """Annotated copy of ``image`` as an (H, W, 3) uint8 array, drawn without a figure.

    Mask overlay, 2-pixel box outline and a "name score" label per instance (arguments as
    ``display_instances``; text drawn with PIL). Fast enough to write one PNG per image in
    batch detection.
    """
    out = as_rgb(image)
    boxes, masks, class_ids, scores = check_instances(out, boxes, masks, class_ids, scores,
                                                      None, colors)
    colors = random_colors(len(boxes)) if colors is None else list(colors)
    if masks is not None:
        out = blend_top_masks(out, masks, colors, alpha)
    labels = [label(class_names, int(c), None if scores is None else scores[i])
              if show_labels else None for i, c in enumerate(class_ids)]
    return draw_outlines_and_labels(out, boxes, labels, colors)
