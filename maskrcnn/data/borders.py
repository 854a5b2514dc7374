"""Objects cut by the image border: which masks touch it, and whether a dataset's annotations
count such objects at all.

Microscopy and inspection users often annotate only the objects wholly inside the picture. A
detector trained on such data still finds the cut ones (with high scores: no threshold
separates them), and its counts come out too high. The training annotations show the
convention: if objects lay anywhere in the pictures, about ``expected`` of them would touch
the border (:func:`expected_touching`); far fewer do when cut objects were left out.
``Config.DETECTION_BORDER_OBJECTS`` carries the answer ("count" or "drop").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A mask "touches the border" when it has a pixel within this many pixels of an image edge.
BORDER_MARGIN = 2
#: The convention is decided only where at least this many annotated objects would touch
#: the border by chance, and "drop" when fewer than ``ABSENT_RATIO`` of those do.
MIN_EXPECTED, ABSENT_RATIO = 5.0, 0.2


def touches_border(boxes, crop, height: int, width: int,
                   margin: int = BORDER_MARGIN) -> np.ndarray:
    """(N,) bool: True where mask ``k`` (``crop(k)``: its bool pixels inside ``boxes[k]``,
    y1, x1, y2, x2 with exclusive ends) has a pixel within ``margin`` pixels of an edge of
    the (height, width) image."""
    boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
    near = ((boxes[:, 0] < margin) | (boxes[:, 1] < margin)
            | (boxes[:, 2] > height - margin) | (boxes[:, 3] > width - margin))
    out = np.zeros(len(boxes), bool)
    for k in np.flatnonzero(near):
        y1, x1, y2, x2 = boxes[k]
        mask = np.asarray(crop(k), bool)
        rows, cols = np.arange(y1, y2), np.arange(x1, x2)
        out[k] = bool(mask[(rows < margin) | (rows >= height - margin)].any()
                      or mask[:, (cols < margin) | (cols >= width - margin)].any())
    return out


def expected_touching(boxes, height: int, width: int, margin: int = BORDER_MARGIN) -> np.ndarray:
    """(N,) chance that an object of each box's size touches the border of a (height, width)
    image when it lies anywhere it overlaps the image: 1 - (H - h)(W - w) / ((H + h)(W + w)),
    the object's sides widened by the margin."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    h = np.minimum(boxes[:, 2] - boxes[:, 0] + margin, height)
    w = np.minimum(boxes[:, 3] - boxes[:, 1] + margin, width)
    return 1.0 - (height - h) * (width - w) / ((height + h) * (width + w))


@dataclass
class BorderStatistics:
    """Annotated objects touching the image border: ``touching`` of ``objects`` do, where
    ``expected`` would if objects lay anywhere; ``images`` looked at."""
    objects: int = 0
    touching: int = 0
    expected: float = 0.0
    images: int = 0

    def add(self, masks: np.ndarray) -> None:
        """Count one image's (H, W, N) bool masks (crowd and ignore regions left out)."""
        from .transforms import extract_bboxes

        masks = np.asarray(masks, bool)
        boxes = extract_bboxes(masks).astype(np.int64)
        real = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        height, width = masks.shape[:2]
        touching = touches_border(boxes, lambda k: masks[boxes[k, 0]:boxes[k, 2],
                                                         boxes[k, 1]:boxes[k, 3], k],
                                  height, width)
        self.objects += int(real.sum())
        self.touching += int((touching & real).sum())
        self.expected += float(expected_touching(boxes[real], height, width).sum())
        self.images += 1

    @property
    def rule(self) -> str:
        """"drop" when the annotations leave out objects cut by the border (far fewer touch
        it than chance would have), else "count"."""
        absent = self.expected >= MIN_EXPECTED and self.touching < ABSENT_RATIO * self.expected
        return "drop" if absent else "count"

    def describe(self) -> str:
        """One line: what was found and what follows."""
        found = (f"{self.touching} of {self.objects} annotated objects touch the image border "
                 f"(about {self.expected:.0f} would by chance)")
        if self.rule == "drop":
            return (f"{found}: objects cut by the border are not annotated, so detections "
                    "touching it are not counted (DETECTION_BORDER_OBJECTS=drop; "
                    "--set DETECTION_BORDER_OBJECTS=count counts them)")
        return f"{found}: detections touching the border count (DETECTION_BORDER_OBJECTS=count)"


def border_statistics(dataset, max_images: int | None = 200) -> BorderStatistics:
    """:class:`BorderStatistics` of a prepared Dataset's annotations (an even sample of
    ``max_images`` images; None: all)."""
    ids = np.asarray(dataset.image_ids)
    if max_images is not None and ids.size > max_images:
        ids = ids[np.linspace(0, ids.size - 1, max_images).astype(int)]
    stats = BorderStatistics()
    for image_id in ids:
        masks, class_ids = dataset.load_mask(int(image_id))
        stats.add(np.asarray(masks, bool)[..., np.asarray(class_ids) > 0])
    return stats
