"""Arrays for drawing: images as RGB uint8, instance arrays checked, masks blended (internal)."""
from __future__ import annotations

import numpy as np
from matplotlib import patches
from skimage.measure import find_contours

from ..data.box_masks import BoxMasks


def apply_mask(image: np.ndarray, mask: np.ndarray, color, alpha: float = 0.5) -> np.ndarray:
    """Blend ``color`` (RGB in [0, 1]) into (H, W, 3) ``image`` where (H, W) ``mask`` is set.

    Works in place, as matterport's did, and returns the image.
    """
    m = np.asarray(mask).astype(bool)
    for c in range(3):
        image[..., c] = np.where(m, image[..., c] * (1 - alpha) + alpha * color[c] * 255,
                                 image[..., c])
    return image


def draw_box(image: np.ndarray, box, color) -> np.ndarray:
    """Draw a 3-pixel box outline of ``color`` (0..255 RGB) into ``image`` in place."""
    y1, x1, y2, x2 = (int(v) for v in box)
    image[y1:y1 + 3, x1:x2] = color
    image[y2 - 3:y2, x1:x2] = color
    image[y1:y2, x1:x1 + 3] = color
    image[y1:y2, x2 - 3:x2] = color
    return image


def as_rgb(image) -> np.ndarray:
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


def check_instances(image, boxes, masks, class_ids, scores=None, captions=None, colors=None):
    """Arrays as numpy, checked to describe the same N instances of the same image:
    (boxes (N, 4) float, masks (H, W, N) bool or None, class_ids (N,), scores (N,) or None).
    Boxes left as None are computed from the masks."""
    h, w = np.shape(image)[:2]
    class_ids = np.asarray(class_ids if class_ids is not None else [], dtype=np.int64).reshape(-1)
    counts = {"class_ids": len(class_ids)}
    if masks is not None:
        if not isinstance(masks, BoxMasks):  # box crops stay so (blend_top_masks takes them)
            masks = np.asarray(masks).astype(bool, copy=False)
        if masks.ndim == 2:
            masks = masks[..., None]
        counts["masks (last axis)"] = masks.shape[-1]
        if masks.shape[-1] and masks.shape[:2] != (h, w):
            raise ValueError(f"masks are {masks.shape[:2]} but the image is {(h, w)}")
    if boxes is None:
        from ..data.transforms import extract_bboxes
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


def label(class_names, class_id, score=None) -> str:
    """"name score" (or the id when it has no name)."""
    name = class_names[class_id] if 0 <= class_id < len(class_names) else str(class_id)
    return name if score is None else f"{name} {score:.2f}"


def blend_top_masks(image: np.ndarray, masks: np.ndarray, colors, alpha: float) -> np.ndarray:
    """(H, W, 3) uint8: one blend per pixel, in the colour of the topmost (last) mask there.
    ``masks`` (H, W, N) bool or a BoxMasks."""
    out = image.copy()
    n = masks.shape[-1]
    if not n:
        return out
    if isinstance(masks, BoxMasks):  # painted box by box, in order
        top = masks.top_index()
    else:
        covered = masks.any(axis=-1)
        top = np.full(covered.shape, -1, np.int32)
        top[covered] = n - 1 - np.argmax(masks[covered][:, ::-1], axis=-1)
    palette = np.asarray([c[:3] for c in colors[:n]], np.float32) * 255
    for row in range(0, out.shape[0], 256):  # float32 for 256 rows at a time
        band, top_band = out[row:row + 256], top[row:row + 256]
        covered = top_band >= 0
        colour = palette[top_band[covered]]
        blended = band[covered].astype(np.float32) * (1 - alpha) + alpha * colour
        band[covered] = np.round(blended).astype(np.uint8)
    return out


def add_box(ax, box, color, linestyle="dashed", alpha=0.8, linewidth=2) -> None:
    """A (y1, x1, y2, x2) box outline on matplotlib axes."""
    y1, x1, y2, x2 = box
    ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=linewidth, alpha=alpha,
                                   linestyle=linestyle, edgecolor=color, facecolor="none"))


def add_outline(ax, mask, color) -> None:
    """The outline of a (H, W) mask on matplotlib axes (pixel centres, holes included)."""
    for verts in find_contours(np.pad(mask, 1).astype(np.float32), 0.5):
        ax.add_patch(patches.Polygon(verts[:, ::-1] - 1, facecolor="none", edgecolor=color,
                                     linewidth=1.5))


def frame(ax, image_shape, margin, title) -> None:
    """Axes limits around an image with ``margin`` pixels, no ticks, and a title."""
    h, w = image_shape[:2]
    ax.set_ylim(h + margin, -margin)
    ax.set_xlim(-margin, w + margin)
    ax.axis("off")
    ax.set_title(title)
