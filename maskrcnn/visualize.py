"""Pictures of images, instances, detections and training curves.

Keeps the names and arguments of matterport's ``visualize`` module so that its notebooks run
unchanged. Boxes are (N, 4) ``(y1, x1, y2, x2)`` in pixels, masks (H, W, N) bool, colours RGB
floats in [0, 1]. Functions that draw return the matplotlib ``Figure`` (or the given ``ax``'s).

Figures and notebooks: in Jupyter a figure shows once, whether it is the cell's last
expression or drawn in a loop. With a non-GUI backend (Agg, as in scripts and tests) figures are
not registered with pyplot, so nothing is left open; pass ``save_path`` or call ``fig.savefig``.
Only ``draw_instances`` draws without a figure: it returns an annotated (H, W, 3) uint8 array.
"""
from __future__ import annotations

import colorsys
import io
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patches
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from skimage.draw import rectangle_perimeter
from skimage.measure import find_contours

_HEADLESS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
TP_COLOR, FP_COLOR, MISSED_COLOR = (0.1, 0.75, 0.1), (1.0, 0.1, 0.1), (1.0, 0.85, 0.0)


# ----------------------------------------------------------------------------- figures
def _headless() -> bool:
    return matplotlib.get_backend().lower() in _HEADLESS


class NotebookFigure(Figure):
    """A Figure that Jupyter shows exactly once (as the cell's value or at the end of the cell)."""

    def _ipython_display_(self):
        if not (_headless() or "inline" in matplotlib.get_backend().lower()):
            return  # GUI and widget backends show the figure themselves
        from IPython.display import Image, display
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        display(Image(buf.getvalue()))
        plt.close(self)  # keeps the inline backend from showing it again at the end of the cell


def _subplots(nrows: int = 1, ncols: int = 1, figsize=(16, 16)):
    """A new figure and its (nrows, ncols) array of axes; pyplot-managed only on a display."""
    if _headless():
        fig = NotebookFigure(figsize=figsize)
    else:
        fig = plt.figure(figsize=figsize, FigureClass=NotebookFigure)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _finish(fig: Figure, created: bool, save_path: str | None) -> Figure:
    """Save (and close what we opened) when asked; otherwise show a window in GUI scripts."""
    if save_path:
        fig.savefig(save_path, bbox_inches="tight")
        if created:
            plt.close(fig)
    elif created and not _headless() and "IPython" not in sys.modules:
        plt.show()
    return fig


# ----------------------------------------------------------------------------- colours, masks
def random_colors(N: int, bright: bool = True, seed: int | None = None) -> list[tuple]:
    """N distinct RGB colours in [0, 1]: evenly spaced hues, shuffled (``seed`` fixes order)."""
    value = 1.0 if bright else 0.7
    colors = [colorsys.hsv_to_rgb(i / max(N, 1), 1.0, value) for i in range(N)]
    order = np.random.default_rng(seed).permutation(N)
    return [colors[i] for i in order]


def apply_mask(image: np.ndarray, mask: np.ndarray, color, alpha: float = 0.5) -> np.ndarray:
    """Blend ``color`` (RGB in [0, 1]) into (H, W, 3) ``image`` where (H, W) ``mask`` is set.

    Works in place, as matterport's did, and returns the image.
    """
    m = np.asarray(mask).astype(bool)
    for c in range(3):
        image[..., c] = np.where(m, image[..., c] * (1 - alpha) + alpha * color[c] * 255,
                                 image[..., c])
    return image


def _as_rgb(image) -> np.ndarray:
    """(H, W), (H, W, 1|3|4), uint8 or float in [0, 1] -> (H, W, 3) uint8."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    image = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]
    if image.dtype.kind == "f" and image.size and image.max() <= 1.0:
        image = image * 255
    return np.clip(image, 0, 255).astype(np.uint8)


def _check(image, boxes, masks, class_ids, scores=None, captions=None, colors=None):
    """Arrays as numpy, checked to describe the same N instances of the same image."""
    h, w = np.shape(image)[:2]
    class_ids = np.asarray(class_ids if class_ids is not None else [], dtype=np.int64).reshape(-1)
    counts = {"class_ids": len(class_ids)}
    if masks is not None:
        masks = np.asarray(masks).astype(bool, copy=False)
        if masks.ndim == 2:
            masks = masks[..., None]
        counts["masks (last axis)"] = masks.shape[-1]
        if masks.shape[-1] and masks.shape[:2] != (h, w):
            raise ValueError(f"masks are {masks.shape[:2]} but the image is {(h, w)}")
    if boxes is None:
        from .data.transforms import extract_bboxes
        boxes = extract_bboxes(masks) if masks is not None else np.zeros((0, 4))
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4) y1, x1, y2, x2, got shape {boxes.shape}")
    counts["boxes"] = len(boxes)
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        counts["scores"] = len(scores)
    if captions is not None:
        counts["captions"] = len(captions)
    if len(set(counts.values())) > 1:
        said = ", ".join(f"{k} has {v}" for k, v in counts.items())
        raise ValueError(f"instance counts differ: {said}; they must match one to one")
    if colors is not None and len(colors) < len(boxes):
        raise ValueError(f"colors has {len(colors)} entries for {len(boxes)} instances")
    return boxes, masks, class_ids, scores


def _ink(color) -> str:
    """Black or white, whichever reads better on ``color``."""
    r, g, b = to_rgb(color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white"


def _label(class_names, class_id, score=None) -> str:
    name = class_names[class_id] if 0 <= class_id < len(class_names) else str(class_id)
    return name if score is None else f"{name} {score:.2f}"


# ----------------------------------------------------------------------------- instances
def display_instances(image, boxes, masks, class_ids, class_names, scores=None, title="",
                      figsize=(16, 16), ax=None, show_mask=True, show_bbox=True, colors=None,
                      captions=None, save_path=None) -> Figure:
    """Draw instances over ``image``: mask fill and outline, dashed box, "name score" label.

    image (H, W, 3); boxes (N, 4) y1, x1, y2, x2 pixels (None: from the masks); masks
    (H, W, N) bool or None; class_ids (N,); scores (N,) or None; captions replace the labels.
    """
    image = _as_rgb(image)
    boxes, masks, class_ids, scores = _check(image, boxes, masks, class_ids, scores, captions,
                                             colors)
    n = len(boxes)
    created = ax is None
    if created:
        fig, axes = _subplots(figsize=figsize)
        ax = axes[0, 0]
    if n == 0:
        title = f"{title}\n*** No instances to display ***" if title else \
            "*** No instances to display ***"
    colors = random_colors(n) if colors is None else list(colors)
    h, w = image.shape[:2]
    ax.set_ylim(h + 10, -10)
    ax.set_xlim(-10, w + 10)
    ax.axis("off")
    ax.set_title(title)
    canvas = image.astype(np.float32)
    fontsize = 11 if ax.get_position().width * ax.figure.get_figwidth() > 7 else 9
    for i in range(n):
        color = colors[i]
        y1, x1, y2, x2 = boxes[i]
        if show_bbox and np.any(boxes[i]):
            ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2, alpha=0.8,
                                           linestyle="dashed", edgecolor=color, facecolor="none"))
        if show_mask and masks is not None:
            apply_mask(canvas, masks[..., i], color)
            for verts in find_contours(np.pad(masks[..., i], 1).astype(np.float32), 0.5):
                ax.add_patch(patches.Polygon(verts[:, ::-1] - 1, facecolor="none",
                                             edgecolor=color, linewidth=1.5))
        text = captions[i] if captions is not None else _label(
            class_names, int(class_ids[i]), None if scores is None else scores[i])
        if text:
            ax.text(x1, y1, text, color=_ink(color), fontsize=fontsize, va="bottom",
                    bbox=dict(facecolor=color, alpha=0.8, edgecolor="none", pad=1.5))
    ax.imshow(np.round(canvas).astype(np.uint8))
    return _finish(ax.figure, created, save_path)


def side_by_side(image, gt, pred, class_names, save_path=None,
                 titles=("Ground truth", "Detections"), figsize=None) -> Figure:
    """Ground truth (left) next to detections (right); one row per image.

    image (H, W, 3) or a list of them; gt (boxes, masks, class_ids) and pred (boxes, masks,
    class_ids, scores) or a ``detect()`` result dict, or lists of these, one per image.
    Instances are coloured by class, so the two sides compare at a glance.
    """
    many = isinstance(image, (list, tuple)) or np.ndim(image) == 4
    images, gts, preds = (list(image), list(gt), list(pred)) if many else ([image], [gt], [pred])
    if not len(images) == len(gts) == len(preds):
        raise ValueError(f"{len(images)} images but {len(gts)} gt and {len(preds)} pred entries")
    palette = random_colors(len(class_names), seed=1)
    fig, axes = _subplots(len(images), 2, figsize or (12, 6 * len(images)))
    for row, (img, g, p) in enumerate(zip(images, gts, preds)):
        if isinstance(p, dict):
            p = (p["rois"], p["masks"], p["class_ids"], p["scores"])
        for col, inst in enumerate((tuple(g)[:3] + (None,), (tuple(p) + (None,))[:4])):
            boxes, masks, ids, scores = inst
            ids = np.asarray(ids, dtype=np.int64).reshape(-1)
            colors = [palette[int(c) % len(palette)] for c in ids]
            display_instances(img, boxes, masks, ids, class_names, scores,
                              title=f"{titles[col]} ({len(ids)})", ax=axes[row, col],
                              colors=colors)
    fig.tight_layout()
    return _finish(fig, True, save_path)


def draw_instances(image, boxes, masks, class_ids, class_names, scores=None, colors=None,
                   alpha=0.5, show_labels=True) -> np.ndarray:
    """Annotated copy of ``image`` as an (H, W, 3) uint8 array, drawn without a figure.

    Mask overlay, 2-pixel box outline and a "name score" label per instance (arguments as
    ``display_instances``). Fast enough to write one PNG per image in batch detection.
    """
    out = _as_rgb(image)
    boxes, masks, class_ids, scores = _check(out, boxes, masks, class_ids, scores, None, colors)
    colors = random_colors(len(boxes)) if colors is None else list(colors)
    canvas = out.astype(np.float32)
    h, w = out.shape[:2]
    if masks is not None and len(boxes):  # one blend per pixel, by the topmost (last) mask
        covered = masks.any(axis=-1)
        top = len(boxes) - 1 - np.argmax(masks[covered][:, ::-1], axis=-1)
        palette = np.asarray([c[:3] for c in colors[:len(boxes)]], np.float32) * 255
        canvas[covered] = canvas[covered] * (1 - alpha) + alpha * palette[top]
    out = np.round(canvas).astype(np.uint8)
    font = _font(max(8, min(h, w) // 50)) if show_labels else None
    for i in range(len(boxes)):
        rgb = (np.asarray(colors[i]) * 255).astype(np.uint8)
        y1, x1, y2, x2 = np.round(boxes[i]).astype(int)
        if not np.any(boxes[i]):
            continue
        for t in range(2):  # outline, two pixels thick, inside the box
            rr, cc = rectangle_perimeter((y1 + t, x1 + t), (y2 - 1 - t, x2 - 1 - t), shape=(h, w))
            out[rr, cc] = rgb
        if font is not None:
            _stamp(out, _label(class_names, int(class_ids[i]),
                               None if scores is None else scores[i]), font, y1, x1, rgb)
    return out


def _font(size_px: int):
    """A FreeType font at ``size_px`` pixels (matplotlib's DejaVu Sans), or None if unusable."""
    try:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font
        font = FT2Font(font_manager.findfont("DejaVu Sans"))
        font.set_size(size_px, 72)
        return font
    except Exception:  # labels are optional; never fail a batch on fonts
        return None


def _stamp(out: np.ndarray, text: str, font, y: int, x: int, rgb: np.ndarray) -> None:
    """Write white ``text`` on an ``rgb`` strip just above (y, x) (below it at the top edge)."""
    font.set_text(text, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    glyphs = np.asarray(font.get_image(), dtype=np.float32) / 255
    th, tw = glyphs.shape[0] + 2, glyphs.shape[1] + 4
    h, w = out.shape[:2]
    top = y - th if y - th >= 0 else min(y, max(h - th, 0))
    left = min(max(x, 0), max(w - tw, 0))
    strip = np.empty((th, tw, 3), np.float32)
    strip[:] = rgb * 0.6
    strip[1:1 + glyphs.shape[0], 2:2 + glyphs.shape[1]] += glyphs[..., None] * (255 - strip[0, 0])
    region = out[top:top + th, left:left + tw]
    region[:] = np.clip(strip[:region.shape[0], :region.shape[1]], 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- data inspection
def display_images(images, titles=None, cols=4, cmap=None, norm=None, interpolation=None,
                   save_path=None) -> Figure:
    """Images in a grid, ``cols`` per row, each with its title (None or "" for none)."""
    titles = list(titles) if titles is not None else [""] * len(images)
    rows = max(1, -(-len(images) // cols))
    fig, axes = _subplots(rows, cols, (14, max(3.5, 14 * rows / cols)))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.set_title(titles[i] if i < len(titles) else "", fontsize=9)
            image = np.asarray(images[i])
            ax.imshow(_as_rgb(image) if image.ndim == 3 else image, cmap=cmap, norm=norm,
                      interpolation=interpolation)
    fig.tight_layout()
    return _finish(fig, True, save_path)


def _top_masks(mask, class_ids, class_names, limit):
    """The ``limit`` classes covering most pixels: ([(H, W) label maps], [names]), padded."""
    mask = np.asarray(mask).astype(bool)
    class_ids = np.asarray(class_ids).reshape(-1)
    ids = np.unique(class_ids)
    area = [mask[..., class_ids == c].sum() for c in ids]
    top = [ids[i] for i in np.argsort(area)[::-1]][:limit]
    maps, names = [], []
    for c in top:
        picked = mask[..., class_ids == c]
        maps.append(np.max(picked * np.arange(1, picked.shape[-1] + 1), axis=-1))
        names.append(_label(class_names, int(c)))
    blank = np.zeros(mask.shape[:2])
    return maps + [blank] * (limit - len(maps)), names + ["-"] * (limit - len(names))


def display_top_masks(image, mask, class_ids, class_names, limit=4) -> Figure:
    """The image, then one panel per class (the ``limit`` largest by area) showing its masks."""
    maps, names = _top_masks(mask, class_ids, class_names, limit)
    return display_images([_as_rgb(image)] + maps, ["H x W={}x{}".format(*np.shape(image)[:2])]
                          + names, cols=limit + 1, cmap="Blues_r")


def display_dataset_samples(dataset, image_ids, class_names=None, limit=4,
                            save_path=None) -> Figure:
    """One row per image id: the image, then its ``limit`` largest classes' masks."""
    class_names = class_names or dataset.class_names
    image_ids = list(image_ids)
    rows = max(1, len(image_ids))
    fig, axes = _subplots(rows, limit + 1, (3 * (limit + 1), 3 * rows))
    for row, image_id in enumerate(image_ids):
        image, masks, class_ids = dataset.load_image_and_masks(image_id)
        maps, names = _top_masks(masks, class_ids, class_names, limit)
        axes[row, 0].imshow(_as_rgb(image))
        n = len(class_ids)
        axes[row, 0].set_title(f"{dataset.image_reference(image_id)}\n{n} instance"
                               + "s" * (n != 1), fontsize=9)
        for ax, m, name in zip(axes[row, 1:], maps, names):
            ax.imshow(m, cmap="Blues_r")
            ax.set_title(name, fontsize=9)
        for ax in axes[row]:
            ax.axis("off")
    fig.tight_layout()
    return _finish(fig, True, save_path)


def draw_boxes(image, boxes=None, refined_boxes=None, masks=None, captions=None,
               visibilities=None, title="", ax=None, save_path=None) -> Figure:
    """Proposals and their refinements: ``boxes`` dotted, ``refined_boxes`` solid, joined.

    visibilities (N,): 0 hides a box, 1 draws it faint, 2 (default) draws it fully.
    """
    image = _as_rgb(image)
    n = len(boxes) if boxes is not None else len(refined_boxes)
    if boxes is not None and refined_boxes is not None and len(boxes) != len(refined_boxes):
        raise ValueError(f"boxes has {len(boxes)} rows, refined_boxes {len(refined_boxes)}")
    created = ax is None
    if created:
        fig, axes = _subplots(figsize=(12, 12))
        ax = axes[0, 0]
    colors = random_colors(n)
    canvas = image.astype(np.float32)
    h, w = image.shape[:2]
    ax.set_ylim(h + 15, -15)
    ax.set_xlim(-15, w + 15)
    ax.axis("off")
    ax.set_title(title)
    for i in range(n):
        vis = 2 if visibilities is None else visibilities[i]
        if vis == 0:
            continue
        color, alpha = (colors[i], 1.0) if vis == 2 else ("gray", 0.5)
        if boxes is not None:
            y1, x1, y2, x2 = boxes[i]
            ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2,
                                           alpha=alpha, linestyle="dotted", edgecolor=color,
                                           facecolor="none"))
        if refined_boxes is not None:
            ry1, rx1, ry2, rx2 = refined_boxes[i]
            ax.add_patch(patches.Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, linewidth=2,
                                           edgecolor=color, facecolor="none"))
            if boxes is not None:
                ax.plot([x1, rx1], [y1, ry1], color=color, linewidth=1)
            y1, x1 = ry1, rx1
        if captions is not None:
            ax.text(x1, y1, captions[i], color=_ink(color), fontsize=9, va="bottom",
                    bbox=dict(facecolor=color, alpha=0.8, edgecolor="none", pad=1))
        if masks is not None:
            apply_mask(canvas, np.asarray(masks)[..., i], colors[i])
    ax.imshow(np.round(canvas).astype(np.uint8))
    return _finish(ax.figure, created, save_path)


def draw_rois(image, rois, refined_rois, mask, class_ids, class_names, limit=10) -> Figure:
    """Up to ``limit`` random ROIs (dotted) with their refined boxes (solid) and class names.

    ``mask`` is accepted for matterport compatibility and not drawn.
    """
    class_ids = np.asarray(class_ids).reshape(-1)
    pick = np.random.default_rng().permutation(len(rois))[:limit]
    fig = draw_boxes(image, np.asarray(rois)[pick], np.asarray(refined_rois)[pick],
                     captions=[_label(class_names, int(c)) for c in class_ids[pick]],
                     title=f"ROIs: showing {len(pick)} of {len(rois)}, "
                           f"{int(np.sum(class_ids > 0))} positive")
    return fig


def draw_box(image: np.ndarray, box, color) -> np.ndarray:
    """Draw a 3-pixel box outline of ``color`` (0..255 RGB) into ``image`` in place."""
    y1, x1, y2, x2 = (int(v) for v in box)
    image[y1:y1 + 3, x1:x2] = color
    image[y2 - 3:y2, x1:x2] = color
    image[y1:y2, x1:x1 + 3] = color
    image[y1:y2, x2 - 3:x2] = color
    return image


# ----------------------------------------------------------------------------- evaluation
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
    gt_box, gt_mask, gt_ids, _ = _check(image, gt_box, gt_mask, gt_class_id)
    pred_box, pred_mask, pred_ids, pred_score = _check(image, pred_box, pred_mask,
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
    captions = [f"GT {_label(class_names, int(c))}" for c in gt_ids] + [
        f"{_label(class_names, int(c))} {s:.2f} / {iou:.2f}"
        for c, s, iou in zip(pred_ids, pred_score, best)]
    title = title or (f"Ground truth vs. predictions: {int(np.sum(pred_match >= 0))} matched, "
                      f"{int(np.sum(pred_match < 0))} false, {int(np.sum(gt_match < 0))} missed"
                      "\ngreen = match, red = false positive, yellow = missed; score / IoU")
    created = ax is None
    if created:
        ax = _subplots(figsize=(12, 12))[1][0, 0]
    display_instances(image, np.concatenate([gt_box, pred_box]),
                      np.concatenate([gt_mask, pred_mask], axis=-1),
                      np.concatenate([gt_ids, pred_ids]), class_names, title=title, ax=ax,
                      show_mask=show_mask, show_bbox=show_box, colors=colors, captions=captions)
    for text, (_, x1, y2) in zip(ax.texts[:len(gt_ids)], gt_box[:, :3]):
        text.set_position((x1, y2))  # ground-truth labels under their box, predictions above
        text.set_verticalalignment("top")
    return _finish(ax.figure, created, save_path)


def plot_precision_recall(AP, precisions, recalls, ax=None, save_path=None) -> Figure:
    """The precision-recall curve, with AP in the title."""
    created = ax is None
    if created:
        fig, axes = _subplots(figsize=(6, 5))
        ax = axes[0, 0]
    ax.plot(recalls, precisions)
    ax.set(title=f"Precision-Recall Curve. AP@50 = {AP:.3f}", xlabel="recall",
           ylabel="precision", xlim=(0, 1.05), ylim=(0, 1.05))
    return _finish(ax.figure, created, save_path)


def plot_overlaps(gt_class_ids, pred_class_ids, pred_scores, overlaps, class_names,
                  threshold=0.5, save_path=None) -> Figure:
    """Grid of IoU between predictions (rows) and ground truths (columns), matches marked."""
    overlaps = np.asarray(overlaps).reshape(len(pred_class_ids), len(gt_class_ids))
    fig, axes = _subplots(figsize=(2 + 0.6 * len(gt_class_ids), 2 + 0.5 * len(pred_class_ids)))
    ax = axes[0, 0]
    ax.imshow(overlaps, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(pred_class_ids)), [
        f"{_label(class_names, int(c))} ({s:.2f})" for c, s in zip(pred_class_ids, pred_scores)])
    ax.set_xticks(range(len(gt_class_ids)), [_label(class_names, int(c)) for c in gt_class_ids],
                  rotation=90)
    for i, j in np.ndindex(overlaps.shape):
        hit = overlaps[i, j] >= threshold
        same = pred_class_ids[i] == gt_class_ids[j]
        note = "match" if hit and same else "wrong" if hit else ""
        ax.text(j, i, f"{overlaps[i, j]:.2f}\n{note}", ha="center", va="center", fontsize=8,
                color="white" if overlaps[i, j] > 0.6 else "black")
    ax.set(xlabel="Ground truth", ylabel="Predictions (score)", title="Overlaps (IoU)")
    fig.tight_layout()
    return _finish(fig, True, save_path)


# ----------------------------------------------------------------------------- training, tables
def plot_loss_history(history, title="Losses", ax=None, save_path=None) -> Figure:
    """One line per loss: training solid, ``val_`` dashed in the same colour, per epoch.

    history: ``{"loss": [...], "val_loss": [...], "rpn_class_loss": [...], ...}`` or a Keras
    ``History`` (its ``.history``). Keys without "loss" (such as learning rate) are skipped
    unless nothing else is there.
    """
    history = getattr(history, "history", history)
    names = [k for k in history if not k.startswith("val_")]
    names = [k for k in names if "loss" in k] or names
    created = ax is None
    if created:
        fig, axes = _subplots(figsize=(9, 5))
        ax = axes[0, 0]
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            values = np.asarray(history.get(key, []), dtype=np.float64)
            if values.size:
                ax.plot(np.arange(1, values.size + 1), values, style, color=color, label=key,
                        marker="o" if values.size == 1 else None)
    ax.set(title=title, xlabel="epoch", ylabel="loss")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8, ncol=2)
    return _finish(ax.figure, created, save_path)


def display_table(table) -> None:
    """Show rows of cells: an HTML table in a notebook, aligned text elsewhere."""
    rows = [[str(c) for c in row] for row in table]
    if "IPython" in sys.modules:
        from IPython import get_ipython
        if get_ipython() is not None and "Terminal" not in type(get_ipython()).__name__:
            from IPython.display import HTML, display
            html = "".join("<tr>" + "".join(f"<td>{c:40}</td>" for c in r) + "</tr>"
                           for r in rows)
            display(HTML(f"<table>{html}</table>"))
            return
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows),
                                                                             default=0))]
    for r in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())


def display_weight_stats(model) -> None:
    """Table of every weight's name, shape, min, max and standard deviation."""
    weights = getattr(getattr(model, "keras_model", model), "weights", [])
    table = [["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]]
    for w in weights:
        v = np.asarray(w)
        name = getattr(w, "path", None) or getattr(w, "name", "?")
        table.append([name, str(v.shape), f"{v.min():+9.4f}", f"{v.max():+10.4f}",
                      f"{v.std():+9.4f}"])
    display_table(table)
