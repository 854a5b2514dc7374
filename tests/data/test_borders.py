"""Objects at the image border: which masks touch it, and the annotation convention."""
import numpy as np
import pytest

from maskrcnn.data import Dataset
from maskrcnn.data.borders import (
    BORDER_MARGIN,
    BorderStatistics,
    border_statistics,
    expected_touching,
    touches_border,
)
from maskrcnn.data.box_masks import BoxMasks


def reference_touching(masks, margin=BORDER_MARGIN):
    """Any pixel of each (H, W) mask in the outer ``margin`` rows or columns."""
    edge = np.zeros(masks.shape[:2], bool)
    edge[:margin], edge[-margin:], edge[:, :margin], edge[:, -margin:] = True, True, True, True
    return (masks & edge[..., None]).any(axis=(0, 1))


@pytest.mark.parametrize("seed", range(4))
def test_touches_border_matches_a_whole_image_reference(seed):
    rng = np.random.default_rng(seed)
    masks = np.zeros((40, 50, 20), bool)
    for k in range(20):
        y, x = rng.integers(-4, 38), rng.integers(-4, 48)
        masks[max(y, 0):y + 7, max(x, 0):x + 7, k] = rng.random(
            (min(y + 7, 40) - max(y, 0), min(x + 7, 50) - max(x, 0))) < 0.7
    boxed = BoxMasks.from_full(masks)
    got = touches_border(boxed.boxes, boxed.crop, 40, 50)
    assert got.tolist() == reference_touching(masks).tolist()


def test_a_box_near_the_border_with_its_pixels_inside_does_not_touch():
    mask = np.zeros((20, 20, 1), bool)
    mask[5:10, 5:10, 0] = True
    boxes = np.array([[0, 0, 12, 12]])  # a loose box reaching the edge
    crop = mask[:12, :12, 0]
    assert not touches_border(boxes, lambda k: crop, 20, 20)[0]


def test_expected_touching_against_a_simulation():
    """The chance that a box of a given size, placed anywhere it overlaps the image,
    touches the border, against placing it at random."""
    rng = np.random.default_rng(0)
    h, w, (bh, bw) = 100, 160, (12, 20)
    ys = rng.integers(-bh + 1, h, size=200_000)
    xs = rng.integers(-bw + 1, w, size=200_000)
    hit = ((ys < BORDER_MARGIN) | (xs < BORDER_MARGIN) | (ys + bh > h - BORDER_MARGIN)
           | (xs + bw > w - BORDER_MARGIN))
    expected = expected_touching(np.array([[0, 0, bh, bw]]), h, w)[0]
    assert expected == pytest.approx(hit.mean(), abs=0.02)


class Squares(Dataset):
    """Images of small squares, either anywhere (cut by the border too) or all inside."""

    def __init__(self, inside: bool, images=12, per_image=20, seed=0):
        super().__init__()
        self.add_class("s", 1, "square")
        rng = np.random.default_rng(seed)
        for i in range(images):
            low, high = (3, 80 - 10) if inside else (-6, 80)
            corners = rng.integers(low, high, size=(per_image, 2))
            self.add_image("s", i, None, corners=corners)

    def load_mask(self, image_id):
        corners = self.image_info[image_id]["corners"]
        masks = np.zeros((80, 80, len(corners)), bool)
        for k, (y, x) in enumerate(corners):
            masks[max(y, 0):y + 8, max(x, 0):x + 8, k] = True
        return masks, np.ones(len(corners), np.int32)


def test_the_convention_is_learnt_from_the_annotations():
    anywhere, inside = Squares(inside=False), Squares(inside=True)
    anywhere.prepare(), inside.prepare()
    loose = border_statistics(anywhere)
    assert loose.rule == "count" and loose.touching > loose.expected / 2
    strict = border_statistics(inside)
    assert strict.rule == "drop" and strict.touching == 0 and strict.expected > 20
    assert "not annotated" in strict.describe() and "DETECTION_BORDER_OBJECTS" in strict.describe()
    # too few objects to tell: count them
    few = BorderStatistics(objects=10, touching=0, expected=1.5)
    assert few.rule == "count"
