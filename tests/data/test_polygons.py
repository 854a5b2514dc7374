"""Masks -> polygons: parts, holes (keyhole cuts), fragments counted, and the round trip."""
import json
import os
import time

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from scipy import ndimage
from skimage.draw import disk
from skimage.draw import polygon as draw_polygon
from skimage.measure import approximate_polygon

from maskrcnn.data.polygons import join_parts, mask_to_polygons


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def coco_raster(parts, height, width):
    return mask_utils.decode(mask_utils.merge(
        mask_utils.frPyObjects(parts, height, width))).astype(bool)


def skimage_raster(parts, height, width):
    """Independent rasteriser: pixel centres inside the polygon (even-odd rule), as the union
    of the parts."""
    mask = np.zeros((height, width), dtype=bool)
    for part in parts:
        xy = np.asarray(part).reshape(-1, 2)
        part_mask = np.zeros((height, width), dtype=bool)
        rr, cc = draw_polygon(xy[:, 1] - 0.5, xy[:, 0] - 0.5, (height, width))
        part_mask[rr, cc] = True
        mask |= part_mask
    return mask


def ring_with_holes_and_parts(height=120, width=160):
    mask = np.zeros((height, width), dtype=bool)
    mask[disk((60, 50), 40, shape=mask.shape)] = True
    mask[disk((60, 50), 12, shape=mask.shape)] = False  # a hole
    mask[disk((35, 50), 6, shape=mask.shape)] = False  # a second hole
    mask[10:40, 110:150] = True  # a second part, with a square hole
    mask[20:30, 120:130] = False
    mask[0:25, 0:6] = True  # a third part on the image border
    return mask


@pytest.mark.parametrize("raster", [coco_raster, skimage_raster])
@pytest.mark.parametrize("tolerance", [0.0, 1.0, 2.0])
def test_round_trip_keeps_holes_and_parts(raster, tolerance):
    mask = ring_with_holes_and_parts()
    result = mask_to_polygons(mask, tolerance=tolerance)
    assert len(result.parts) == 3 and result.dropped == 0 and result.holes_filled == 0
    back = raster(result.parts, *mask.shape)
    assert iou(back, mask) >= 0.95
    assert not back[60, 50] and not back[25, 125] and back[60, 15]  # holes stay holes
    assert raster([join_parts(result.parts)], *mask.shape).sum() == pytest.approx(
        back.sum(), abs=3)  # one bridged polygon rasterises as the parts


def test_exact_without_simplification():
    mask = ring_with_holes_and_parts()
    back = coco_raster(mask_to_polygons(mask, tolerance=0).parts, *mask.shape)
    assert iou(back, mask) == 1.0


def test_fragments_and_small_holes_are_counted():
    mask = np.zeros((60, 60), dtype=bool)
    mask[10:40, 10:40] = True
    mask[20:22, 20:22] = False  # a 4-pixel hole: filled
    mask[50:52, 50:53] = True  # 6-pixel fragment
    mask[5, 55] = True  # 1-pixel fragment
    result = mask_to_polygons(mask, min_area=10)
    assert (len(result.parts), result.dropped, result.holes_filled) == (1, 2, 1)
    square = np.zeros((60, 60), dtype=bool)
    square[10:40, 10:40] = True
    assert iou(coco_raster(result.parts, 60, 60), square) >= 0.97  # the small hole is filled
    assert mask_to_polygons(mask, min_area=1).dropped == 0


def test_polygons_lie_on_pixel_edges_and_inside_the_image():
    mask = np.zeros((20, 30), dtype=bool)
    mask[:, :] = True
    (part,), _, _ = mask_to_polygons(mask, tolerance=0)
    xy = np.asarray(part).reshape(-1, 2)
    assert xy.min() >= 0 and xy[:, 0].max() <= 30 and xy[:, 1].max() <= 20
    assert coco_raster([part], 20, 30).all()


def test_empty_mask_and_bad_shape():
    assert mask_to_polygons(np.zeros((5, 5), dtype=bool)) == ([], 0, 0)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        mask_to_polygons(np.zeros((5, 5, 1), dtype=bool))


def test_clean_masks_trace_as_before():
    """Parts, holes and joins of a clean mask: the same numbers as the tracing of commit
    75c8474 (before the linear-time rewrite), stored in polygons_75c8474.json."""
    with open(os.path.join(os.path.dirname(__file__), "polygons_75c8474.json")) as f:
        before = json.load(f)
    mask = ring_with_holes_and_parts()
    for tolerance, expected in before.items():
        result = mask_to_polygons(mask, tolerance=float(tolerance))
        assert [result.parts, result.dropped, result.holes_filled] == [
            expected["parts"], expected["dropped"], expected["holes_filled"]]
        assert join_parts(result.parts) == expected["joined"]


@pytest.mark.parametrize("tolerance", [0.5, 1.0, 3.0])
def test_simplify_keeps_the_points_skimage_keeps(tolerance):
    from maskrcnn.data.polygons import simplify

    rng = np.random.default_rng(int(tolerance * 10))
    for _ in range(50):
        steps = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=(int(rng.integers(2, 300)), 2))
        chain = np.cumsum(steps, axis=0)
        assert np.array_equal(simplify(chain, tolerance),
                              approximate_polygon(chain, tolerance))


def test_fragmented_mask_is_traced_and_joined_fast():
    """A barely trained model's mask: hundreds of specks and holes. Joining its parts into
    one VIA region took about 15 s at 75c8474 (distance matrices against all that was
    joined); now well under a second."""
    rng = np.random.default_rng(0)
    mask = np.zeros((600, 600), bool)
    mask[100:300, 200:400] = ndimage.gaussian_filter(rng.random((200, 200)), 1.0) > 0.5
    start = time.perf_counter()
    result = mask_to_polygons(mask)
    joined = join_parts(result.parts)
    assert time.perf_counter() - start < 5
    assert result.dropped > 50 and len(result.parts) > 20
    kept = coco_raster(result.parts, *mask.shape)
    assert iou(coco_raster([joined], *mask.shape), kept) > 0.99
