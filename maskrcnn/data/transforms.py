"""Image and mask transforms on numpy arrays: resize and pad, boxes from masks, mini-masks,
and the image meta vector. Names and return values follow matterport's ``utils``.
"""
from __future__ import annotations

import cv2
import numpy as np
import scipy.ndimage
import skimage.transform

from ..config import PAD_MULTIPLES


def resize_image(image: np.ndarray, min_dim: int | None = None, max_dim: int | None = None,
                 min_scale: float | None = None, mode: str = "square",
                 rng: np.random.Generator | None = None, convention: str = "aligned"):
    """Resize and pad an (H, W, C) image as ``mode`` says (see Config.IMAGE_RESIZE_MODE).

    ``convention`` (Config.BOX_CONVENTION) chooses the resampling: "matterport" resizes as
    matterport did (scikit-image, bilinear, values truncated to the input dtype), "aligned"
    with OpenCV's bilinear resize.

    Returns (image, window, scale, padding, crop): window is (y1, x1, y2, x2) of the image
    inside the padded result, in pixels; padding is [(top, bottom), (left, right), (0, 0)];
    crop is (y, x, h, w) in resized pixels for mode "crop", else None.
    """
    dtype = image.dtype
    h, w = image.shape[:2]
    window, scale, padding, crop = (0, 0, h, w), 1.0, [(0, 0), (0, 0), (0, 0)], None
    if mode != "none":
        if min_dim:
            scale = max(1.0, min_dim / min(h, w))
        if min_scale and scale < min_scale:
            scale = float(min_scale)
        if max_dim and mode in ("square", "pad64", "pad32"):
            if round(max(h, w) * scale) > max_dim:
                scale = max_dim / max(h, w)
        if scale != 1:
            new_hw = (max(1, round(h * scale)), max(1, round(w * scale)))
            image = (resize_as_matterport(image, new_hw) if convention == "matterport"
                     else resize(image, new_hw))
    h, w = image.shape[:2]
    if mode == "square":
        top, left = (max_dim - h) // 2, (max_dim - w) // 2
        padding = [(top, max_dim - h - top), (left, max_dim - w - left), (0, 0)]
    elif mode in ("pad64", "pad32", "none"):
        ph, pw = (-h) % PAD_MULTIPLES[mode], (-w) % PAD_MULTIPLES[mode]
        padding = [(ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)]
    elif mode == "crop":
        rng = rng or np.random.default_rng()
        if h < min_dim or w < min_dim:  # upscale_only scale may leave a side short: pad it
            ph, pw = max(0, min_dim - h), max(0, min_dim - w)
            image = np.pad(image, [(0, ph), (0, pw), (0, 0)])
            h, w = image.shape[:2]
        y, x = int(rng.integers(0, h - min_dim + 1)), int(rng.integers(0, w - min_dim + 1))
        crop = (y, x, min_dim, min_dim)
        image = image[y:y + min_dim, x:x + min_dim]
        window = (0, 0, min_dim, min_dim)
        return image.astype(dtype), window, scale, padding, crop
    else:
        raise ValueError(f"unknown resize mode {mode!r}")
    if any(p != (0, 0) for p in padding):
        image = np.pad(image, padding[: image.ndim])
    window = (padding[0][0], padding[1][0], padding[0][0] + h, padding[1][0] + w)
    return image.astype(dtype), window, scale, padding, crop


def resize(image: np.ndarray, hw: tuple[int, int], interpolation: int = cv2.INTER_LINEAR):
    """Resize an (H, W) or (H, W, C) array of any channel count to ``hw`` (height, width)."""
    h, w = int(hw[0]), int(hw[1])
    if image.ndim == 3 and image.shape[2] == 0:
        return np.zeros((h, w, 0), dtype=image.dtype)
    if image.dtype == bool:
        out = resize(image.astype(np.uint8), hw, cv2.INTER_NEAREST)
        return out.astype(bool)
    if image.ndim == 3 and image.shape[2] > 4:  # cv2 handles at most 512, split to be safe
        return np.concatenate([resize(image[..., i:i + 4], hw, interpolation)
                               for i in range(0, image.shape[2], 4)], axis=2)
    out = cv2.resize(image, (w, h), interpolation=interpolation)
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def resize_as_matterport(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize as matterport's ``utils.resize_image``: scikit-image bilinear (order 1), range
    kept, no anti-aliasing, then cast back to the input dtype (truncation for uint8).

    uint8 images take scikit-image's own steps (``ndimage.zoom`` on the pixel grid, clipped to
    the input's range) without its float64 copy of the whole input (2.6 GB for a 12000 x
    9000 photo): zoom reads the uint8 pixels and computes in float64 itself, so the result
    is bit for bit scikit-image's."""
    hw = (int(hw[0]), int(hw[1]))
    if image.dtype != np.uint8:
        out = skimage.transform.resize(image, hw, order=1, mode="constant", cval=0, clip=True,
                                       preserve_range=True, anti_aliasing=False)
        return out.astype(image.dtype)
    shape = hw + image.shape[2:]
    zoom = [1 / (i / o) for i, o in zip(image.shape, shape)]  # scikit-image's factors
    out = scipy.ndimage.zoom(image, zoom, output=np.float64, order=1, mode="grid-constant",
                             cval=0, grid_mode=True)
    low, high = float(image.min()), float(image.max())
    if not low <= 0 <= high and out.min() <= 0 <= out.max():  # scikit-image keeps cval
        low, high = min(low, 0.0), max(high, 0.0)
    np.clip(out, low, high, out=out)
    return out.astype(image.dtype)


def resize_mask(mask: np.ndarray, scale: float, padding, crop=None) -> np.ndarray:
    """Apply to (H, W, N) bool masks the resize, padding and crop ``resize_image`` returned."""
    h, w = mask.shape[:2]
    if scale != 1:
        mask = resize(mask, (max(1, round(h * scale)), max(1, round(w * scale))))
    if crop is not None:
        y, x, ch, cw = crop
        mh, mw = mask.shape[:2]
        if mh < y + ch or mw < x + cw:
            mask = np.pad(mask, [(0, max(0, y + ch - mh)), (0, max(0, x + cw - mw)), (0, 0)])
        return mask[y:y + ch, x:x + cw]
    return np.pad(mask, padding[: mask.ndim])


def random_crop(image: np.ndarray, masks: np.ndarray, window, side: int,
                rng: np.random.Generator):
    """A random ``side`` x ``side`` part of a resized, padded (H, W, 3) image and its
    (H, W, N) masks; a dimension of ``side`` or less is kept whole. ``window`` (y1, x1, y2,
    x2) is where the image lies in the padded frame; the crop's offset is drawn so the crop
    lies on the image where it can. Returns (image, masks, window), the window now of the
    crop (empty, y2 <= y1 or x2 <= x1, when the crop holds only padding)."""
    starts = []
    for axis in (0, 1):
        length, low, high = image.shape[axis], window[axis], window[axis + 2]
        if length <= side:
            starts.append(0)
            continue
        first = min(max(0, low), length - side)  # the crop on the image where it fits
        last = max(first, min(high - side, length - side))
        starts.append(int(rng.integers(first, last + 1)))
    y, x = starts
    h, w = min(side, image.shape[0]), min(side, image.shape[1])
    window = (max(window[0] - y, 0), max(window[1] - x, 0),
              min(window[2] - y, h), min(window[3] - x, w))
    return image[y:y + h, x:x + w], masks[y:y + h, x:x + w], window


def extract_bboxes(mask: np.ndarray) -> np.ndarray:
    """(H, W, N) masks -> (N, 4) int32 boxes (y1, x1, y2, x2), y2/x2 exclusive; zeros for
    empty masks."""
    n = mask.shape[-1]
    boxes = np.zeros((n, 4), dtype=np.int32)
    if n == 0:
        return boxes
    rows = np.any(mask, axis=1)  # (H, N)
    cols = np.any(mask, axis=0)  # (W, N)
    has = rows.any(axis=0)
    h, w = mask.shape[:2]
    y1 = np.argmax(rows, axis=0)
    y2 = h - np.argmax(rows[::-1], axis=0)
    x1 = np.argmax(cols, axis=0)
    x2 = w - np.argmax(cols[::-1], axis=0)
    boxes[:] = np.stack([y1, x1, y2, x2], axis=1)
    boxes[~has] = 0
    return boxes


def minimize_mask(bbox: np.ndarray, mask: np.ndarray, mini_shape) -> np.ndarray:
    """Crop each (H, W, N) mask to its box and resize it to ``mini_shape``: (h, w, N) bool."""
    out = np.zeros(tuple(mini_shape) + (mask.shape[-1],), dtype=bool)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i]
        crop = mask[y1:y2, x1:x2, i]
        if crop.size == 0:
            continue
        small = cv2.resize(crop.astype(np.float32), (mini_shape[1], mini_shape[0]),
                           interpolation=cv2.INTER_LINEAR)
        out[..., i] = small >= 0.5
    return out


def expand_mask(bbox: np.ndarray, mini_mask: np.ndarray, image_shape) -> np.ndarray:
    """Inverse of ``minimize_mask``: (h, w, N) mini-masks -> (H, W, N) bool full masks."""
    out = np.zeros(tuple(image_shape[:2]) + (mini_mask.shape[-1],), dtype=bool)
    for i in range(mini_mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i]
        if y2 <= y1 or x2 <= x1:
            continue
        big = cv2.resize(mini_mask[..., i].astype(np.float32), (x2 - x1, y2 - y1),
                         interpolation=cv2.INTER_LINEAR)
        out[y1:y2, x1:x2, i] = big >= 0.5
    return out


def compose_image_meta(image_id, original_image_shape, image_shape, window, scale,
                       active_class_ids) -> np.ndarray:
    """Matterport's image meta vector: id, original shape (3), molded shape (3), window (4),
    scale (1), active class ids (NUM_CLASSES). ``image_id`` is the dataset's internal index."""
    return np.array([image_id] + list(original_image_shape) + list(image_shape) + list(window)
                    + [scale] + list(active_class_ids), dtype=np.float32)


def parse_image_meta(meta: np.ndarray) -> dict[str, np.ndarray]:
    """Split (..., META_SIZE) image meta into its named parts."""
    meta = np.asarray(meta)
    return {"image_id": meta[..., 0].astype(np.int64),
            "original_image_shape": meta[..., 1:4].astype(np.int64),
            "image_shape": meta[..., 4:7].astype(np.int64),
            "window": meta[..., 7:11].astype(np.int64),
            "scale": meta[..., 11],
            "active_class_ids": meta[..., 12:].astype(np.int32)}


def mold_image(images: np.ndarray, config) -> np.ndarray:
    """Subtract the mean pixel; the model does this itself, this is for matterport code."""
    return images.astype(np.float32) - np.asarray(config.MEAN_PIXEL, dtype=np.float32)


def unmold_image(normalized_images: np.ndarray, config) -> np.ndarray:
    return (normalized_images + np.asarray(config.MEAN_PIXEL)).clip(0, 255).astype(np.uint8)
