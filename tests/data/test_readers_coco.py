"""COCO JSON reader: polygons, RLE (compressed and not), crowd, class subsets, bad input."""
import gc
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from maskrcnn.data.instances import rle_string_counts
from maskrcnn.data.readers.coco import load_coco
from maskrcnn.errors import DatasetError

from .fuzz_checks import (
    COORDINATES,
    EXTREME_NUMBERS,
    FUZZ_EXAMPLES,
    NASTY_NAMES,
    read_and_check,
)


def uncompressed_rle(mask):
    """Column-major run lengths starting with a run of zeros (COCO's uncompressed RLE)."""
    flat = np.asarray(mask, dtype=np.uint8).flatten(order="F")
    runs, current, count = [], 0, 0
    for v in flat:
        if v != current:
            runs.append(count)
            current, count = v, 0
        count += 1
    runs.append(count)
    return {"size": list(mask.shape), "counts": runs}


def write_coco(tmp_path, annotations=None, images=None, categories=None, name="ann.json"):
    (tmp_path / "img").mkdir(exist_ok=True)
    images = images if images is not None else [
        {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
        {"id": 2, "file_name": "b.png", "width": 40, "height": 32},
        {"id": 3, "file_name": "empty.png", "width": 32, "height": 32}]
    for record in images:
        if isinstance(record, dict) and record.get("file_name") in ("a.jpg", "b.png",
                                                                    "empty.png"):
            Image.new("RGB", (record.get("width", 32), record.get("height", 32)),
                      (90, 30, 10)).save(tmp_path / "img" / record["file_name"])
    m = np.zeros((32, 40), dtype=np.uint8)
    m[5:20, 3:30] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    rle["counts"] = rle["counts"].decode("ascii")
    crowd = np.zeros((32, 40), dtype=np.uint8)
    crowd[20:30, 0:10] = 1
    annotations = annotations if annotations is not None else [
        {"id": 10, "image_id": 1, "category_id": 3, "iscrowd": 0, "bbox": [1, 1, 29, 19],
         "area": 551.0, "segmentation": [[1, 1, 30, 1, 30, 20, 1, 20], [40, 30, 70, 30, 50, 60]]},
        {"id": 11, "image_id": 2, "category_id": 7, "iscrowd": 0, "segmentation": rle,
         "bbox": [3, 5, 27, 15], "area": 405.0},
        {"id": 12, "image_id": 2, "category_id": 3, "iscrowd": 1, "bbox": [0, 20, 10, 10],
         "area": 100.0, "segmentation": uncompressed_rle(crowd)}]
    categories = categories if categories is not None else [
        {"id": 3, "name": "cat", "supercategory": "animal"},
        {"id": 7, "name": "dog", "supercategory": "animal"}]
    path = tmp_path / name
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": categories}))
    return path


def test_reads_polygons_rle_and_crowd(tmp_path):
    path = write_coco(tmp_path)
    ds = load_coco(path, tmp_path / "img")
    assert ds.class_names == ["BG", "cat", "dog"]
    assert [c["id"] for c in ds.class_info[1:]] == [3, 7]  # source category ids kept
    assert [info["id"] for info in ds.image_info] == [1, 2, 3]
    image, masks, class_ids = ds.load_image_and_masks(1)
    assert image.shape == (32, 40, 3) and masks.shape == (32, 40, 2) and masks.dtype == bool
    assert class_ids.tolist() == [2, -1]  # crowd is negative
    empty = ds.load_mask(2)
    assert empty[0].shape == (32, 32, 0) and empty[1].dtype == np.int32


def test_masks_equal_pycocotools_ann_to_mask(tmp_path):
    path = write_coco(tmp_path)
    ds = load_coco(path, tmp_path / "img")
    coco = COCO(str(path))
    for image_id, source_id in enumerate([1, 2]):
        masks, _ = ds.load_mask(image_id)
        expected = [coco.annToMask(a).astype(bool) for a in coco.imgToAnns[source_id]]
        assert masks.shape[-1] == len(expected)
        for k, ref in enumerate(expected):
            np.testing.assert_array_equal(masks[..., k], ref)


def test_points_outside_are_counted(tmp_path):
    ds = load_coco(write_coco(tmp_path), tmp_path / "img")
    warnings = [p for p in ds.problems if p.severity == "warning"]
    assert len(warnings) == 1
    assert "2 polygon point(s) outside" in warnings[0].message
    assert "annotation 0 (id 10)" in warnings[0].item


def test_class_subset_and_empty_images(tmp_path):
    path = write_coco(tmp_path)
    ds = load_coco(path, tmp_path / "img", class_names=["dog"], keep_empty=False)
    assert ds.class_names == ["BG", "dog"]
    assert [info["id"] for info in ds.image_info] == [2]
    assert ds.skipped == {"annotations of other classes": 2, "images without annotations": 2}
    with pytest.raises(DatasetError, match="no categories named"):
        load_coco(path, tmp_path / "img", class_names=["horse"])


def test_lazy_storage_keeps_geometry_not_masks(tmp_path):
    ds = load_coco(write_coco(tmp_path), tmp_path / "img")
    kinds = [inst.kind for inst in ds.image_info[1]["instances"]]
    assert kinds == ["rle", "rle"]
    assert not any(isinstance(inst.data, np.ndarray) for inst in ds.image_info[0]["instances"])


def test_rle_string_parser_matches_pycocotools():
    rng = np.random.default_rng(1)
    mask = rng.random((23, 17)) > 0.6
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert sum(rle_string_counts(rle["counts"])) == 23 * 17
    assert rle_string_counts(rle["counts"]) == uncompressed_rle(mask)["counts"]


@pytest.mark.parametrize("annotation, message", [
    ({"image_id": 1, "category_id": 99, "segmentation": [[1, 1, 5, 1, 5, 5]]},
     "unknown category id 99"),
    ({"image_id": 1, "category_id": 3, "segmentation": [[1, 1, 5, 1]]}, "fewer than 3 points"),
    ({"image_id": 1, "category_id": 3, "segmentation": [[1, 1, 5, float("nan"), 3, 3]]},
     "finite"),
    ({"image_id": 1, "category_id": 3, "segmentation": [[1, 1, 5, 1, 5]]}, "odd number"),
    ({"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}, "box-only"),
    ({"image_id": 5, "category_id": 3, "segmentation": [[1, 1, 5, 1, 5, 5]]},
     "not in 'images'"),
    ({"image_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]}, "no 'category_id' key"),
    ({"image_id": 1, "category_id": 3, "segmentation": {"size": [2, 2], "counts": "00"}},
     r"does not match the image"),
])
def test_bad_annotations_name_file_and_item(tmp_path, annotation, message):
    path = write_coco(tmp_path, annotations=[annotation])
    with pytest.raises(DatasetError, match=message) as err:
        load_coco(path, tmp_path / "img")
    assert str(path) in str(err.value) and "annotation 0" in str(err.value)
    ds = load_coco(path, tmp_path / "img", strict=False)
    assert [p.severity for p in ds.problems] == ["error"]


def test_corrupt_rle_string_fails_at_load_with_names(tmp_path):
    bad = {"image_id": 2, "category_id": 3, "segmentation": {"size": [32, 40], "counts": "zz"}}
    ds = load_coco(write_coco(tmp_path, annotations=[bad]), tmp_path / "img")
    with pytest.raises(DatasetError, match=r"b\.png.*annotation 0.*RLE"):
        ds.load_mask(1)


def test_duplicate_file_names_and_escaping_paths(tmp_path):
    images = [{"id": 1, "file_name": "a.jpg", "width": 32, "height": 32},
              {"id": 2, "file_name": "a.jpg", "width": 32, "height": 32},
              {"id": 3, "file_name": "../../etc/passwd", "width": 32, "height": 32}]
    path = write_coco(tmp_path, annotations=[], images=images)
    with pytest.raises(DatasetError, match="file name also used by image 1"):
        load_coco(path, tmp_path / "img")
    ds = load_coco(path, tmp_path / "img", strict=False)
    assert len(ds.image_info) == 1
    assert any("outside the dataset folder" in p.message for p in ds.problems)


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"images": [\n  {"id": 1,, }]}')
    with pytest.raises(DatasetError, match=r"bad\.json: line 2, column 12"):
        load_coco(path)


def test_wrong_schema(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(DatasetError, match="no 'categories' key"):
        load_coco(path)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(DatasetError, match="JSON object"):
        load_coco(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=True)
    | st.text(max_size=4) | EXTREME_NUMBERS | NASTY_NAMES,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "image_id", "category_id", "segmentation",
                                       "iscrowd", "size", "counts", "file_name", "width",
                                       "height", "name"]), children, max_size=5),
    max_leaves=15)
ANNOTATIONS = st.builds(
    lambda ann_id, image_id, polygons: {"id": ann_id, "image_id": image_id, "category_id": 3,
                                        "segmentation": polygons},
    st.sampled_from([7, "7", 8, None]), st.sampled_from([1, "1", 2]),
    st.lists(st.lists(COORDINATES, min_size=6, max_size=10), min_size=1, max_size=2))
IMAGES = st.builds(lambda image_id, name, w, h: {"id": image_id, "file_name": name, "width": w,
                                                 "height": h},
                   st.sampled_from([1, "1", 2, "2"]), NASTY_NAMES | st.just("c.png"),
                   COORDINATES, COORDINATES)
FUZZ = {"annotation": JSON | ANNOTATIONS, "image": JSON | IMAGES, "category": JSON}


def fuzz_coco(tmp_path, annotation, image, category):
    path = write_coco(tmp_path, annotations=[annotation, {
                          "id": 7, "image_id": 1, "category_id": 3,
                          "segmentation": [[1, 1, 30, 1, 30, 20]]}], name="fuzz.json",
                      images=[{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}, image],
                      categories=[{"id": 3, "name": "cat"}, category])
    read_and_check(lambda strict: load_coco(path, tmp_path / "img", strict=strict))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**FUZZ)
def test_fuzz_only_dataset_errors(tmp_path, annotation, image, category):
    """Any malformed input raises DatasetError (or reads, with finite geometry and masks
    inside the image), never another exception; extremes and NUL/control characters too."""
    fuzz_coco(tmp_path, annotation, image, category)


def polygon_ann(ann_id, image_id=1, category_id=3, points=(1, 1, 30, 1, 30, 20)):
    return {"id": ann_id, "image_id": image_id, "category_id": category_id,
            "segmentation": [list(points)]}


def test_duplicate_annotation_ids_and_repeated_annotations(tmp_path):
    """Issue 14 case 10: a repeated annotation id (or the same annotation twice) used to give
    a duplicate instance."""
    path = write_coco(tmp_path, annotations=[polygon_ann(10), polygon_ann(11),
                                             polygon_ann(10, points=(2, 2, 9, 2, 9, 9))])
    with pytest.raises(DatasetError, match=r"ann.json: image 1 \(a.jpg\), annotation 2 \(id 10\)"
                                           r": same id as annotation 0"):
        load_coco(path, tmp_path / "img")
    ds = load_coco(path, tmp_path / "img", strict=False)
    assert ds.load_mask(0)[0].shape[-1] == 2 and len(ds.problems.copy()) == 1
    no_ids = [{k: v for k, v in polygon_ann(0).items() if k != "id"}] * 2
    path = write_coco(tmp_path, annotations=no_ids)
    with pytest.raises(DatasetError, match="annotation 1: same annotation as annotation 0"):
        load_coco(path, tmp_path / "img")
    path = write_coco(tmp_path, annotations=[polygon_ann(1), polygon_ann("1")])
    with pytest.raises(DatasetError, match="same id as annotation 0"):
        load_coco(path, tmp_path / "img")


def test_duplicate_category_names(tmp_path):
    path = write_coco(tmp_path, categories=[{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"},
                                            {"id": 9, "name": "cat"}])
    with pytest.raises(DatasetError, match=r"ann.json: category 2: name 'cat' is used twice "
                                           r"\(ids 3 and 9\)"):
        load_coco(path, tmp_path / "img")


def test_int_and_string_image_ids(tmp_path):
    """1 and "1" used to become two images; "2" vs 2 said only "not in images"."""
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
              {"id": "1", "file_name": "b.png", "width": 40, "height": 32}]
    path = write_coco(tmp_path, images=images, annotations=[polygon_ann(1)])
    with pytest.raises(DatasetError, match=r"image '1' \(b.png\): image id '1' \(a string\) and "
                                           r"image id 1 \(a number\) name the same image"):
        load_coco(path, tmp_path / "img")
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
              {"id": 2, "file_name": "b.png", "width": 40, "height": 32}]
    path = write_coco(tmp_path, images=images, annotations=[polygon_ann(1, image_id="2")])
    with pytest.raises(DatasetError, match=r"image_id '2' \(a string\) is not in 'images', which "
                                           r"has image id 2 \(a number\): the types differ"):
        load_coco(path, tmp_path / "img")
    images[1]["id"] = "2"
    path = write_coco(tmp_path, images=images, annotations=[polygon_ann(1, image_id=2)])
    with pytest.raises(DatasetError, match=r"image_id 2 \(a number\) .* image id '2' \(a "
                                           r"string\): the types differ"):
        load_coco(path, tmp_path / "img")


@pytest.mark.parametrize("points, message", [
    ((1, 1, 1e308, 1, 30, 20), "1e\\+308, beyond"),
    ((-1e308, -1e308, 1e308, -1e308, 1e308, 1e308), "beyond"),
    ((1, 1, 10 ** 400, 1, 30, 20), "an integer of about 401 digits"),
    ((1, 1, -10 ** 400, 1, 30, 20), "-an integer of about 401 digits"),
])
def test_extreme_polygon_coordinates(tmp_path, points, message):
    """Issue 14 cases 1 and 4 (COCO): refused before any arithmetic, naming the annotation."""
    path = write_coco(tmp_path, annotations=[polygon_ann(1), polygon_ann(2, points=points)])
    with pytest.raises(DatasetError, match=message) as err:
        load_coco(path, tmp_path / "img")
    assert "image 1 (a.jpg), annotation 1 (id 2)" in str(err.value)
    ds = load_coco(path, tmp_path / "img", strict=False)
    assert ds.load_mask(0)[0].shape == (48, 64, 1)


@pytest.mark.parametrize("field, value, message", [
    ("width", 10 ** 400, "width is an integer of about 401"), ("height", 1e308, "beyond"),
    ("file_name", "a.jpg\x00", "NUL character"), ("file_name", "\ud800", "cannot be encoded"),
])
def test_extreme_image_records(tmp_path, field, value, message):
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
              {"id": 2, "file_name": "b.png", "width": 40, "height": 32}]
    images[1]["file_name"] = "c.png"  # not written by write_coco
    images[1][field] = value
    path = write_coco(tmp_path, images=images, annotations=[polygon_ann(1)])
    with pytest.raises(DatasetError, match=message) as err:
        load_coco(path, tmp_path / "img")
    assert "ann.json: image 2" in str(err.value) and "\x00" not in str(err.value)
    assert [i["id"] for i in load_coco(path, tmp_path / "img", strict=False).image_info] == [1]


def test_integer_literal_too_long_for_python(tmp_path):
    path = tmp_path / "long.json"
    path.write_text('{"images": [{"id": ' + "9" * 5000 + "}]}")
    with pytest.raises(DatasetError, match="long.json: unusable JSON number"):
        load_coco(path)


def test_image_over_the_pixel_limit(tmp_path, monkeypatch):
    """Issue 14 case 2: PIL's DecompressionBombError escaped from loading and inspect."""
    from PIL import Image as PILImage

    from maskrcnn.data import image_io
    from maskrcnn.data.inspect import inspect_dataset

    path = write_coco(tmp_path)
    with pytest.raises(DatasetError, match=r"image 1 \(a.jpg\): a.jpg: image is 64x48 = 3,072 "
                                           r"pixels, over the limit of 2,000"):
        load_coco(path, tmp_path / "img", max_image_pixels=2000)
    ds = load_coco(path, tmp_path / "img")
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 500)  # PIL itself: bomb over 1000 px
    with pytest.raises(DatasetError, match="a.jpg: image is 64x48 .*MAX_IMAGE_PIXELS"):
        image_io.read_image(tmp_path / "img" / "a.jpg", max_pixels=2000)
    assert ds.load_image(0).shape == (48, 64, 3)  # our limit (default) rules, not PIL's
    assert PILImage.MAX_IMAGE_PIXELS == 500  # and PIL's global is left as it was
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 1100)  # a.jpg and b.png are over it
    report = inspect_dataset(ds)
    assert [p.item for p in report.errors] == ["image 1", "image 2"]
    assert "over the limit of 1,100" in report.errors[0].message


def test_link_leading_out_of_the_image_folder_names_file_and_image(tmp_path):
    """Image paths are resolved once per folder; a link inside it that leads out is still
    refused at open, naming the annotation file, the image and what to fix."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.png").write_bytes(b"x")
    path = write_coco(tmp_path, annotations=[polygon_ann(1)])
    (tmp_path / "img" / "leak.png").symlink_to(tmp_path / "outside" / "secret.png")
    (tmp_path / "img" / "same.png").symlink_to(tmp_path / "img" / "b.png")
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
              {"id": 2, "file_name": "same.png", "width": 40, "height": 32},
              {"id": 3, "file_name": "leak.png", "width": 40, "height": 32}]
    path = write_coco(tmp_path, images=images, annotations=[polygon_ann(1)])
    with pytest.raises(DatasetError, match=r"ann\.json: image 3 \(leak\.png\): 'leak\.png' "
                                           r"points outside the dataset folder"):
        load_coco(path, tmp_path / "img")
    ds = load_coco(path, tmp_path / "img", strict=False)
    assert [info["path"] for info in ds.image_info] == [
        str((tmp_path / "img").resolve() / "a.jpg"), str((tmp_path / "img").resolve() / "b.png")]
    assert [p.item for p in ds.problems] == ["image 3 (leak.png)"]


@pytest.mark.parametrize("record, item, message", [
    ([1, 2], "image record 1", "must be a JSON object"),
    ({"file_name": "c.png", "width": 4, "height": 4}, "image record 1", "no 'id' key"),
    ({"id": True, "file_name": "c.png", "width": 4, "height": 4}, "image record 1",
     "'id' has the wrong type"),
    ({"id": 2, "width": 4, "height": 4}, "image 2", "no 'file_name' key"),
    ({"id": "2", "file_name": 5, "width": 4, "height": 4}, "image '2'", "wrong type"),
    ({"id": 2, "file_name": "c.png", "height": 4}, "image 2 (c.png)", "no 'width' key"),
    ({"id": 2, "file_name": "c.png", "width": 4.0, "height": 0}, "image 2 (c.png)",
     "image size 4x0 is not between"),
    ({"id": 2, "file_name": "c.png", "width": True, "height": 4}, "image 2 (c.png)",
     "wrong type"),
    ({"id": 2, "file_name": "c.png", "width": 40000, "height": 4}, "image 2 (c.png)",
     "image size 40000x4"),
    ({"id": 2, "file_name": "a\nb.png", "width": 4, "height": 4.5e300},
     "image 2 ('a\\nb.png')", "beyond"),
])
def test_bad_image_records_name_the_item(tmp_path, record, item, message):
    """The image checks run inline for the usual record; an unusual one is named as far as
    it is valid (record number, then id, then file name)."""
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}, record]
    path = write_coco(tmp_path, images=images, annotations=[polygon_ann(1)])
    with pytest.raises(DatasetError, match=f"ann.json: {re.escape(item)}: .*{message}"):
        load_coco(path, tmp_path / "img")
    ds = load_coco(path, tmp_path / "img", strict=False)
    assert [i["id"] for i in ds.image_info] == [1] and len(ds.problems) == 1


@pytest.mark.parametrize("points, message", [
    ((float("nan"), 1.5, 5.5, 1.5, 5.5, 5.5), "NaN"),
    ((3.5, 1.5, float("nan"), 1.5, 1.5, 5.5), "NaN"),  # min and max step over it
    ((3.5, 1.5, 5.5, float("inf"), 1.5, 5.5), "NaN or infinite"),
    ((3.5, 1.5, -float("inf"), 1.5, 1.5, 5.5), "NaN or infinite"),
    ((3.5, 1.5, True, 1.5, 1.5, 5.5), "must be a number, got True"),
    ((3.5, 1.5, "2", 1.5, 1.5, 5.5), "must be a number, got '2'"),
    ((3.5, 1.5, None, 1.5, 1.5, 5.5), "must be a number, got None"),
    ((3.5, 1.5, 5.5, 1.5, 1.5), "odd number"),
    ((3.5, 1.5, 5.5, 1.5), "fewer than 3 points"),
])
def test_bad_polygons_inside_the_image(tmp_path, points, message):
    """Polygons inside the image are kept as parsed; the checks of clip_polygon still apply."""
    path = write_coco(tmp_path, annotations=[polygon_ann(1, points=points)])
    with pytest.raises(DatasetError, match=rf"ann\.json: image 1 \(a\.jpg\), annotation 0 "
                                           rf"\(id 1\): .*{message}"):
        load_coco(path, tmp_path / "img")


def test_polygon_values_are_kept_as_written(tmp_path):
    """Float polygons inside the image keep the file's values exactly; integers become
    floats; points outside are counted and the mask still equals pycocotools'."""
    inside = [1.25, 2.5, 30.125, 1.0, 30.0, 20.75, 0.0, 48.0]
    ints = [1, 1, 30, 1, 30, 20]
    partly = [1.5, 1.5, 70.5, 1.5, 30.5, 20.5]
    anns = [polygon_ann(1, points=inside), polygon_ann(2, points=ints),
            polygon_ann(3, points=partly)]
    path = write_coco(tmp_path, annotations=anns)
    ds = load_coco(path, tmp_path / "img")
    data = [inst.data for inst in ds.image_info[0]["instances"]]
    assert data[0] == [inside] and data[1] == [[1.0, 1.0, 30.0, 1.0, 30.0, 20.0]]
    assert all(type(v) is float for v in data[1][0]) and data[2] == [partly]
    assert [p.message.split(" ")[0] for p in ds.problems] == ["1"]  # 1 point outside
    coco = COCO(str(path))
    masks, _ = ds.load_mask(0)
    for k, ann in enumerate(coco.imgToAnns[1]):
        np.testing.assert_array_equal(masks[..., k], coco.annToMask(ann).astype(bool))


def test_annotation_ids_that_are_the_same_and_not(tmp_path):
    """Ids are the same when their text is: 7 and "7"; not 7 and "07", " 7" or "7.0"."""
    for first, second in [(7, "7"), ("abc", "abc"), ("-3", -3)]:
        path = write_coco(tmp_path, annotations=[polygon_ann(first), polygon_ann(second)])
        with pytest.raises(DatasetError, match="annotation 1 .*same id as annotation 0"):
            load_coco(path, tmp_path / "img")
    anns = [polygon_ann(7), polygon_ann("07"), polygon_ann(" 7"), polygon_ann("7.0"),
            polygon_ann("1_0"), polygon_ann(10)]
    ds = load_coco(write_coco(tmp_path, annotations=anns), tmp_path / "img")
    assert len(ds.image_info[0]["instances"]) == 6
    path = write_coco(tmp_path, annotations=[polygon_ann(1.5)])
    with pytest.raises(DatasetError, match=r"annotation 0 \(id 1.5\): annotation 'id' must "
                                           "be a number or a string, got float"):
        load_coco(path, tmp_path / "img")


def test_image_record_fields_and_the_collector(tmp_path):
    """Other fields of an image record go into image_info, except the reader's own; the
    garbage collector is on again after reading, also when the file is refused."""
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48, "license": 3,
               "coco_url": "http://x/a.jpg", "instances": "not ours", "path": "/elsewhere"}]
    ds = load_coco(write_coco(tmp_path, images=images, annotations=[polygon_ann(1)]),
                   tmp_path / "img")
    info = ds.image_info[0]
    assert info["license"] == 3 and info["coco_url"] == "http://x/a.jpg"
    assert info["path"] == str((tmp_path / "img").resolve() / "a.jpg")
    assert len(info["instances"]) == 1 and info["instances"][0].kind == "polygon"
    assert gc.isenabled()
    path = write_coco(tmp_path, annotations=[polygon_ann(1, image_id=9)])
    with pytest.raises(DatasetError, match="not in 'images'"):
        load_coco(path, tmp_path / "img")
    assert gc.isenabled()
