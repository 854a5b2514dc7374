"""BoxMasks (masks kept as their box crops) against the (H, W, N) arrays they stand for."""
import numpy as np
import pytest
import skimage.transform
from pycocotools import mask as mask_utils

from maskrcnn.data.box_masks import BoxMasks
from maskrcnn.data.transforms import resize_as_matterport
from maskrcnn.evaluation.coco import results_to_coco
from maskrcnn.inference import area_shares
from maskrcnn.visualize._drawing import blend_top_masks


def random_masks(rng, h=37, w=53, n=7):
    """(H, W, N) bool masks, each blob inside a random box (one at the image corner, one
    touching the right and bottom edges, one empty)."""
    full = np.zeros((h, w, n), bool)
    for k in range(n - 1):
        y1, x1 = rng.integers(0, h - 2), rng.integers(0, w - 2)
        y2, x2 = rng.integers(y1 + 1, h + 1), rng.integers(x1 + 1, w + 1)
        full[y1:y2, x1:x2, k] = rng.random((y2 - y1, x2 - x1)) < 0.6
    full[:3, :4, 0] = True
    full[-2:, -5:, 1] = True
    return full


@pytest.fixture
def masks():
    return random_masks(np.random.default_rng(0))


def test_box_masks_index_and_build_the_array(masks):
    crops = BoxMasks.from_full(masks)
    assert crops.shape == masks.shape and crops.ndim == 3 and crops.dtype == bool
    np.testing.assert_array_equal(np.asarray(crops), masks)
    np.testing.assert_array_equal(crops[..., 2], masks[..., 2])
    np.testing.assert_array_equal(crops[:, :, -1], masks[..., -1])
    keep = np.array([True, False, True, True, False, True, False])
    np.testing.assert_array_equal(crops[..., keep].full(), masks[..., keep])
    np.testing.assert_array_equal(crops[..., [3, 1]].full(), masks[..., [3, 1]])
    np.testing.assert_array_equal(crops[5, 7], masks[5, 7])  # anything else: via the array
    np.testing.assert_array_equal(crops.areas(), masks.sum(axis=(0, 1)))
    assert crops.nbytes < masks.nbytes


def test_union_areas_rle_and_drawing_equal_the_full_arrays(masks):
    crops = BoxMasks.from_full(masks)
    for chosen in (np.ones(7, bool), np.array([1, 0, 0, 1, 1, 0, 0], bool)):
        assert crops.covered(chosen) == masks[..., chosen].any(axis=-1).sum()
    result = {"rois": np.zeros((7, 4)), "class_ids": np.array([1, 2, 1, 3, 1, 2, 3]),
              "scores": np.ones(7)}
    names = ["BG", "a", "b", "c"]
    assert area_shares({**result, "masks": crops}, names).equals(
        area_shares({**result, "masks": masks}, names))
    assert results_to_coco([1], [{**result, "masks": crops}]) == \
        results_to_coco([1], [{**result, "masks": masks}])
    for k in range(7):
        rle = mask_utils.frPyObjects(crops.rle(k), *masks.shape[:2])
        np.testing.assert_array_equal(mask_utils.decode(rle), masks[..., k])
    image = np.random.default_rng(1).integers(0, 256, masks.shape[:2] + (3,), dtype=np.uint8)
    colors = [(k / 7, 0.5, 1 - k / 7) for k in range(7)]
    np.testing.assert_array_equal(blend_top_masks(image, crops, colors, 0.5),
                                  blend_top_masks(image, masks, colors, 0.5))


def test_resized_masks_follow_their_boxes(masks):
    small = BoxMasks.from_full(masks).resized(19, 26)
    assert small.shape == (19, 26, 7)
    assert (small.boxes[:, 2:] <= [19, 26]).all()
    assert (small.boxes[:, :2] < small.boxes[:, 2:]).all()


@pytest.mark.parametrize("shape, size", [((480, 640, 3), (768, 1024)),
                                         ((1000, 700, 3), (1024, 717)),
                                         ((37, 91, 3), (400, 983)), ((300, 200), (64, 43))])
def test_matterport_resize_is_scikit_images(shape, size):
    """Without scikit-image's float64 copy of the input, bit for bit its result; also for an
    image whose values do not reach 0 (where scikit-image's clipping keeps cval)."""
    rng = np.random.default_rng(2)
    for low in (0, 10):
        image = rng.integers(low, 256, shape).astype(np.uint8)
        expected = skimage.transform.resize(image, size, order=1, mode="constant", cval=0,
                                            clip=True, preserve_range=True,
                                            anti_aliasing=False).astype(np.uint8)
        np.testing.assert_array_equal(resize_as_matterport(image, size), expected)
