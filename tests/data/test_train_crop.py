"""Config.TRAIN_CROP: random squares of the image resized as detection molds it
(maskrcnn.data.transforms.random_crop, through load_image_gt)."""
import numpy as np
import pytest

from maskrcnn.config import Config
from maskrcnn.data.pipeline import load_image_gt
from maskrcnn.data.transforms import random_crop
from maskrcnn.errors import ConfigError

from .test_pipeline import SIDE, Blobs, config


def coordinates(h, w):
    """An image whose pixels name their own row (channel 0) and column (channel 1)."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([yy, xx, np.zeros_like(yy)], -1).astype(np.uint8)


def test_random_crop_stays_on_the_image_and_draws_every_offset():
    image = coordinates(140, 100)  # an 80 x 100 image padded by 30 rows above and below
    masks = np.zeros((140, 100, 1), bool)
    masks[40:60, 10:20, 0] = True
    window = (30, 0, 110, 100)
    seen = set()
    for seed in range(200):
        crop, crop_masks, crop_window = random_crop(image, masks, window, 64,
                                                    np.random.default_rng(seed))
        y, x = int(crop[0, 0, 0]), int(crop[0, 0, 1])
        seen.add((y, x))
        assert crop.shape == (64, 64, 3) and crop_masks.shape == (64, 64, 1)
        np.testing.assert_array_equal(crop, image[y:y + 64, x:x + 64])
        np.testing.assert_array_equal(crop_masks, masks[y:y + 64, x:x + 64])
        assert 30 <= y <= 110 - 64 and 0 <= x <= 100 - 64  # all on the image, no padding
        assert crop_window == (0, 0, 64, 64)
    ys, xs = {y for y, _ in seen}, {x for _, x in seen}
    assert min(ys) == 30 and max(ys) == 46 and min(xs) == 0 and max(xs) == 36


def test_random_crop_keeps_a_short_side_whole_and_shifts_the_window():
    image = coordinates(128, 48)
    window = (10, 4, 120, 44)
    for seed in range(50):
        crop, _, crop_window = random_crop(image, np.zeros((128, 48, 0), bool), window, 64,
                                           np.random.default_rng(seed))
        y = int(crop[0, 0, 0])
        assert crop.shape == (64, 48, 3) and int(crop[0, 0, 1]) == 0  # columns kept whole
        assert 10 <= y <= 120 - 64
        assert crop_window == (0, 4, 64, 44)


def test_train_crop_samples_are_parts_of_the_molded_image():
    data = Blobs(counts=(5,), seed=3)
    full = load_image_gt(data, config(USE_MINI_MASK=False), 0, training=False)
    cfg = config(USE_MINI_MASK=False, TRAIN_CROP=32)
    assert load_image_gt(data, cfg, 0, training=False)[0].shape == (SIDE, SIDE, 3)  # off
    offsets = set()
    for seed in range(12):
        image, meta, class_ids, boxes, masks = load_image_gt(data, cfg, 0,
                                                             rng=np.random.default_rng(seed))
        assert image.shape == (32, 32, 3)
        hits = [(y, x) for y in range(SIDE - 31) for x in range(SIDE - 31)
                if np.array_equal(full[0][y:y + 32, x:x + 32], image)]
        assert len(hits) == 1
        (y, x), = hits
        offsets.add((y, x))
        # the instances are those of the whole image inside the crop, masks cut alike
        cut = full[4][y:y + 32, x:x + 32]
        keep = cut.any(axis=(0, 1))
        np.testing.assert_array_equal(masks, cut[..., keep])
        np.testing.assert_array_equal(class_ids, full[2][keep])
        assert (boxes[:, 2:] <= 32).all()
    assert len(offsets) > 6  # random, not one fixed corner


def test_train_crop_must_be_a_multiple_of_64_and_not_doubled_with_crop_mode():
    base = dict(NAME="c", NUM_CLASSES=2)
    assert Config.from_dict({**base, "TRAIN_CROP": 384}).TRAIN_CROP == 384
    for bad in (100, -64, True, 64.5):
        with pytest.raises(ConfigError, match="TRAIN_CROP"):
            Config.from_dict({**base, "TRAIN_CROP": bad})
    with pytest.raises(ConfigError, match="use one of them"):
        Config.from_dict({**base, "TRAIN_CROP": 256, "IMAGE_RESIZE_MODE": "crop",
                          "IMAGE_MIN_DIM": 256})
