"""BDD100K reader: poly2d with Bézier curves, RLE, bitmasks, crowd/ignore, filters, boxes."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as mask_utils

from maskrcnn.data.readers.bdd import flatten_poly2d, load_bdd, load_bdd_bitmasks
from maskrcnn.errors import DatasetError

from .fuzz_checks import (
    COORDINATES,
    EXTREME_NUMBERS,
    FUZZ_EXAMPLES,
    NASTY_NAMES,
    read_and_check,
)

W, H = 80, 48


def poly(vertices, types=None, closed=True):
    return {"vertices": vertices, "types": types or "L" * len(vertices), "closed": closed}


def write_frames(tmp_path, frames, name="ins_seg_train.json", wrap=False):
    (tmp_path / "images").mkdir(exist_ok=True)
    for frame in frames:
        if isinstance(frame, dict) and frame.get("name") in ("f1.jpg", "f2.jpg"):
            Image.new("RGB", (W, H), (50, 50, 50)).save(tmp_path / "images" / frame["name"])
    path = tmp_path / name
    path.write_text(json.dumps({"frames": frames} if wrap else frames))
    return path


def car_rle():
    m = np.zeros((H, W), dtype=np.uint8)
    m[30:40, 50:70] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"counts": rle["counts"].decode("ascii"), "size": [H, W]}


def frames():
    return [
        {"name": "f1.jpg", "attributes": {"weather": "clear"}, "labels": [
            {"id": "1", "category": "car", "attributes": {"crowd": False},
             "poly2d": [poly([[10, 10], [30, 10], [30, 30], [10, 30]])]},
            {"id": "2", "category": "pedestrian", "attributes": {"crowd": True},
             "poly2d": [poly([[40, 5], [50, 5], [50, 25]])]},
            {"id": "3", "category": "car", "attributes": {}, "rle": car_rle()},
            {"id": "4", "category": "traffic sign", "attributes": {"ignore": True},
             "poly2d": [poly([[60, 2], [70, 2], [70, 12], [60, 12]])]}]},
        {"name": "f2.jpg", "labels": None}]


def test_polygons_rle_and_crowd(tmp_path):
    ds = load_bdd(write_frames(tmp_path, frames()), tmp_path / "images")
    assert ds.class_names == ["BG", "pedestrian", "car", "traffic sign"]
    image, masks, class_ids = ds.load_image_and_masks(0)
    assert image.shape == (H, W, 3) and masks.shape == (H, W, 4)
    assert class_ids.tolist() == [2, -1, 2, -3]  # crowd and ignore are negative
    assert masks[..., 0].sum() == 400 and masks[..., 2].sum() == 200
    assert ds.image_info[0]["id"] == "f1.jpg" and ds.image_info[0]["attributes"]
    assert ds.load_mask(1)[0].shape == (H, W, 0)


def test_category_filter(tmp_path):
    ds = load_bdd(write_frames(tmp_path, frames(), wrap=True), tmp_path / "images",
                  categories=["car", "traffic sign"])
    assert ds.class_names == ["BG", "car", "traffic sign"]
    assert ds.load_mask(0)[1].tolist() == [1, 1, -2]
    assert ds.skipped == {"labels of other categories": 1}


def test_bezier_is_flattened():
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    assert flatten_poly2d(square, "LLLL") == [0, 0, 10, 0, 10, 10, 0, 10]
    curve = flatten_poly2d([[0, 0], [0, 10], [10, 10], [10, 0]], "LCCL", steps=4)
    xy = np.array(curve).reshape(-1, 2)
    assert len(xy) == 5 and tuple(xy[0]) == (0, 0) and tuple(xy[-1]) == (10, 0)
    assert np.allclose(xy[2], [5, 7.5])  # the cubic's midpoint: (p0 + 3 p1 + 3 p2 + p3) / 8
    with pytest.raises(DatasetError, match="pairs"):
        flatten_poly2d([[0, 0], [0, 10], [10, 10]], "LCL")


def test_bezier_label_masks(tmp_path):
    label = {"category": "car", "poly2d": [poly([[10, 40], [10, 10], [50, 10], [50, 40]],
                                                "LCCL")]}
    ds = load_bdd(write_frames(tmp_path, [{"name": "f1.jpg", "labels": [label]}]),
                  tmp_path / "images")
    mask = ds.load_mask(0)[0][..., 0]
    assert mask[25, 30] and not mask[5, 30] and 500 < mask.sum() < 1200


def test_box_only_labels(tmp_path):
    det = [{"name": "f1.jpg", "labels": [{"category": "car",
                                          "box2d": {"x1": 5, "y1": 5, "x2": 25, "y2": 15}}]}]
    path = write_frames(tmp_path, det)
    with pytest.raises(DatasetError, match="only boxes.*detection label file.*box_masks=True"):
        load_bdd(path, tmp_path / "images")
    ds = load_bdd(path, tmp_path / "images", box_masks=True)
    assert ds.load_mask(0)[0].sum() == 200


@pytest.mark.parametrize("label, message", [
    ({"category": "car", "poly2d": [poly([[1, 1], [5, 5]])]}, "fewer than 3"),
    ({"category": "car", "poly2d": [poly([[1, 1], [5, 5], [9, 1]], closed=False)]}, "open"),
    ({"category": "car", "poly2d": [poly([[1, 1], [5, 5], [9, 1]], "LLX")]}, "types"),
    ({"category": "car", "rle": {"counts": "0", "size": [10, 10]}}, "does not match"),
    ({"poly2d": [poly([[1, 1], [5, 5], [9, 1]])]}, "category"),
    ({"category": "car"}, "no poly2d, rle or box2d"),
    ({"category": "car", "poly2d": [poly([[1, 1], [5, 5], [9, 1]])],
      "attributes": []}, "'attributes' must be an object"),
])
def test_bad_labels_name_file_frame_and_label(tmp_path, label, message):
    good = {"category": "car", "poly2d": [poly([[1, 1], [9, 1], [9, 9]])]}
    path = write_frames(tmp_path, [{"name": "f1.jpg", "labels": [good, label]}])
    with pytest.raises(DatasetError, match=message) as err:
        load_bdd(path, tmp_path / "images")
    assert "ins_seg_train.json" in str(err.value) and "f1.jpg), label 1" in str(err.value)
    ds = load_bdd(path, tmp_path / "images", strict=False)
    assert ds.load_mask(0)[0].shape[-1] == 1


def test_missing_image_and_not_frames(tmp_path):
    path = write_frames(tmp_path, [{"name": "gone.jpg", "labels": []}])
    with pytest.raises(DatasetError, match="image file not found"):
        load_bdd(path, tmp_path / "images")
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(DatasetError, match="list of frames"):
        load_bdd(tmp_path / "x.json")


def test_bitmasks(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "bitmasks").mkdir()
    Image.new("RGB", (W, H)).save(tmp_path / "images" / "f1.jpg")
    rgba = np.zeros((H, W, 4), dtype=np.uint8)
    rgba[5:15, 5:25] = (3, 0, 0, 1)          # car, instance 1
    rgba[20:30, 5:25] = (3, 0b10, 1, 2)      # car, crowd, instance 258
    rgba[20:30, 40:60] = (1, 0b1000, 0, 3)   # pedestrian, truncated, instance 3
    Image.fromarray(rgba, "RGBA").save(tmp_path / "bitmasks" / "f1.png")
    ds = load_bdd_bitmasks(tmp_path / "bitmasks", tmp_path / "images")
    assert ds.class_names[1:] == ["pedestrian", "rider", "car", "truck", "bus", "train",
                                  "motorcycle", "bicycle"]
    image, masks, class_ids = ds.load_image_and_masks(0)
    assert class_ids.tolist() == [3, 1, -3] and masks.sum(axis=(0, 1)).tolist() == [200] * 3
    cars = load_bdd_bitmasks(tmp_path / "bitmasks", tmp_path / "images", categories=["car"])
    assert cars.load_mask(0)[1].tolist() == [1, -1]
    Image.new("L", (W, H)).save(tmp_path / "bitmasks" / "f1.png")
    with pytest.raises(DatasetError, match="RGBA"):
        ds.load_mask(0)


LABEL_KEYS = ["category", "poly2d", "vertices", "types", "closed", "rle", "counts", "size",
              "box2d", "attributes", "crowd", "x1", "y1", "x2", "y2"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-50, 200) | st.floats() | st.text("LC", max_size=5)
    | st.sampled_from(["car", "bus"]) | EXTREME_NUMBERS | NASTY_NAMES,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.sampled_from(LABEL_KEYS), c,
                                                          max_size=6),
    max_leaves=25)
LABELS = st.lists(st.builds(
    lambda vertices, types, box: {"category": "car", "box2d": dict(zip(["x1", "y1", "x2", "y2"],
                                                                       box)),
                                  "poly2d": [{"vertices": vertices, "types": types,
                                              "closed": True}]},
    st.lists(st.lists(COORDINATES, min_size=2, max_size=2), min_size=3, max_size=6),
    st.text("LLC", min_size=3, max_size=6), st.lists(COORDINATES, min_size=4, max_size=4)),
    max_size=3)
FUZZ = {"labels": VALUES | LABELS, "frame": VALUES}


def fuzz_bdd(tmp_path, labels, frame):
    path = write_frames(tmp_path, [{"name": "f1.jpg", "labels": labels}, frame], name="fz.json")
    read_and_check(lambda strict: load_bdd(path, tmp_path / "images", strict=strict))
    read_and_check(lambda strict: load_bdd(path, tmp_path / "images", strict=strict,
                                           box_masks=True))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**FUZZ)
def test_fuzz_only_dataset_errors(tmp_path, labels, frame):
    """Only DatasetError escapes; what is accepted has finite geometry and masks inside the
    image (extremes: 1e308, 10**400, inf, NaN; NUL and control characters in names)."""
    fuzz_bdd(tmp_path, labels, frame)


@pytest.mark.parametrize("vertex, message", [
    ([1e308, 5], "vertex x is 1e\\+308, beyond"), ([5, -1e308], "vertex y is -1e\\+308"),
    ([10 ** 400, 5], "vertex x is an integer of about 401 digits"),
])
def test_extreme_vertices_are_refused_before_any_arithmetic(tmp_path, vertex, message):
    """Issue 14 cases 1 and 4 (BDD): such a vertex used to overflow the Bézier sampling and
    clipping to inf/NaN (or raise OverflowError)."""
    labels = [{"category": "car", "poly2d": [poly([[1, 1], [20, 1], [20, 20]])]},
              {"category": "car", "poly2d": [poly([[1, 1], vertex, [40, 40], [3, 40]],
                                                  "LCCL")]}]
    path = write_frames(tmp_path, [{"name": "f1.jpg", "labels": labels}])
    with pytest.raises(DatasetError, match=message) as err:
        load_bdd(path, tmp_path / "images")
    assert "frame 0 (f1.jpg), label 1" in str(err.value)
    ds = load_bdd(path, tmp_path / "images", strict=False)
    assert ds.load_mask(0)[0].shape == (H, W, 1)
    box = {"category": "car", "box2d": {"x1": -1e308, "y1": 0, "x2": 1e308, "y2": 9}}
    path = write_frames(tmp_path, [{"name": "f1.jpg", "labels": [box]}])
    with pytest.raises(DatasetError, match="box2d x1 is -1e\\+308, beyond"):
        load_bdd(path, tmp_path / "images", box_masks=True)


def test_nul_in_frame_name(tmp_path):
    """Issue 14 case 3 (BDD): ``ValueError: embedded null byte`` from the path check."""
    path = write_frames(tmp_path, [{"name": "f1.jpg\x00", "labels": []},
                                   {"name": "f1.jpg", "labels": []}])
    with pytest.raises(DatasetError, match=r"frame 0 \('f1.jpg\\x00'\): .*NUL character"):
        load_bdd(path, tmp_path / "images")
    assert [i["id"] for i in load_bdd(path, tmp_path / "images", strict=False).image_info] == [
        "f1.jpg"]


def test_pixel_limit(tmp_path):
    path = write_frames(tmp_path, frames())
    with pytest.raises(DatasetError, match=r"f1.jpg: image is 80x48 = 3,840 pixels, over"):
        load_bdd(path, tmp_path / "images", max_image_pixels=3000)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pixels=st.lists(st.integers(0, 255), min_size=16, max_size=16),
       size=st.sampled_from([(W, H), (W, H + 1), (1, 1)]),
       mode=st.sampled_from(["RGBA", "RGB", "L", "I;16"]))
def test_fuzz_bitmasks_only_dataset_errors(tmp_path, pixels, size, mode):
    """Only DatasetError escapes the bitmask reader, and what it accepts is sane, whatever
    the PNG's mode, size and channel values (categories, flags, instance ids) hold."""
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "bitmasks").mkdir(exist_ok=True)
    Image.new("RGB", (W, H)).save(tmp_path / "images" / "f1.jpg")
    values = np.array(pixels, np.uint8).reshape(4, 4)
    rgba = np.tile(values.T[None, None], (size[1], size[0], 1, 1))[..., 0, :]
    rgba[::3, ::5] = values[1]  # a second region of other values
    bands = {"RGBA": rgba, "RGB": rgba[..., :3], "L": rgba[..., 0],
             "I;16": rgba[..., 0].astype(np.uint16) * 257}[mode]
    Image.fromarray(bands).save(tmp_path / "bitmasks" / "f1.png")
    read_and_check(lambda strict: load_bdd_bitmasks(tmp_path / "bitmasks",
                                                    tmp_path / "images", strict=strict))
