import numpy as np
import pytest

from maskrcnn.data import copy_paste
from maskrcnn.data.copy_paste import paste_instances
from maskrcnn.data.pipeline import load_image_gt

from .test_pipeline import SIDE, Blobs, config


def square(y, x, side, shape=(40, 40)):
    m = np.zeros(shape, bool)
    m[y:y + side, x:x + side] = True
    return m


def test_pasted_instances_cover_what_lay_below(monkeypatch):
    monkeypatch.setattr(copy_paste, "PASTE_SHARE", 1.0)  # every donor instance is pasted
    image = np.zeros((40, 40, 3), np.uint8)
    masks = np.stack([square(5, 5, 10)], -1)
    donor = np.full((40, 40, 3), 200, np.uint8)
    donor_masks = np.stack([square(10, 10, 10), square(32, 32, 6)], -1)
    window = (0, 0, 30, 30)  # the second donor instance is in the padding: not pasted
    out, out_masks, ids = paste_instances(image, masks, np.array([1]), donor, donor_masks,
                                          np.array([2, 3]), window, np.random.default_rng(0),
                                          max_instances=10)
    assert ids.tolist() == [1, 2] and out_masks.shape == (40, 40, 2)
    np.testing.assert_array_equal(out_masks[..., 1], square(10, 10, 10))
    np.testing.assert_array_equal(out_masks[..., 0], square(5, 5, 10) & ~square(10, 10, 10))
    np.testing.assert_array_equal(out[..., 0], np.where(square(10, 10, 10), 200, 0))
    assert image.max() == 0  # the input is not written to


def test_paste_respects_max_instances_and_a_smaller_donor(monkeypatch):
    monkeypatch.setattr(copy_paste, "PASTE_SHARE", 1.0)
    image = np.zeros((40, 40, 3), np.uint8)
    masks = np.stack([square(0, 0, 4), square(30, 30, 4)], -1)
    donor_masks = np.stack([square(2 + 6 * i, 20, 4, (25, 25)) for i in range(3)], -1)
    donor = np.full((25, 25, 3), 9, np.uint8)
    out, out_masks, ids = paste_instances(image, masks, np.array([1, 1]), donor, donor_masks,
                                          np.array([2, 2, 2]), (0, 0, 40, 40),
                                          np.random.default_rng(1), max_instances=4)
    assert out_masks.shape[-1] == 4 and ids.tolist() == [1, 1, 2, 2]  # room for two
    assert out[25:, :].max() == 0 and out[:, 25:].max() == 0  # nothing beyond the donor
    assert (out[..., 0] == 9).sum() == 2 * 16
    full = paste_instances(image, masks, np.array([1, 1]), donor, donor_masks,
                           np.array([2, 2, 2]), (0, 0, 40, 40), np.random.default_rng(1), 2)
    assert full[1].shape[-1] == 2  # no room: unchanged


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_pipeline_pastes_another_images_pixels_and_masks(share):
    data = Blobs(counts=(2, 3, 4), seed=3)
    cfg = config(USE_MINI_MASK=False, COPY_PASTE=share, MAX_GT_INSTANCES=20)
    pasted_any = 0
    for seed in range(6):
        image, _, class_ids, boxes, masks = load_image_gt(data, cfg, 0,
                                                          rng=np.random.default_rng(seed))
        own = data.image_info[0]
        n_own = own["masks"].shape[-1]
        extra = masks.shape[-1] - n_own
        assert extra >= 0 and len(class_ids) == masks.shape[-1] == len(boxes)
        union = masks[..., n_own:].any(-1)
        # the image's own instances keep exactly their pixels the paste left visible
        np.testing.assert_array_equal(masks[..., :n_own], own["masks"] & ~union[..., None])
        np.testing.assert_array_equal(image[~union], own["image"][~union])
        if extra == 0:
            continue
        pasted_any += 1
        # every pasted instance is an instance of one other image, with its pixels and class
        donors = [j for j in (1, 2) if all(
            any(np.array_equal(masks[..., k], m) for m in np.moveaxis(
                data.image_info[j]["masks"], -1, 0)) for k in range(n_own, masks.shape[-1]))]
        assert len(donors) == 1, "pasted masks are not one other image's instances"
        donor = data.image_info[donors[0]]
        np.testing.assert_array_equal(image[union], donor["image"][union])
        for k in range(n_own, masks.shape[-1]):
            i = next(i for i in range(donor["masks"].shape[-1])
                     if np.array_equal(donor["masks"][..., i], masks[..., k]))
            assert class_ids[k] == donor["class_ids"][i]
    assert (pasted_any > 0) == (share > 0)
    assert SIDE == image.shape[0]
    plain = load_image_gt(data, cfg, 0, rng=np.random.default_rng(0), training=False)
    np.testing.assert_array_equal(plain[4], data.image_info[0]["masks"])  # as the data holds it
