"""Instance masks kept as their box crops, bit-packed: what detection holds for an image
instead of an (H, W, N) bool array, which for a 12000 x 9000 photo with 100 detections
would take 10.8 GB. Each mask is the bool crop inside its box, stored 8 pixels a byte; the
full array is built only when asked for.
"""
from __future__ import annotations

import numpy as np


class BoxMasks:
    """N bool masks over an (height, width) image, each stored as the crop in its box.

    ``boxes`` (N, 4) int are y1, x1, y2, x2 in image pixels (y2/x2 exclusive) and ``crops``
    the (y2 - y1, x2 - x1) bool masks inside them (pixels outside a box are False).

    It stands in for the (H, W, N) bool array it describes: ``shape``, ``ndim``, ``dtype``,
    ``masks[..., k]`` (one full (H, W) mask), ``masks[..., keep]`` (a bool, index or slice
    selection: a BoxMasks), ``np.asarray(masks)`` or :meth:`full` (the whole array; mind its
    size: H * W * N bytes). Any other indexing builds the whole array first.
    """

    __array_priority__ = 1

    def __init__(self, crops, boxes, height: int, width: int):
        boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
        self.height, self.width = int(height), int(width)
        self.boxes = boxes
        self._widths = [int(w) for w in boxes[:, 3] - boxes[:, 1]]
        self._packed = []
        for k, crop in enumerate(crops):  # packed one by one: ``crops`` may be a generator
            if k >= len(boxes):
                raise ValueError(f"more crops than the {len(boxes)} boxes")
            crop = np.asarray(crop, dtype=bool)
            y1, x1, y2, x2 = boxes[k]
            if crop.shape != (y2 - y1, x2 - x1) or y1 < 0 or x1 < 0 or y2 > self.height \
                    or x2 > self.width:
                raise ValueError(f"mask {k}: crop of shape {crop.shape} does not fit its box "
                                 f"{boxes[k].tolist()} in a {self.height}x{self.width} image")
            self._packed.append(np.packbits(crop, axis=1))
        if len(self._packed) != len(boxes):
            raise ValueError(f"{len(self._packed)} crops for {len(boxes)} boxes")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_full(cls, masks) -> BoxMasks:
        """The BoxMasks of an (H, W, N) bool array, each mask cropped to its extent."""
        from .transforms import extract_bboxes

        masks = np.asarray(masks, dtype=bool)
        boxes = extract_bboxes(masks)
        crops = [masks[y1:y2, x1:x2, k] for k, (y1, x1, y2, x2) in enumerate(boxes)]
        return cls(crops, boxes, masks.shape[0], masks.shape[1])

    def _subset(self, index) -> BoxMasks:
        out = object.__new__(BoxMasks)
        out.height, out.width, out.boxes = self.height, self.width, self.boxes[index]
        chosen = np.arange(self.count)[index]
        out._widths = [self._widths[i] for i in chosen]
        out._packed = [self._packed[i] for i in chosen]
        return out

    # ------------------------------------------------------------------ array-like
    @property
    def count(self) -> int:
        return len(self._packed)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.count)

    ndim = 3
    dtype = np.dtype(bool)

    @property
    def nbytes(self) -> int:
        """Bytes held (the packed crops), not those of the full array."""
        return int(sum(p.nbytes for p in self._packed))

    def __repr__(self) -> str:
        return (f"BoxMasks({self.count} masks over {self.height}x{self.width}, "
                f"{self.nbytes:,} bytes)")

    def crop(self, k: int) -> np.ndarray:
        """Mask ``k`` inside its box: (y2 - y1, x2 - x1) bool."""
        return np.unpackbits(self._packed[k], axis=1, count=self._widths[k]).view(bool)

    def mask(self, k: int) -> np.ndarray:
        """Mask ``k`` over the whole image: (H, W) bool."""
        out = np.zeros((self.height, self.width), dtype=bool)
        y1, x1, y2, x2 = self.boxes[k]
        out[y1:y2, x1:x2] = self.crop(k)
        return out

    def full(self) -> np.ndarray:
        """The (H, W, N) bool array (H * W * N bytes)."""
        out = np.zeros(self.shape, dtype=bool)
        for k, (y1, x1, y2, x2) in enumerate(self.boxes):
            out[y1:y2, x1:x2, k] = self.crop(k)
        return out

    def __array__(self, dtype=None, copy=None):
        full = self.full()
        return full if dtype is None else full.astype(dtype)

    def __getitem__(self, key):
        if isinstance(key, tuple) and len(key) in (2, 3) and (
                key[0] is Ellipsis if len(key) == 2
                else key[:2] == (slice(None), slice(None))):
            index = key[-1]
            if isinstance(index, (int, np.integer)):
                return self.mask(int(index) % max(self.count, 1))
            return self._subset(np.asarray(index) if isinstance(index, list) else index)
        return self.full()[key]

    # ------------------------------------------------------------------ measures
    def areas(self) -> np.ndarray:
        """(N,) int64: pixels of each mask."""
        return np.array([int(np.unpackbits(p).sum()) for p in self._packed], dtype=np.int64)

    def covered(self, index=None) -> int:
        """Pixels covered by the union of the masks ``index`` selects (default: all), each
        pixel counted once. Works in the bounding box of those masks only."""
        chosen = np.arange(self.count)[slice(None) if index is None else index]
        if chosen.size == 0:
            return 0
        top, left = self.boxes[chosen, :2].min(axis=0)
        bottom, right = self.boxes[chosen, 2:].max(axis=0)
        canvas = np.zeros((bottom - top, right - left), dtype=bool)
        for k in chosen:
            y1, x1, y2, x2 = self.boxes[k]
            canvas[y1 - top:y2 - top, x1 - left:x2 - left] |= self.crop(k)
        return int(canvas.sum())

    def top_index(self) -> np.ndarray:
        """(H, W) int32: at each pixel the index of the last mask covering it, -1 where none
        does (the topmost mask when drawn in order)."""
        top = np.full((self.height, self.width), -1, dtype=np.int32)
        for k, (y1, x1, y2, x2) in enumerate(self.boxes):
            top[y1:y2, x1:x2][self.crop(k)] = k
        return top

    def rle(self, k: int) -> dict:
        """COCO uncompressed RLE (``{"size": [H, W], "counts": [...]}``) of mask ``k`` over
        the whole image, the same runs pycocotools' ``encode`` finds in its full mask, from
        the crop alone (column-major: the columns left of the box are one run of zeros)."""
        y1, x1, y2, x2 = (int(v) for v in self.boxes[k])
        strip = np.zeros((x2 - x1, self.height), dtype=np.uint8)  # the box's columns, whole
        strip[:, y1:y2] = self.crop(k).T
        flat = strip.reshape(-1)
        changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        runs = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist() if flat.size else [0]
        if flat.size and flat[0]:
            runs.insert(0, 0)  # the counts start with a run of zeros
        runs[0] += x1 * self.height
        after = (self.width - x2) * self.height
        if len(runs) % 2:  # ends with zeros
            runs[-1] += after
        elif after:
            runs.append(after)
        return {"size": [self.height, self.width], "counts": runs}

    def resized(self, height: int, width: int) -> BoxMasks:
        """These masks for the image resized to (height, width): boxes scaled, each crop
        resized by nearest neighbour (for pictures drawn smaller than the image)."""
        import cv2

        sy, sx = height / self.height, width / self.width
        boxes = np.round(self.boxes * np.array([sy, sx, sy, sx])).astype(np.int64)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        boxes = np.minimum(boxes, [height - 1, width - 1, height, width])
        crops = []
        for k, (y1, x1, y2, x2) in enumerate(boxes):
            crop = self.crop(k)
            crops.append(cv2.resize(crop.view(np.uint8), (int(x2 - x1), int(y2 - y1)),
                                    interpolation=cv2.INTER_NEAREST).astype(bool) if crop.size
                         else np.zeros((y2 - y1, x2 - x1), bool))
        return BoxMasks(crops, boxes, height, width)
