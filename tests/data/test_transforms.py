"""maskrcnn.data.transforms: every resize mode against hand-computed sizes, and mask helpers.

Each case gives the window, scale and padding worked out by hand from the mode's rule (see
Config.IMAGE_RESIZE_MODE), and checks that the image lands in the window and nothing else does.
"""
import numpy as np
import pytest

from maskrcnn.data.transforms import (
    expand_mask,
    extract_bboxes,
    minimize_mask,
    resize,
    resize_image,
    resize_mask,
)


def gradient(h, w):
    """An (h, w, 3) uint8 image whose every pixel differs from its neighbours."""
    y, x = np.mgrid[:h, :w]
    return np.stack([(y * 5) % 251 + 1, (x * 3) % 251 + 1, (y + x) % 251 + 1],
                    axis=-1).astype(np.uint8)


def assert_only_in_window(out, window, inside=None):
    y1, x1, y2, x2 = window
    outside = np.ones(out.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert not out[outside].any(), "padding must be zeros"
    if inside is not None:
        np.testing.assert_array_equal(out[y1:y2, x1:x2], inside)


@pytest.mark.parametrize("hw, min_dim, max_dim, scale, window, padding", [
    # 50x100: upscale to the min side 64 -> 1.28; the long side becomes 128 = max_dim
    ((50, 100), 64, 128, 1.28, (32, 0, 96, 128), [(32, 32), (0, 0), (0, 0)]),
    # 40x200: 64/40 = 1.6 would make 320 > 128, so max_dim wins: 128/200 = 0.64 -> 26x128
    ((40, 200), 64, 128, 0.64, (51, 0, 77, 128), [(51, 51), (0, 0), (0, 0)]),
    # already fits: no scaling, centred
    ((60, 100), 32, 128, 1.0, (34, 14, 94, 114), [(34, 34), (14, 14), (0, 0)]),
    # odd padding: the extra row goes below (83 = 41 + 42)
    ((45, 100), 32, 128, 1.0, (41, 14, 86, 114), [(41, 42), (14, 14), (0, 0)]),
])
def test_square_mode(hw, min_dim, max_dim, scale, window, padding):
    image = np.full(hw + (3,), 200, np.uint8)
    out, win, sc, pad, crop = resize_image(image, min_dim=min_dim, max_dim=max_dim,
                                           mode="square")
    assert out.shape == (max_dim, max_dim, 3) and out.dtype == np.uint8
    assert tuple(win) == window and sc == pytest.approx(scale) and pad == padding
    assert crop is None
    y1, x1, y2, x2 = window
    assert_only_in_window(out, window, np.full((y2 - y1, x2 - x1, 3), 200, np.uint8))


def test_square_mode_without_scaling_keeps_pixels_exactly():
    image = gradient(60, 100)
    out, window, scale, _, _ = resize_image(image, min_dim=32, max_dim=128, mode="square")
    assert scale == 1.0
    assert_only_in_window(out, window, image)


@pytest.mark.parametrize("mode, hw, min_dim, max_dim, shape, window, padding", [
    # pad64, no scaling: 100 -> 128 (28 = 14 + 14), 70 -> 128 (58 = 29 + 29)
    ("pad64", (100, 70), None, None, (128, 128), (14, 29, 114, 99),
     [(14, 14), (29, 29), (0, 0)]),
    # pad32: 100 -> 128 (14 + 14), 70 -> 96 (26 = 13 + 13)
    ("pad32", (100, 70), None, None, (128, 96), (14, 13, 114, 83),
     [(14, 14), (13, 13), (0, 0)]),
    # pad32 with odd padding: 33 -> 64 (31 = 15 + 16), 64 stays
    ("pad32", (33, 64), None, None, (64, 64), (15, 0, 48, 64), [(15, 16), (0, 0), (0, 0)]),
    # none: never scaled (min_dim is ignored), padded to multiples of 64: 50 -> 64, 70 -> 128
    ("none", (50, 70), 800, 1024, (64, 128), (7, 29, 57, 99), [(7, 7), (29, 29), (0, 0)]),
])
def test_pad_modes_without_scaling(mode, hw, min_dim, max_dim, shape, window, padding):
    image = gradient(*hw)
    out, win, scale, pad, crop = resize_image(image, min_dim=min_dim, max_dim=max_dim,
                                              mode=mode)
    assert out.shape == shape + (3,) and scale == 1.0 and crop is None
    assert tuple(win) == window and pad == padding
    assert_only_in_window(out, window, image)


def test_pad64_scales_up_to_min_dim_then_pads():
    # 100x70, min_dim 128: scale 128/70; 100 * 128/70 = 182.9 -> 183 rows, padded to 192
    image = np.full((100, 70, 3), 90, np.uint8)
    out, window, scale, padding, _ = resize_image(image, min_dim=128, max_dim=256, mode="pad64")
    assert scale == pytest.approx(128 / 70)
    assert out.shape == (192, 128, 3) and tuple(window) == (4, 0, 187, 128)
    assert padding == [(4, 5), (0, 0), (0, 0)]
    assert_only_in_window(out, window, np.full((183, 128, 3), 90, np.uint8))


def test_pad64_max_dim_limits_the_scale():
    # 100x70, min_dim 128 would make 183 rows > max_dim 128: scale 128/100 -> 128x90 -> 128x128
    out, window, scale, _, _ = resize_image(np.ones((100, 70, 3), np.uint8), min_dim=128,
                                            max_dim=128, mode="pad64")
    assert scale == pytest.approx(1.28)
    assert out.shape == (128, 128, 3) and tuple(window) == (0, 19, 128, 109)


def test_crop_mode_takes_a_min_dim_square_of_the_resized_image():
    # 50x80, min_dim 64: scale 1.28 -> 64x102; a 64x64 crop at a random column 0..38
    image = gradient(50, 80)
    resized = resize(image, (64, 102))
    seen = set()
    for seed in range(6):
        out, window, scale, padding, crop = resize_image(
            image, min_dim=64, max_dim=128, mode="crop", rng=np.random.default_rng(seed))
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
        assert tuple(window) == (0, 0, 64, 64) and scale == pytest.approx(1.28)
        assert padding == [(0, 0), (0, 0), (0, 0)]
        y, x, h, w = crop
        assert (y, h, w) == (0, 64, 64) and 0 <= x <= 38
        np.testing.assert_array_equal(out, resized[:, x:x + 64])
        seen.add(x)
    assert len(seen) > 1  # the crop position really is random


def test_crop_mode_masks_follow_the_image():
    image = gradient(50, 80)
    masks = np.zeros((50, 80, 2), bool)
    masks[10:30, 5:40, 0] = True
    masks[20:45, 50:78, 1] = True
    out, _, scale, padding, crop = resize_image(image, min_dim=64, max_dim=128, mode="crop",
                                                rng=np.random.default_rng(3))
    cropped = resize_mask(masks, scale, padding, crop)
    full = resize(masks, (64, 102))
    y, x, h, w = crop
    np.testing.assert_array_equal(cropped, full[y:y + h, x:x + w])


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown resize mode"):
        resize_image(np.zeros((8, 8, 3), np.uint8), mode="stretch")


@pytest.mark.parametrize("mode", ["square", "pad64", "pad32", "none"])
def test_resize_mask_matches_the_image(mode):
    image = gradient(50, 70)
    masks = np.zeros((50, 70, 1), bool)
    masks[:, :, 0] = True  # covers the whole image: must cover exactly the window
    out, window, scale, padding, _ = resize_image(image, min_dim=64, max_dim=128, mode=mode)
    resized = resize_mask(masks, scale, padding)
    assert resized.shape == out.shape[:2] + (1,)
    y1, x1, y2, x2 = window
    expected = np.zeros(out.shape[:2], bool)
    expected[y1:y2, x1:x2] = True
    np.testing.assert_array_equal(resized[..., 0], expected)


def test_extract_bboxes_is_exclusive_and_zero_for_empty_masks():
    masks = np.zeros((10, 12, 2), bool)
    masks[2:5, 3:9, 0] = True
    assert extract_bboxes(masks).tolist() == [[2, 3, 5, 9], [0, 0, 0, 0]]


def test_minimize_then_expand_round_trips_a_box_mask():
    masks = np.zeros((40, 40, 1), bool)
    masks[8:24, 4:36, 0] = True
    boxes = extract_bboxes(masks)
    mini = minimize_mask(boxes, masks, (8, 8))
    assert mini.shape == (8, 8, 1) and mini.all()
    np.testing.assert_array_equal(expand_mask(boxes, mini, (40, 40)), masks)
