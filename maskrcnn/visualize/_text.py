"""Text on image arrays with PIL: a TrueType font (matplotlib's DejaVu Sans), or PIL's own
(internal). Labels are optional: a missing font never fails a batch of pictures."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=16)
def font(size_px: int):
    """A font ``size_px`` pixels high: DejaVu Sans (shipped with matplotlib), else PIL's."""
    try:
        from matplotlib import font_manager
        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size_px)
    except Exception:  # no usable TrueType file: PIL's bundled font
        try:
            return ImageFont.load_default(size=size_px)
        except Exception:
            return None


def label_strip(draw: ImageDraw.ImageDraw, text: str, fnt, y: int, x: int, rgb) -> None:
    """White ``text`` on a strip of darkened ``rgb`` just above (y, x), below it at the top
    edge, shifted left at the right edge so that it stays inside the image."""
    if fnt is None or not text:
        return
    width, height = draw.im.size
    left, top, right, bottom = draw.textbbox((0, 0), text, font=fnt)
    tw, th = right - left + 4, bottom - top + 2
    y0 = y - th if y - th >= 0 else min(y, max(height - th, 0))
    x0 = min(max(x, 0), max(width - tw, 0))
    back = tuple(int(c * 0.6) for c in rgb)
    draw.rectangle([x0, y0, x0 + tw - 1, y0 + th - 1], fill=back)
    draw.text((x0 + 2 - left, y0 + 1 - top), text, font=fnt, fill=(255, 255, 255))


def label_size(h: int, w: int) -> int:
    """Label height in pixels that follows the image size: a 50th of the shorter side, at
    least 8 px, but never over a 12th of it (5 px on a 64 px picture, where 8 px labels
    would cover the objects)."""
    side = min(int(h), int(w))
    return max(5, min(side // 12, max(8, side // 50)))


def draw_outlines_and_labels(image: np.ndarray, boxes, labels, colors, width=2) -> np.ndarray:
    """(H, W, 3) uint8 copy of ``image`` with each box outlined ``width`` pixels inside it and
    its label (None: no label) over it; all-zero boxes are skipped."""
    h, w = image.shape[:2]
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    fnt = font(label_size(h, w)) if any(t for t in labels) else None
    for box, text, color in zip(boxes, labels, colors):
        if not np.any(box):
            continue
        rgb = tuple(int(c * 255) for c in color[:3])
        y1, x1, y2, x2 = np.round(box).astype(int)
        if x2 > x1 and y2 > y1:
            draw.rectangle([x1, y1, x2 - 1, y2 - 1], outline=rgb, width=width)
        label_strip(draw, text, fnt, y1, x1, rgb)
    return np.asarray(picture).copy()
