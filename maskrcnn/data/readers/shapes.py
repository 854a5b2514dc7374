"""Synthetic shapes: squares, circles and triangles on plain random backgrounds.

The built-in dataset of the demo and the tests: seeded, made in memory, no files. Each image
is drawn from a spec fixed at construction, so ``load_image`` and ``load_mask`` agree and a
seed gives the same data on every machine.
"""
from __future__ import annotations

import numpy as np
from skimage.draw import disk, polygon

from ..dataset import Dataset

SHAPE_NAMES = ("square", "circle", "triangle")


def _draw(shape: str, cy: float, cx: float, size: float, hw: tuple[int, int]):
    """Row and column indices of the pixels a shape covers (clipped to the image)."""
    if shape == "circle":
        return disk((cy, cx), size, shape=hw)
    if shape == "square":
        ys = np.array([cy - size, cy - size, cy + size, cy + size])
        xs = np.array([cx - size, cx + size, cx + size, cx - size])
    else:  # equilateral triangle pointing up
        ys = np.array([cy - size, cy + size * 0.5, cy + size * 0.5])
        xs = np.array([cx, cx - size * np.sqrt(3) / 2 * 1.15, cx + size * np.sqrt(3) / 2 * 1.15])
    return polygon(ys, xs, shape=hw)


class ShapesDataset(Dataset):
    """``count`` images of ``height`` x ``width`` with 1..``max_instances`` shapes each.

    Shape half-sizes are drawn between ``min_size`` and ``max_size`` pixels (defaults scale
    with the image). Later shapes occlude earlier ones; shapes that would hide more than a
    third of another are redrawn, so every instance stays visible.
    """

    def __init__(self, count: int = 100, height: int = 128, width: int = 128, seed: int = 0,
                 max_instances: int = 4, min_size: float | None = None,
                 max_size: float | None = None) -> None:
        super().__init__()
        for i, name in enumerate(SHAPE_NAMES, start=1):
            self.add_class("shapes", i, name)
        rng = np.random.default_rng(seed)
        side = min(height, width)
        min_size = min_size if min_size is not None else max(4.0, side / 14)
        max_size = max_size if max_size is not None else side / 5
        for i in range(count):
            background = rng.integers(0, 256, size=3)
            shapes = self._random_shapes(rng, height, width, max_instances, min_size, max_size,
                                         background)
            self.add_image("shapes", image_id=f"shapes-{seed}-{i:05d}", path=None, width=width,
                           height=height, bg_color=background, shapes=shapes)
        self.prepare()

    @staticmethod
    def _random_shapes(rng, height, width, max_instances, min_size, max_size, background):
        shapes, occupied = [], np.zeros((height, width), dtype=np.int32)
        wanted = int(rng.integers(1, max_instances + 1))
        for _ in range(wanted * 20):
            if len(shapes) == wanted:
                break
            name = SHAPE_NAMES[int(rng.integers(0, len(SHAPE_NAMES)))]
            size = float(rng.uniform(min_size, max_size))
            cy = float(rng.uniform(size, height - size))
            cx = float(rng.uniform(size, width - size))
            color = rng.integers(0, 256, size=3)
            if np.abs(color.astype(int) - background).sum() < 120:
                continue  # too close to the background to be fair
            rr, cc = _draw(name, cy, cx, size, (height, width))
            hidden = occupied[rr, cc]
            ok = True
            for j in range(len(shapes)):
                area_j = int((occupied == j + 1).sum())
                if area_j and (hidden == j + 1).sum() > area_j / 3:
                    ok = False
            if not ok:
                continue
            occupied[rr, cc] = len(shapes) + 1
            shapes.append((name, tuple(int(c) for c in color), cy, cx, size))
        return shapes

    def load_image(self, image_id: int) -> np.ndarray:
        info = self.image_info[image_id]
        hw = (info["height"], info["width"])
        image = np.empty(hw + (3,), dtype=np.uint8)
        image[:] = np.asarray(info["bg_color"], dtype=np.uint8)
        for name, color, cy, cx, size in info["shapes"]:
            rr, cc = _draw(name, cy, cx, size, hw)
            image[rr, cc] = color
        return image

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        info = self.image_info[image_id]
        hw = (info["height"], info["width"])
        shapes = info["shapes"]
        masks = np.zeros(hw + (len(shapes),), dtype=bool)
        for i, (name, _color, cy, cx, size) in enumerate(shapes):
            rr, cc = _draw(name, cy, cx, size, hw)
            masks[rr, cc, i] = True
        # A later shape hides what lies under it.
        for i in range(len(shapes) - 2, -1, -1):
            masks[..., i] &= ~np.any(masks[..., i + 1:], axis=-1)
        class_ids = np.array([SHAPE_NAMES.index(s[0]) + 1 for s in shapes], dtype=np.int32)
        return masks, class_ids

    def image_reference(self, image_id: int) -> str:
        return str(self.image_info[image_id]["id"])
