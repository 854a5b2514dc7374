"""VIA reader: 1.x/2.x exports, project files, every shape, class attributes, bad input."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskrcnn.data.readers.via import load_via
from maskrcnn.errors import DatasetError

from .fuzz_checks import (
    COORDINATES,
    EXTREME_NUMBERS,
    FUZZ_EXAMPLES,
    NASTY_NAMES,
    read_and_check,
)


def polygon(xs, ys, **attrs):
    return {"shape_attributes": {"name": "polygon", "all_points_x": xs, "all_points_y": ys},
            "region_attributes": attrs}


def entry(file_name, regions, size=1234):
    return {"fileref": "", "size": size, "filename": file_name, "base64_img_data": "",
            "file_attributes": {}, "regions": regions}


def write_images(folder, names=("a.jpg", "b.png"), size=(64, 48)):
    for name in names:
        Image.new("RGB", size, (40, 80, 120)).save(folder / name)


def write_json(path, data):
    path.write_text(json.dumps(data))
    return path


def test_via1_regions_as_dict(tmp_path):
    write_images(tmp_path)
    data = {"a.jpg1234": entry("a.jpg", {"0": polygon([5, 30, 30, 5], [5, 5, 20, 20]),
                                         "1": polygon([40, 60, 50], [30, 30, 45])}),
            "b.png99": entry("b.png", {})}
    ds = load_via(write_json(tmp_path / "via_region_data.json", data), default_class="balloon")
    assert ds.class_names == ["BG", "balloon"]
    assert [info["id"] for info in ds.image_info] == ["a.jpg", "b.png"]
    image, masks, class_ids = ds.load_image_and_masks(0)
    assert masks.shape == (48, 64, 2) and class_ids.tolist() == [1, 1]
    assert masks[10, 10, 0] and not masks[10, 10, 1] and masks[0:5].sum() == 0
    assert masks[..., 0].sum() == 25 * 15  # pycocotools rule: [x0, x1) x [y0, y1)
    assert ds.load_mask(1)[0].shape == (48, 64, 0)


def test_via2_list_and_every_shape(tmp_path):
    write_images(tmp_path, ["a.jpg"], size=(100, 80))
    regions = [
        {"shape_attributes": {"name": "rect", "x": 10, "y": 10, "width": 20, "height": 10},
         "region_attributes": {"kind": "box"}},
        {"shape_attributes": {"name": "circle", "cx": 70, "cy": 20, "r": 8},
         "region_attributes": {"kind": {"ball": True, "box": False}}},  # checkbox
        {"shape_attributes": {"name": "ellipse", "cx": 50, "cy": 60, "rx": 20, "ry": 5,
                              "theta": np.pi / 2}, "region_attributes": {"kind": "ball"}},
        {"shape_attributes": {"name": "polyline", "all_points_x": [5, 20, 5],
                              "all_points_y": [50, 60, 70]}, "region_attributes": {"kind": "box"}},
    ]
    ds = load_via(write_json(tmp_path / "v.json", {"a.jpg": entry("a.jpg", regions)}),
                  class_attribute="kind", default_class=None)
    assert ds.class_names == ["BG", "ball", "box"]
    masks, class_ids = ds.load_mask(0)
    assert class_ids.tolist() == [2, 1, 1, 2]
    assert masks[..., 0].sum() == 200
    assert abs(masks[..., 1].sum() - np.pi * 64) < 25
    ys, xs = np.nonzero(masks[..., 2])  # theta = 90 degrees: the long axis is vertical
    assert np.ptp(ys) > 3 * np.ptp(xs)


def test_project_file(tmp_path):
    write_images(tmp_path, ["a.jpg"])
    data = {"_via_settings": {}, "_via_attributes": {"region": {}, "file": {}},
            "_via_img_metadata": {"a.jpg1234": entry("a.jpg", [polygon([1, 9, 9], [1, 1, 9])])}}
    ds = load_via(write_json(tmp_path / "project.json", data))
    assert ds.load_mask(0)[1].tolist() == [1]


def test_polygon_past_the_edge_is_clipped_and_counted(tmp_path):
    write_images(tmp_path, ["a.jpg"])
    data = {"a": entry("a.jpg", [polygon([50, 2000, 2000, 50], [10, 10, 30, 30])])}
    ds = load_via(write_json(tmp_path / "v.json", data))
    masks, _ = ds.load_mask(0)
    assert masks.shape == (48, 64, 1) and masks[10:30, 50:64, 0].all()
    assert "2 point(s) outside the 64x48 image" in ds.problems[0].message
    assert ds.problems[0].item == "image 'a.jpg', region 0"


def test_exif_rotated_jpeg_size_follows_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: displayed 48 wide, 64 high
    Image.new("RGB", (64, 48)).save(tmp_path / "r.jpg", exif=exif)
    data = {"r": entry("r.jpg", [polygon([1, 40, 40], [1, 1, 60])])}
    ds = load_via(write_json(tmp_path / "v.json", data))
    image, masks, _ = ds.load_image_and_masks(0)
    assert image.shape == (64, 48, 3) and masks.shape == (64, 48, 1)
    assert not ds.problems


def test_16bit_and_palette_pngs(tmp_path):
    depth = (np.arange(32 * 40).reshape(32, 40) * 51).astype(np.uint16)  # 0..65229
    Image.fromarray(depth).save(tmp_path / "d.png")
    Image.new("P", (40, 32)).save(tmp_path / "p.png")
    data = {"d": entry("d.png", [polygon([1, 9, 9], [1, 1, 9])]),
            "p": entry("p.png", [polygon([1, 9, 9], [1, 1, 9])])}
    ds = load_via(write_json(tmp_path / "v.json", data))
    for i in ds.image_ids:
        image, masks, _ = ds.load_image_and_masks(i)
        assert image.dtype == np.uint8 and image.shape == (32, 40, 3)
        assert masks.shape == (32, 40, 1) and masks.any()
    image = ds.load_image(ds.image_ids[[info["id"] for info in ds.image_info].index("d.png")])
    expected = (depth * (255 / 65535)).round().astype(np.uint8)  # scaled, not clipped
    np.testing.assert_array_equal(image, np.stack([expected] * 3, axis=-1))


@pytest.mark.parametrize("region, message", [
    (polygon([1, 5], [1, 5]), "at least 3"),
    ({"shape_attributes": {"name": "ellipse", "cx": 5, "cy": 5, "rx": 3}}, "no 'ry' key"),
    ({"shape_attributes": {"name": "point", "cx": 5, "cy": 5}}, "no area"),
    ({"shape_attributes": {"name": "star"}}, "unknown region shape"),
    (polygon([1, 5, float("nan")], [1, 5, 5]), "finite"),
    (polygon([1, 5, 5], [1, 5]), "3 x but 2 y"),
    (polygon([1, 5, 5], [1, 5, 9], kind="zebra"), "unknown category 'zebra'"),
    ({"shape_attributes": {"name": "rect", "x": 1, "y": 1, "width": 0, "height": 3}},
     "no area"),
])
def test_bad_regions_name_file_image_and_region(tmp_path, region, message):
    write_images(tmp_path, ["a.jpg"])
    path = write_json(tmp_path / "v.json", {"a": entry("a.jpg", [polygon([1, 9, 9], [1, 1, 9]),
                                                                region])})
    with pytest.raises(DatasetError, match=message) as err:
        load_via(path, class_attribute="kind", default_class="object", class_names=["object"])
    assert "v.json" in str(err.value) and "image 'a.jpg', region 1" in str(err.value)
    ds = load_via(path, class_attribute="kind", default_class="object", class_names=["object"],
                  strict=False)
    assert ds.load_mask(0)[0].shape[-1] == 1 and ds.problems[0].severity == "error"


def test_entry_problems(tmp_path):
    write_images(tmp_path, ["a.jpg"])
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    cases = [({"x": {"filename": "a.jpg"}}, "no 'regions' key"),
             ({"x": entry("missing.jpg", [])}, "image file not found"),
             ({"x": entry("bad.jpg", [])}, "cannot read image"),
             ({"x": entry("../a.jpg", [])}, "outside the dataset folder"),
             ({"x": entry("a.jpg", []), "y": entry("a.jpg", [])}, "appears twice")]
    for data, message in cases:
        with pytest.raises(DatasetError, match=message):
            load_via(write_json(tmp_path / "v.json", data))
    with pytest.raises(DatasetError, match="VIA 3 project"):
        load_via(write_json(tmp_path / "v.json", {"project": {}, "file": {}, "metadata": {}}))


def test_missing_class_attribute_needs_default(tmp_path):
    write_images(tmp_path, ["a.jpg"])
    path = write_json(tmp_path / "v.json", {"a": entry("a.jpg", [polygon([1, 9, 9], [1, 1, 9])])})
    with pytest.raises(DatasetError, match="default_class"):
        load_via(path, class_attribute="name", default_class=None)
    ds = load_via(path, class_attribute="name", default_class="thing")
    assert ds.class_names == ["BG", "thing"]


SHAPE_KEYS = ["name", "all_points_x", "all_points_y", "x", "y", "width", "height", "cx", "cy",
              "r", "rx", "ry", "theta"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-100, 200) | st.floats() | st.text(max_size=6)
    | st.sampled_from(["polygon", "rect", "circle", "ellipse", "polyline", "point"])
    | EXTREME_NUMBERS | NASTY_NAMES,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(
        st.sampled_from(SHAPE_KEYS + ["shape_attributes", "region_attributes", "regions",
                                      "filename", "kind"]), c, max_size=6),
    max_leaves=20)
SHAPES = st.builds(
    lambda name, xs, ys, v: {"name": name, "all_points_x": xs, "all_points_y": ys, "x": v[0],
                             "y": v[1], "width": v[2], "height": v[3], "cx": v[0], "cy": v[1],
                             "r": v[2], "rx": v[2], "ry": v[3], "theta": v[4]},
    st.sampled_from(["polygon", "polyline", "rect", "circle", "ellipse"]),
    st.lists(COORDINATES, min_size=3, max_size=6), st.lists(COORDINATES, min_size=3,
                                                            max_size=6),
    st.lists(COORDINATES, min_size=5, max_size=5))
REGIONS = st.lists(st.builds(lambda shape, kind: {"shape_attributes": shape,
                                                  "region_attributes": {"kind": kind}},
                             SHAPES, st.sampled_from(["a", "b", ""]) | NASTY_NAMES),
                   max_size=4)
FUZZ = {"regions": VALUES | REGIONS, "extra": VALUES}


def fuzz_via(tmp_path, regions, extra):
    write_images(tmp_path, ["a.jpg"])
    path = write_json(tmp_path / "fuzz.json", {"a": {"filename": "a.jpg", "regions": regions},
                                               "b": extra})
    read_and_check(lambda strict: load_via(path, class_attribute="kind", strict=strict))
    read_and_check(lambda strict: load_via(path, strict=strict))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**FUZZ)
def test_fuzz_only_dataset_errors(tmp_path, regions, extra):
    """Only DatasetError escapes; what is accepted has finite geometry and masks inside the
    image (extremes: 1e308, 10**400, inf, NaN; NUL and control characters in names)."""
    fuzz_via(tmp_path, regions, extra)


def test_region_without_class_attribute_is_an_error_not_object(tmp_path):
    """Issue 14 case 9: with class_attribute, a region lacking it used to become "object"."""
    write_images(tmp_path, ["a.jpg"])
    path = write_json(tmp_path / "v.json", {"a": entry("a.jpg", [
        polygon([1, 9, 9], [1, 1, 9], kind="ball"), polygon([20, 30, 30], [1, 1, 9])])})
    with pytest.raises(DatasetError, match="attribute 'kind' is missing") as err:
        load_via(path, class_attribute="kind")
    assert "v.json: image 'a.jpg', region 1" in str(err.value)
    ds = load_via(path, class_attribute="kind", strict=False)
    assert ds.class_names == ["BG", "ball"] and ds.load_mask(0)[1].tolist() == [1]
    assert ds.problems[0].item == "image 'a.jpg', region 1"
    ds = load_via(path, class_attribute="kind", default_class="other")  # asked for: used
    assert ds.class_names == ["BG", "ball", "other"]
    assert load_via(path).class_names == ["BG", "object"]  # no class attribute: one class


@pytest.mark.parametrize("shape, message", [
    ({"name": "polygon", "all_points_x": [1, 1e308, 9], "all_points_y": [1, 1, 9]}, "1e\\+308"),
    ({"name": "polygon", "all_points_x": [-1e308, 30, 30], "all_points_y": [-1e308, 1, 40]},
     "beyond"),
    ({"name": "polygon", "all_points_x": [1, 10 ** 400, 9], "all_points_y": [1, 1, 9]},
     "401 digits"),
    ({"name": "rect", "x": 1, "y": 1, "width": 10 ** 400, "height": 3}, "width' is an integer"),
    ({"name": "rect", "x": -1e308, "y": 1, "width": 1e308, "height": 3}, "beyond"),
    ({"name": "circle", "cx": 5, "cy": 5, "r": 1e308}, "beyond"),
    ({"name": "ellipse", "cx": 5, "cy": 5, "rx": 3, "ry": 3, "theta": 10 ** 400}, "theta"),
])
def test_extreme_coordinates_are_refused_before_any_arithmetic(tmp_path, shape, message):
    """Issue 14 cases 1 and 4: near-1e308 floats used to overflow the clipping to inf/NaN
    (a wrong mask, or a segfault in pycocotools); 400-digit integers raised OverflowError."""
    write_images(tmp_path, ["a.jpg"])
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"a": entry("a.jpg", [
        polygon([1, 9, 9], [1, 1, 9]), {"shape_attributes": shape}])}))
    with pytest.raises(DatasetError, match=message) as err:
        load_via(path)
    assert "v.json: image 'a.jpg', region 1" in str(err.value)
    ds = load_via(path, strict=False)
    masks, _ = ds.load_mask(0)
    assert masks.shape == (48, 64, 1) and masks.sum() == 28  # the good triangle only


@pytest.mark.parametrize("name, message", [
    ("a.jpg\x00", "NUL character"), ("\x00", "NUL character"),
    ("\ud800.jpg", "cannot be encoded"), ("a\n.jpg", r"a\\n\.jpg': image file not found"),
])
def test_nul_and_control_characters_in_file_names(tmp_path, name, message):
    """Issue 14 case 3: a NUL in a file name raised ``ValueError: embedded null byte``."""
    write_images(tmp_path, ["a.jpg"])
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"k": entry(name, [polygon([1, 9, 9], [1, 1, 9])]),
                                "a": entry("a.jpg", [polygon([1, 9, 9], [1, 1, 9])])}))
    with pytest.raises(DatasetError, match=message) as err:
        load_via(path)
    assert "v.json: image " in str(err.value) and "\x00" not in str(err.value)
    ds = load_via(path, strict=False)
    assert [info["id"] for info in ds.image_info] == ["a.jpg"]


def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch):
    """Issue 14 case 2: the limit is a parameter, and a module default saying how to raise it."""
    from maskrcnn.data import image_io

    write_images(tmp_path, ["a.jpg"])  # 64 x 48 = 3072 pixels
    path = write_json(tmp_path / "v.json", {"a": entry("a.jpg", [polygon([1, 9, 9],
                                                                         [1, 1, 9])])})
    with pytest.raises(DatasetError, match=r"a\.jpg: image is 64x48 = 3,072 pixels, over the "
                                           r"limit of 3,000 .*raise the limit: max_image_pix"):
        load_via(path, max_image_pixels=3000)
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 3000)
    with pytest.raises(DatasetError, match="v.json: image 'a.jpg': .*over the limit"):
        load_via(path)
    ds = load_via(path, max_image_pixels=3072)
    assert ds.load_image(0).shape == (48, 64, 3)
    ds.max_image_pixels = 1000
    with pytest.raises(DatasetError, match="over the limit of 1,000"):
        ds.load_image(0)


def test_a_coco_or_labelme_file_read_as_via_says_which_format_it_is(tmp_path, capsys):
    from maskrcnn.cli import main

    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": [], "info": {},
                                "licenses": [], "type": "instances"}))
    assert main(["inspect", str(coco), "--format", "via"]) == 2
    out = capsys.readouterr()
    assert out.err.strip() == (f"error: {coco}: this looks like COCO (images, annotations), "
                               "not VIA: use --format coco")
    assert out.out == ""
    labelme = tmp_path / "a.json"
    labelme.write_text(json.dumps({"shapes": [], "imagePath": "a.png", "flags": {}}))
    with pytest.raises(DatasetError, match="looks like a LabelMe file.*--format labelme"):
        load_via(labelme)
