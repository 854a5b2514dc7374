import numpy as np
import pytest
import tensorflow as tf

from maskrcnn.modeling.roi_align import pyramid_level, pyramid_roi_align, roi_align


def bilinear_reference(fmap, box, size):
    """ROIAlign with one sample at each bin centre, continuous coordinates (pixel i covers
    [i, i+1)), bilinear between pixel centres, zero outside the map."""
    h, w = fmap.shape[:2]
    y1, x1, y2, x2 = box[0] * h, box[1] * w, box[2] * h, box[3] * w
    out = np.zeros((size, size, fmap.shape[2]))
    for i in range(size):
        for j in range(size):
            y = y1 + (i + 0.5) * (y2 - y1) / size - 0.5
            x = x1 + (j + 0.5) * (x2 - x1) / size - 0.5
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    if 0 <= yy < h and 0 <= xx < w:
                        out[i, j] += wy * wx * fmap[yy, xx]
    return out


def test_roi_align_matches_numpy_bilinear_reference():
    rng = np.random.default_rng(0)
    fmap = rng.normal(size=(1, 16, 20, 3)).astype(np.float32)
    boxes = np.array([[0.1, 0.1, 0.6, 0.7], [0.3, 0.05, 0.9, 0.5], [0.2, 0.2, 0.8, 0.8]],
                     dtype=np.float32)
    got = roi_align(tf.constant(fmap), tf.constant(boxes), tf.zeros([3], tf.int32), 7).numpy()
    for k, box in enumerate(boxes):
        np.testing.assert_allclose(got[k], bilinear_reference(fmap[0], box, 7), atol=1e-4)


def test_level_assignment_follows_box_size():
    # In a 1024 image: 224 px -> P4, 112 -> P3, 56 -> P2, 448 -> P5, tiny -> P2, huge -> P5.
    sides = np.array([224, 112, 56, 448, 4, 1024], dtype=np.float32) / 1024
    boxes = tf.constant(np.stack([np.zeros(6), np.zeros(6), sides, sides], 1), tf.float32)
    assert list(pyramid_level(boxes, 1024, 1024).numpy()) == [4, 3, 2, 5, 2, 5]


@pytest.mark.parametrize("convention", ["aligned", "matterport"])
def test_pyramid_roi_align_pools_each_box_from_its_level_in_order(convention):
    """Boxes of a 1024 x 1024 image that fall on P2, P3, P4 and P5, shuffled over two images:
    each pooled ROI must be that box pooled alone from its own level's map."""
    rng = np.random.default_rng(1)
    maps = [tf.constant(rng.normal(size=(2, 1024 // s, 1024 // s, 4)).astype(np.float32))
            for s in (4, 8, 16, 32)]
    sides = np.array([[448, 56, 224, 112], [112, 448, 56, 224]], np.float32) / 1024
    offsets = rng.uniform(0, 0.5, size=(2, 4, 2)).astype(np.float32)
    boxes = np.concatenate([offsets, offsets + sides[..., None]], axis=-1)  # y1 x1 y2 x2
    levels = pyramid_level(tf.constant(boxes), 1024, 1024).numpy()
    assert levels.tolist() == [[5, 2, 4, 3], [3, 5, 2, 4]]
    pooled = pyramid_roi_align(tf.constant(boxes), maps, (1024.0, 1024.0), 3,
                               convention).numpy()
    for b in range(2):
        for n in range(4):
            fmap = maps[levels[b, n] - 2][b:b + 1]
            want = roi_align(fmap, tf.constant(boxes[b, n:n + 1]), tf.zeros([1], tf.int32), 3,
                             convention)
            np.testing.assert_allclose(pooled[b, n], want[0], atol=1e-5)


def test_matterport_pooling_is_a_plain_crop_and_resize():
    """matterport's PyramidROIAlign: crop_and_resize on the normalised box itself."""
    rng = np.random.default_rng(2)
    fmap = rng.normal(size=(1, 16, 20, 3)).astype(np.float32)
    box = np.array([[0.1, 0.2, 0.7, 0.9]], np.float32)
    got = roi_align(tf.constant(fmap), tf.constant(box), tf.zeros([1], tf.int32), 5,
                    "matterport").numpy()[0]
    ys = 0.1 * 15 + np.arange(5) * (0.6 * 15) / 4  # crop_and_resize: edge to edge samples
    xs = 0.2 * 19 + np.arange(5) * (0.7 * 19) / 4
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            dy, dx = y - y0, x - x0
            want = ((1 - dy) * (1 - dx) * fmap[0, y0, x0] + (1 - dy) * dx * fmap[0, y0, x0 + 1]
                    + dy * (1 - dx) * fmap[0, y0 + 1, x0] + dy * dx * fmap[0, y0 + 1, x0 + 1])
            np.testing.assert_allclose(got[i, j], want, atol=1e-4)
