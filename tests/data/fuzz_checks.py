"""What the readers' fuzz tests check: only DatasetError escapes, and whatever a reader accepts
is sane (geometry finite and near the image, masks inside the image, finite areas).

Also the leaf values the fuzz strategies mix in: float and int extremes, and names with NUL,
control characters and a lone surrogate. ``FUZZ_EXAMPLES`` (environment) sets the number of
examples per fuzz test (default 50); the long campaigns run these same functions.
"""
import math
import os

import numpy as np
from hypothesis import strategies as st

from maskrcnn.data.inspect import inspect_dataset
from maskrcnn.data.instances import MAX_COORDINATE
from maskrcnn.errors import DatasetError

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))

EXTREME_NUMBERS = st.sampled_from([
    1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, 1e16, -1e16, 2.0 ** 24 + 1,
    float("inf"), float("-inf"), float("nan"), 2 ** 31, -2 ** 31, 2 ** 63, -2 ** 63 - 1,
    2 ** 64, 10 ** 400, -10 ** 400]) | st.integers() | st.floats()
#: Coordinates: mostly ordinary, sometimes extreme (so that well-formed shapes carry them).
COORDINATES = st.integers(-100, 200) | st.floats(-100, 200) | EXTREME_NUMBERS
NASTY_NAMES = st.sampled_from(["a.jpg\x00", "\x00", "a\x00.jpg", "a\n.jpg", "\t", "a\x7f.jpg",
                               "\x1b[31ma.jpg", "\ud800.jpg", "a.jpg\r", "../a.jpg", "",
                               "a" * 300]) | st.text(
    st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=6)


def check_geometry(instance, width: int, height: int) -> None:
    """An accepted instance's geometry: finite, polygons within one image size of the image
    (farther points are clipped to it by the readers), a finite area."""
    margin = max(width, height)
    if instance.kind == "polygon":
        for part in instance.data:
            xy = np.asarray(part, dtype=np.float64).reshape(-1, 2)
            assert np.isfinite(xy).all(), instance
            assert xy[:, 0].min(initial=0) >= -margin and xy[:, 1].min(initial=0) >= -margin
            assert xy[:, 0].max(initial=0) <= width + margin
            assert xy[:, 1].max(initial=0) <= height + margin
            x, y = xy[:, 0], xy[:, 1]
            area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            assert math.isfinite(area) and area <= (width + 2 * margin) * (height + 2 * margin)
    elif instance.kind == "ellipse":
        assert all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for v in instance.data)
        assert instance.data[2] > 0 and instance.data[3] > 0
    else:
        assert instance.kind == "rle" and isinstance(instance.data, dict)


def check_dataset(ds) -> None:
    """Load every image of a dataset a reader accepted (DatasetError per image is fine) and
    check masks, class ids and the inspect report."""
    for i in ds.image_ids:
        info = ds.image_info[i]
        for instance in info.get("instances", []):
            check_geometry(instance, int(info["width"]), int(info["height"]))
        try:
            image, masks, class_ids = ds.load_image_and_masks(i)
        except DatasetError:
            continue
        h, w = image.shape[:2]
        assert masks.shape[:2] == (h, w) and masks.dtype == bool
        if "width" in info:
            assert (int(info["height"]), int(info["width"])) == (h, w)
        areas = masks.reshape(h * w, -1).sum(axis=0)
        assert np.all(areas >= 1) and np.all(areas <= h * w)
        assert class_ids.shape == (masks.shape[-1],)
        assert np.all((np.abs(class_ids) >= 1) & (np.abs(class_ids) < ds.num_classes))
    report = inspect_dataset(ds)
    assert all(isinstance(v, int) and v >= 0 for v in report.size_counts.values())
    assert sum(report.instances_per_image.values()) >= sum(report.size_counts.values())


def read_and_check(read) -> None:
    """``read(strict)`` -> dataset, strict and lenient: only DatasetError may escape."""
    for strict in (True, False):
        try:
            ds = read(strict)
        except DatasetError:
            continue
        check_dataset(ds)
