"""Binary masks as polygons, for the formats that store only polygons (VIA, LabelMe, YOLO).

:func:`mask_to_polygons` traces a (H, W) mask with scikit-image (``measure.find_contours`` at
level 0.5, then ``measure.approximate_polygon`` with a tolerance in pixels) and returns one
polygon per part (8-connected component), in COCO's convention: flat ``[x1, y1, x2, y2, ...]``
in pixels, pixel ``(col, row)`` covering ``[col, col+1) x [row, row+1)``, so that pycocotools
rasterises them back to the mask.

Holes: polygon formats have no holes, so each hole is joined to the outer ring by a *keyhole
cut*, a zero-width slit from the ring's nearest vertex to the hole's nearest vertex and back.
The hole ring runs the other way round, so the polygon rasterises with the hole under both the
even-odd rule (pycocotools, scikit-image) and the non-zero rule (the browsers VIA and LabelMe
draw with). :func:`join_parts` joins several parts into one polygon the same way (a zero-width
bridge, as ultralytics joins COCO's multi-part polygons), for formats whose regions cannot be
grouped (VIA, YOLO). Parts and holes smaller than ``min_area`` pixels are left out and
counted: small parts in ``dropped``, small holes (filled) in ``holes_filled``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage import measure

#: Default simplification tolerance (pixels): vertices closer than this to the outline go.
#: Small objects decide it: rasterised back with pycocotools, ellipses of 13-63 pixels keep
#: mask IoU 0.97-1.0 at 0.5 px (6-9 vertices) but only 0.69-0.92 at 1 px; 0 is exact.
TOLERANCE = 0.5
#: Default smallest part or hole kept, in pixels.
MIN_AREA = 10


class Polygons(NamedTuple):
    """The polygons of one mask: ``parts`` (flat pixel lists, one per kept part, holes cut
    in), ``dropped`` (parts below ``min_area`` left out), ``holes_filled`` (holes below
    ``min_area`` filled)."""

    parts: list
    dropped: int
    holes_filled: int


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def simplify(coords: np.ndarray, tolerance: float) -> np.ndarray:
    """``skimage.measure.approximate_polygon(coords, tolerance)`` (Douglas-Peucker), the
    same points, with every pending segment of one depth handled at once: the outlines of
    fragmented masks keep thousands of vertices, and a Python step per vertex took seconds."""
    coords = np.asarray(coords, dtype=np.float64)
    if tolerance <= 0:
        return coords
    keep = np.zeros(len(coords), bool)
    keep[[0, -1]] = True
    starts, ends = np.array([0]), np.array([len(coords) - 1])
    while len(starts):
        inner = ends - starts - 1
        starts, ends, inner = starts[inner > 0], ends[inner > 0], inner[inner > 0]
        if not len(starts):
            break
        first = np.cumsum(inner) - inner
        seg = np.repeat(np.arange(len(starts)), inner)
        index = starts[seg] + 1 + np.arange(inner.sum()) - first[seg]
        (r0, c0), (r1, c1) = coords[starts].T, coords[ends].T
        dr, dc = r1 - r0, c1 - c0
        angle = -np.arctan2(dr, dc)
        cos, sin = np.cos(angle), np.sin(angle)
        offset = c0 * sin + r0 * cos
        r, c = coords[index].T
        dr0, dc0, dr1, dc1 = r - r0[seg], c - c0[seg], r - r1[seg], c - c1[seg]
        perp = (dr0 * dr[seg] + dc0 * dc[seg] > 0) & (-dr1 * dr[seg] - dc1 * dc[seg] > 0)
        dist = np.where(perp, np.abs(r * cos[seg] + c * sin[seg] - offset[seg]),
                        np.minimum(np.sqrt(dc0 ** 2 + dr0 ** 2), np.sqrt(dc1 ** 2 + dr1 ** 2)))
        top = np.maximum.reduceat(dist, first)
        at_top = np.flatnonzero(dist == top[seg])
        farthest = index[at_top[np.unique(seg[at_top], return_index=True)[1]]]
        split = top > tolerance
        keep[farthest[split]] = True
        starts = np.concatenate([starts[split], farthest[split]])
        ends = np.concatenate([farthest[split], ends[split]])
    return coords[keep]


def _ring(region: np.ndarray, fully_connected: str, tolerance: float,
          origin=(0, 0)) -> np.ndarray | None:
    """The outline of one connected region (bool (H, W)) as an open (N, 2) x, y ring in
    pixel-edge coordinates, simplified; None when it has no outline of 3 points. ``origin``:
    the region's (row, col) in the frame whose coordinates are returned."""
    padded = np.pad(region, 1).astype(np.float32)
    contours = measure.find_contours(padded, 0.5, fully_connected=fully_connected)
    if not contours:
        return None
    contour = max(contours, key=len) + origin  # one region has one outer outline
    simplified = simplify(contour, tolerance)
    if len(simplified) < 4:  # 3 distinct points + the closing one
        simplified = contour
    ring = simplified[:-1] if np.allclose(simplified[0], simplified[-1]) else simplified
    if len(ring) < 3:
        return None
    # (row, col) of the padded array, pixel centres at integers -> x, y on pixel edges
    return np.stack([ring[:, 1] - 0.5, ring[:, 0] - 0.5], axis=1)


def _gaps(tree: cKDTree, rings: list) -> np.ndarray:
    """Per ring, the smallest squared distance from its vertices to those in ``tree``."""
    if not rings:
        return np.zeros(0)
    points = np.concatenate(rings)
    nearest = tree.query(points)[1]
    d2 = ((tree.data[nearest] - points) ** 2).sum(-1)
    return np.minimum.reduceat(d2, np.cumsum([0] + [len(r) for r in rings[:-1]]))


def _nearest_pair(ring: np.ndarray, other: np.ndarray) -> tuple[int, int]:
    """(i, j): the vertices of ``ring`` and ``other`` nearest to each other, the first
    such pair in (i, j) order, as ``argmin`` over the full distance matrix gives it, found
    with a k-d tree (the matrix of two rings of thousands of vertices took seconds)."""
    tree = cKDTree(other)
    d2 = ((ring - other[tree.query(ring)[1]]) ** 2).sum(-1)
    i = int(np.argmin(d2))
    near = tree.query_ball_point(ring[i], float(np.sqrt(d2[i])) + 1e-9)
    return i, min(j for j in near if float(((ring[i] - other[j]) ** 2).sum()) == d2[i])


def splice(ring: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One ring from two: ``other`` inserted into ``ring`` at their nearest vertices, with a
    zero-width cut there and back (a keyhole when ``other`` is a hole, a bridge when it is a
    separate part)."""
    i, j = _nearest_pair(ring, other)
    loop = np.concatenate([other[j:], other[:j + 1]])  # starts and ends at other[j]
    return np.concatenate([ring[:i + 1], loop, ring[i:]])


def _oriented(ring: np.ndarray, positive: bool) -> np.ndarray:
    return ring if (_signed_area(ring) > 0) == positive else ring[::-1]


def _flat(ring: np.ndarray, width: int, height: int) -> list[float]:
    ring = np.clip(ring, 0, [width, height])
    return [round(float(v), 2) for v in ring.ravel()]


def _grown(where: tuple, height: int, width: int) -> tuple[slice, slice]:
    """The (rows, cols) box ``where`` one pixel larger on each side, inside (H, W)."""
    return (slice(max(where[0].start - 1, 0), min(where[0].stop + 1, height)),
            slice(max(where[1].start - 1, 0), min(where[1].stop + 1, width)))


def _hole_rings(hole_mask: np.ndarray, tolerance: float, min_area: int):
    """The rings (running the negative way) of the holes of one part (``hole_mask``: its
    filled outline less the part), each traced on its own box, and how many holes were
    under ``min_area`` (filled, not traced)."""
    holes, count = ndimage.label(hole_mask)  # 4-connected, as the background is
    areas = np.bincount(holes.ravel(), minlength=count + 1)
    found, filled = [], 0
    for h, where in enumerate(ndimage.find_objects(holes), start=1):
        rows, cols = _grown(where, *holes.shape)
        ring = (_ring(holes[rows, cols] == h, "low", tolerance, (rows.start, cols.start))
                if areas[h] >= min_area else None)
        if ring is None:
            filled += 1
            continue
        found.append(_oriented(ring, False))
    return found, filled


def mask_to_polygons(mask: np.ndarray, tolerance: float = TOLERANCE,
                     min_area: int = MIN_AREA) -> Polygons:
    """Polygons of a (H, W) bool mask: one flat ``[x1, y1, ...]`` list per 8-connected part,
    each with its holes joined by keyhole cuts (see the module docstring). ``tolerance``:
    simplification in pixels (0 keeps every contour vertex). ``min_area``: parts and holes
    with fewer pixels are dropped / filled and counted in the result."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be (H, W), got shape {mask.shape}")
    height, width = mask.shape
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    parts, dropped, holes_filled = [], 0, 0
    for k, where in enumerate(ndimage.find_objects(labels), start=1):
        if where is None:
            continue
        if areas[k] < min_area:  # counted before any per-part work: fragments are many
            dropped += 1
            continue
        rows, cols = _grown(where, height, width)  # one pixel more: contours close inside
        part = labels[rows, cols] == k
        filled = ndimage.binary_fill_holes(part)
        outer = _ring(filled, "high", tolerance)
        if outer is None:
            dropped += 1
            continue
        outer = _oriented(outer, True)
        found, filled_here = _hole_rings(filled & ~part, tolerance, min_area)
        holes_filled += filled_here
        # nearest holes first, so that later cuts meet the ring rather than cross a hole
        gaps = _gaps(cKDTree(outer), found)
        for n in np.argsort(gaps, kind="stable"):
            ring = found[n]
            outer = splice(outer, ring)
        parts.append(_flat(outer + [cols.start, rows.start], width, height))
    return Polygons(parts, dropped, holes_filled)


def join_parts(parts: list) -> list[float]:
    """One flat polygon from several flat parts (zero-width bridges at nearest vertices);
    for formats with one polygon per region. Rasterises to the union of the parts."""
    rings = [_oriented(np.asarray(p, dtype=np.float64).reshape(-1, 2), True)
             for p in parts if len(p) >= 6]
    if not rings:
        return []
    joined, rest = rings[0], rings[1:]
    gaps = _gaps(cKDTree(joined), rest)  # each part's distance to what is joined so far
    while rest:  # the part nearest to what is joined so far goes next
        nearest = int(np.argmin(gaps))
        part = rest.pop(nearest)
        joined = splice(joined, part)
        gaps = np.minimum(np.delete(gaps, nearest), _gaps(cKDTree(part), rest))
    return [float(v) for v in joined.ravel()]
