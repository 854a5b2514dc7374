"""COCO JSON reader: polygons, RLE (compressed and not), crowd, class subsets, bad input."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from maskrcnn.data.coco import load_coco, rle_string_counts
from maskrcnn.errors import DatasetError


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
    | st.text(max_size=4),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "image_id", "category_id", "segmentation",
                                       "iscrowd", "size", "counts", "file_name", "width",
                                       "height", "name"]), children, max_size=5),
    max_leaves=15)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(annotation=JSON, image=JSON, category=JSON)
def test_fuzz_only_dataset_errors(tmp_path, annotation, image, category):
    """Any malformed input raises DatasetError (or reads), never another exception."""
    path = write_coco(tmp_path, annotations=[annotation], name="fuzz.json",
                      images=[{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}, image],
                      categories=[{"id": 3, "name": "cat"}, category])
    for strict in (True, False):
        try:
            ds = load_coco(path, tmp_path / "img", strict=strict)
            for i in ds.image_ids:
                ds.load_image_and_masks(i)
        except DatasetError:
            pass
