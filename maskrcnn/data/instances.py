"""Instances before rasterising, their geometry checks, and the lazy instance store.

:class:`InstanceDataset` keeps each image's instances as geometry (polygons, RLE, ellipses) in
``image_info[i]["instances"]`` and rasterises them only in ``load_mask``, so a JSON with 100k
instances opens quickly. The COCO, VIA and BDD100K readers all fill it.

Polygons and RLE are rasterised with pycocotools, so masks equal pycocotools' ``annToMask``;
polygon points outside the image are clipped (and counted as a warning); ellipses and circles
are drawn with scikit-image.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from pycocotools import mask as mask_utils
from skimage.draw import ellipse as draw_ellipse

from ..errors import DatasetError
from .problems import ItemError, ReportingDataset

#: LabelMe's label of a region to ignore (read as a crowd region of every class), and the
#: name of the background, which labelme2coco writes as a category with id 0: not a class.
IGNORE = "__ignore__"
BACKGROUND = "_background_"

#: Largest image side accepted from an annotation file (guards against absurd sizes).
MAX_SIDE = 1 << 15
#: Largest magnitude of a coordinate, size or radius accepted from an annotation file, in
#: pixels (2**24: float32 still counts pixels exactly). Larger values are refused before any
#: arithmetic, so that clipping cannot overflow to inf and NaN.
MAX_COORDINATE = float(1 << 24)


class Instance(NamedTuple):
    """One object of an image, not yet rasterised.

    ``kind`` is ``"polygon"`` (``data``: list of flat ``[x1, y1, x2, y2, ...]`` lists in pixels,
    already clipped), ``"rle"`` (``data``: COCO RLE dict, compressed or not) or ``"ellipse"``
    (``data``: ``(cx, cy, rx, ry, theta)`` in pixels and radians, clockwise on screen).
    """

    class_key: str  # "source.id", the key of Dataset.class_from_source_map
    crowd: bool
    kind: str
    data: Any
    item: str  # human-readable name of the annotation, used in messages


# ---------------------------------------------------------------------------- geometry
def number(value, what: str, limit: float | None = None) -> float:
    """A finite float of magnitude at most ``limit`` (default :data:`MAX_COORDINATE`), else
    ItemError naming ``what``. Checked before any arithmetic, so huge values (1e308, a
    400-digit integer) cannot overflow later."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ItemError(f"{what} must be a number, got {value!r:.60}")
    limit = MAX_COORDINATE if limit is None else limit
    if isinstance(value, int) and abs(value) > limit:  # also ints too large for a float
        raise ItemError(f"{what} is {shown_int(value)}, beyond ±{limit:,.0f}; fix the annotation")
    value = float(value)
    if not math.isfinite(value):
        raise ItemError(f"{what} is {value}; coordinates must be finite")
    if abs(value) > limit:
        raise ItemError(f"{what} is {value:.6g}, beyond ±{limit:,.0f}; fix the annotation")
    return value


def shown_int(value: int) -> str:
    """An integer as messages show it: huge ones by their number of digits."""
    if abs(value) < 10 ** 30:
        return str(value)
    digits = int(value.bit_length() * 0.30103) + 1
    return f"{'-' if value < 0 else ''}an integer of about {digits} digits"


def clip_to_rect(points: list, width: float, height: float) -> list:
    """Sutherland-Hodgman: the part of a polygon (list of (x, y)) inside [0, w] x [0, h]."""
    def at_x(x0):
        return lambda p, q: (x0, p[1] + (q[1] - p[1]) * (x0 - p[0]) / (q[0] - p[0]))

    def at_y(y0):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y0 - p[1]) / (q[1] - p[1]), y0)

    edges = ((lambda p: p[0] >= 0, at_x(0.0)), (lambda p: p[0] <= width, at_x(width)),
             (lambda p: p[1] >= 0, at_y(0.0)), (lambda p: p[1] <= height, at_y(height)))
    for inside, cross in edges:
        out = []
        for i, cur in enumerate(points):
            prev = points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        points = out
    return points


def clip_polygon(coords, width: int, height: int) -> tuple[list[float] | None, int]:
    """Flat ``[x1, y1, ...]`` -> (flat list ready for pycocotools, or None below 3 points;
    number of points outside the image).

    Points outside are counted, and left as they are: pycocotools clips the mask to the image
    exactly as ``annToMask`` does. Only far-away points (beyond one image size from the edge,
    where pycocotools' integer arithmetic could overflow) are clipped geometrically to the
    image. Raises ItemError for non-numeric, NaN/infinite, odd-length coordinates or ones
    beyond :data:`MAX_COORDINATE` (checked before any arithmetic).
    """
    if not isinstance(coords, (list, tuple)):
        raise ItemError(f"a polygon must be a list of numbers, got {type(coords).__name__}")
    if len(coords) % 2:
        raise ItemError(f"a polygon has an odd number of coordinates ({len(coords)})")
    if not set(map(type, coords)) <= {int, float}:  # fast path for well-formed files
        for v in coords:
            number(v, "a polygon coordinate")
    elif len(coords) >= 6 and all(0 <= x <= width for x in coords[0::2]) and all(
            0 <= y <= height for y in coords[1::2]):  # inside the image (NaN is not)
        return [float(v) for v in coords], 0  # as the numpy path below returns it
    try:
        xy = np.array(coords, dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        xy = np.array([number(v, "a polygon coordinate") for v in coords])
    if not np.isfinite(xy).all():
        raise ItemError("a polygon coordinate is NaN or infinite; coordinates must be finite")
    if len(xy) and np.abs(xy).max() > MAX_COORDINATE:
        number(float(xy[np.abs(xy).argmax()]), "a polygon coordinate")  # raises, saying why
    if len(coords) < 6:
        return None, 0
    xy = xy.reshape(-1, 2)
    if xy.min() >= 0 and xy[:, 0].max() <= width and xy[:, 1].max() <= height:
        return xy.ravel().tolist(), 0
    outside = int(((xy[:, 0] < 0) | (xy[:, 0] > width) | (xy[:, 1] < 0)
                   | (xy[:, 1] > height)).sum())
    margin = max(width, height)
    if outside and (xy.min() < -margin or xy[:, 0].max() > width + margin
                    or xy[:, 1].max() > height + margin):
        points = clip_to_rect([tuple(p) for p in xy.tolist()], float(width), float(height))
        if len(points) < 3:
            return [], outside  # nothing inside the image: a zero-area mask
        xy = np.array(points)
    return xy.ravel().tolist(), outside


def rle_string_counts(counts: bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE string (6-bit chars from '0', delta-coded).

    Used to validate strings before pycocotools decodes them (it does not check bounds).
    """
    runs: list[int] = []
    p = 0
    while p < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if p >= len(counts) or shift > 60:
                raise ItemError("RLE counts string is truncated or malformed")
            c = counts[p] - 48
            if not 0 <= c < 64:
                raise ItemError(f"RLE counts string has an invalid character {chr(counts[p])!r}")
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            p += 1
            shift += 5
            if not more and c & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def check_rle(rle, height: int, width: int) -> dict:
    """Validate a COCO RLE dict against the image size; returns it ready for pycocotools."""
    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise ItemError("an RLE segmentation must be a dict with 'size' and 'counts'")
    size = rle["size"]
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or [number(v, "RLE size") for v in size] != [height, width]):
        raise ItemError(f"RLE size {size!r:.40} does not match the image ({height}, {width})")
    counts = rle["counts"]
    if isinstance(counts, list):
        runs = [int(number(v, "an RLE count", limit=float(height * width))) for v in counts]
        if any(r < 0 for r in runs) or sum(runs) != height * width:
            raise ItemError(f"RLE counts sum to {sum(runs)}, not height*width = "
                            f"{height * width}")
        return mask_utils.frPyObjects({"counts": runs, "size": [height, width]}, height, width)
    if isinstance(counts, str):
        try:
            counts = counts.encode("ascii")
        except UnicodeEncodeError:
            raise ItemError("RLE counts string is not ASCII") from None
    if not isinstance(counts, bytes):
        raise ItemError(f"RLE counts must be a string or a list, got {type(counts).__name__}")
    runs = rle_string_counts(counts)
    if any(r < 0 for r in runs) or sum(runs) != height * width:
        raise ItemError(f"RLE counts decode to {sum(runs)} pixels, not height*width = "
                        f"{height * width}")
    return {"size": [height, width], "counts": counts}


def decode_instance(instance: Instance, height: int, width: int) -> np.ndarray:
    """(H, W) bool mask of one instance."""
    if instance.kind == "polygon":
        parts = [p for p in instance.data if len(p) >= 6]  # pycocotools reads 4 as a box
        if not parts:
            return np.zeros((height, width), dtype=bool)
        rles = mask_utils.frPyObjects(parts, height, width)
        return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
    if instance.kind == "rle":
        return mask_utils.decode(check_rle(instance.data, height, width)).astype(bool)
    if instance.kind == "ellipse":
        cx, cy, rx, ry, theta = instance.data
        mask = np.zeros((height, width), dtype=bool)
        if rx > 0 and ry > 0:
            # skimage measures rotation counter-clockwise in (row, col); VIA's theta turns x
            # towards y (clockwise on screen), hence the sign.
            rr, cc = draw_ellipse(cy, cx, ry, rx, shape=(height, width), rotation=-theta)
            mask[rr, cc] = True
        return mask
    raise ItemError(f"unknown instance kind {instance.kind!r}")


# ---------------------------------------------------------------------------- dataset
class InstanceDataset(ReportingDataset):
    """A Dataset whose images carry ``width``, ``height`` and ``instances`` (list of
    :class:`Instance`) in ``image_info``; masks are rasterised per image in ``load_mask``.

    ``problems`` and ``skipped``: see :class:`maskrcnn.data.problems.ReportingDataset`.
    """

    def _decode_all(self, image_id: int) -> tuple[list, list[int]]:
        info = self.image_info[image_id]
        h, w = int(info["height"]), int(info["width"])
        masks, kept = [], []
        for k, instance in enumerate(info["instances"]):
            try:
                mask = decode_instance(instance, h, w)
            except ItemError as err:
                raise DatasetError(f"{self.image_reference(image_id)}: {instance.item}: "
                                   f"{err}") from None
            if not mask.any():
                self.problems.warning(self.image_reference(image_id), instance.item,
                                      "mask has zero area inside the image; left out")
                continue
            masks.append(mask)
            kept.append(k)
        return masks, kept

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, N) bool and (N,) int32 class ids; crowd regions have negative ids."""
        info = self.image_info[image_id]
        masks, kept = self._decode_all(image_id)
        h, w = int(info["height"]), int(info["width"])
        if not masks:
            return np.zeros((h, w, 0), dtype=bool), np.zeros((0,), dtype=np.int32)
        ids = []
        for k in kept:
            instance = info["instances"][k]
            class_id = self.class_from_source_map[instance.class_key]
            ids.append(-class_id if instance.crowd else class_id)
        return np.stack(masks, axis=-1), np.array(ids, dtype=np.int32)

    def load_polygons(self, image_id: int) -> list:
        """Per instance of ``load_mask``: its COCO polygon list, or None (RLE, ellipse).

        The convention :func:`maskrcnn.data.convert.dataset_to_coco` uses to keep polygons.
        """
        info = self.image_info[image_id]
        _, kept = self._decode_all(image_id)
        return [info["instances"][k].data if info["instances"][k].kind == "polygon" else None
                for k in kept]


def check_wanted(path: str, wanted, found, what: str = "instance is of class") -> None:
    """Refuse class names asked for that are typos: a name found nowhere in ``found`` (the
    labels of the file or folder ``path``) while it is close to one that is, or while no
    name asked for is found at all. A name merely absent (a split without that class) stays
    a class without instances."""
    from difflib import get_close_matches

    found = set(found)
    missing = [n for n in wanted if n not in found]
    hopeless = bool(found) and len(missing) == len(list(wanted))
    for name in missing:
        close = get_close_matches(name, sorted(found), n=1)
        if close or hopeless:
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DatasetError(f"{path}: no {what} {name!r}{hint}; the classes found are "
                               f"{sorted(found)}; fix --classes (class_names=)")


def fill_dataset(dataset: InstanceDataset, images: list, class_names, source: str,
                 annotation_file: str, max_image_pixels: int | None) -> InstanceDataset:
    """Add classes and images to a reader's dataset, prepare it and return it.

    ``images``: dicts of ``add_image`` fields (``id``, ``path``, ``width``, ``height``...)
    with ``found``, the image's instances as ``(class name, kind, data, item)``; the name
    :data:`IGNORE` makes a region to ignore: a crowd region of every class.
    ``class_names``: the classes in order (default: the names found, sorted); class ids are
    their positions from 1, which are also the source ids.
    """
    names = list(class_names) if class_names is not None else sorted(
        {f[0] for image in images for f in image["found"]} - {IGNORE})
    ids = {name: i for i, name in enumerate(names, start=1)}
    for name in names:
        dataset.add_class(source, ids[name], name)
    for image in images:
        instances = []
        for name, kind, data, item in image.pop("found"):
            crowd = name == IGNORE
            instances += [Instance(f"{source}.{ids[n]}", crowd, kind, data, item)
                          for n in (names if crowd else [name])]
        dataset.add_image(source, image.pop("id"), instances=instances, **image)
    dataset.max_image_pixels = max_image_pixels
    dataset.prepare()
    dataset.annotation_file = annotation_file
    return dataset
