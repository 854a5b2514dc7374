"""LabelMe reader: shapes, group_id, image paths, splits, and bad input named."""
import base64
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskrcnn.data import load_labelme, open_dataset
from maskrcnn.errors import DatasetError

from .fuzz_checks import COORDINATES, FUZZ_EXAMPLES, NASTY_NAMES, read_and_check
from .test_readers_via import VALUES


def shape(label, points, shape_type="polygon", group_id=None, **extra):
    return {"label": label, "points": points, "group_id": group_id, "shape_type": shape_type,
            "flags": {}, **extra}


def labelme_file(folder, name, shapes, image_path=None, size=(64, 48), make_image=True,
                 **extra):
    image_path = image_path or f"{name}.png"
    if make_image:
        target = folder / image_path
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (10, 20, 30)).save(target)
    data = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path,
            "imageData": None, "imageWidth": size[0], "imageHeight": size[1], **extra}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_shapes_groups_and_classes(tmp_path):
    labelme_file(tmp_path, "a", [
        shape("cat", [[5, 5], [30, 5], [30, 20], [5, 20]]),
        shape("dog", [[40, 30], [60, 40]], "rectangle"),
        shape("cat", [[50, 10], [50, 15]], "circle"),
        shape("cat", [[0, 30], [10, 30], [10, 40]], group_id=1),
        shape("cat", [[20, 30], [30, 30], [30, 40]], group_id=1),
        shape("cat", [[3, 3]], "point"),
        shape("cat", [[1, 1], [9, 9]], "linestrip")])
    labelme_file(tmp_path, "b", [])
    ds = load_labelme(tmp_path)
    assert ds.class_names == ["BG", "cat", "dog"]
    assert [info["id"] for info in ds.image_info] == ["a.png", "b.png"]
    masks, class_ids = ds.load_mask(0)
    assert class_ids.tolist() == [1, 2, 1, 1]
    assert masks[..., 0].sum() == 25 * 15 and masks[..., 1].sum() == 20 * 10
    assert abs(masks[..., 2].sum() - np.pi * 25) < 12  # circle of radius 5
    assert masks[32, 8, 3] and masks[32, 28, 3]  # two parts, one instance
    assert ds.skipped == {"shapes without area (point, line, linestrip)": 2}
    assert ds.load_mask(1)[0].shape == (48, 64, 0)


def test_mask_shape_and_mixed_group(tmp_path):
    patch = np.zeros((10, 20), dtype=np.uint8)
    patch[2:8, 5:15] = 255
    buffer = io.BytesIO()
    Image.fromarray(patch).save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    labelme_file(tmp_path, "a", [
        shape("blob", [[10, 10], [29, 19]], "mask", mask=encoded, group_id=3),
        shape("blob", [[40, 30], [50, 30], [50, 40], [40, 40]], group_id=3)],
        imageData="aGVsbG8=")  # embedded image data is ignored
    masks, _ = load_labelme(tmp_path / "a.json").load_mask(0)
    assert masks.shape == (48, 64, 1)
    assert masks[12:18, 15:25, 0].all() and masks[:, :, 0].sum() == 60 + 100


def test_image_path_in_another_folder_and_splits(tmp_path):
    for split in ("train", "val"):
        folder = tmp_path / split / "annotations"
        folder.mkdir(parents=True)
        labelme_file(folder, f"{split}1", [shape("x", [[1, 1], [9, 1], [9, 9]])],
                     image_path=f"../images/{split}1.png")
    with pytest.raises(DatasetError, match="val1.json: image of val1.json: imagePath "
                       "'../images/val1.png' lies outside .*pass the image folder"):
        open_dataset(tmp_path / "val" / "annotations", "labelme")
    ds = load_labelme(tmp_path / "val" / "annotations", tmp_path / "val" / "images")
    assert ds.image_info[0]["id"] == "val1.png" and ds.load_mask(0)[1].tolist() == [1]


def test_open_dataset_picks_a_split(tmp_path):
    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        labelme_file(tmp_path / split, f"{split}1", [shape("x", [[1, 1], [9, 1], [9, 9]])])
    assert open_dataset(tmp_path, "labelme").image_info[0]["id"] == "train1.png"
    assert open_dataset(tmp_path, "labelme", split="val").image_info[0]["id"] == "val1.png"
    assert open_dataset(tmp_path / "val", "labelme").num_images == 1
    with pytest.raises(DatasetError, match="no split 'test'"):
        open_dataset(tmp_path, "labelme", split="test")


@pytest.mark.parametrize("bad, message", [
    (shape("", [[1, 1], [9, 1], [9, 9]]), "shape 0: shape has no 'label'"),
    (shape("x", [[1, 1], [9, 1]]), "shape 0 \\('x'\\): polygon has 2 points"),
    (shape("x", [[1, 1], "oops", [9, 9]]), "a point must be \\[x, y\\]"),
    (shape("x", [[1, 1], [1, 9]], "rectangle"), "rectangle has no area"),
    (shape("x", [[1, 1], [9, 9]], "spline"), "unknown shape_type 'spline'"),
    (shape("x", [[1, 1], [float("nan"), 9], [3, 3]]), "finite"),
    (shape("x", [[1, 1], [9, 9]], "mask", mask="not base64!"), "not a base64 PNG"),
])
def test_bad_shapes_name_file_image_and_shape(tmp_path, bad, message):
    path = labelme_file(tmp_path, "a", [bad])
    with pytest.raises(DatasetError, match=message) as err:
        load_labelme(tmp_path)
    assert str(path) in str(err.value) and "image 'a.png'" in str(err.value)
    ds = load_labelme(tmp_path, strict=False)
    assert ds.num_images == 1 and ds.problems and ds.load_mask(0)[0].shape[-1] == 0


def test_bad_files(tmp_path):
    labelme_file(tmp_path, "a", [], size=(64, 48))
    data = json.loads((tmp_path / "a.json").read_text())
    data["imageWidth"] = 100
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="imageWidth is 100 but the image file is 64x48"):
        load_labelme(tmp_path)
    labelme_file(tmp_path, "a", [], make_image=False, image_path="missing.png")
    with pytest.raises(DatasetError, match="a.json: image 'missing.png': .*not found"):
        load_labelme(tmp_path)
    (tmp_path / "a.json").write_text('{"shapes": [')
    with pytest.raises(DatasetError, match="a.json: line 1, column .*malformed JSON"):
        load_labelme(tmp_path)
    (tmp_path / "a.json").write_text('{"images": []}')
    with pytest.raises(DatasetError, match="not a LabelMe file"):
        load_labelme(tmp_path)


def test_class_names_keep_and_order(tmp_path):
    labelme_file(tmp_path, "a", [shape("cat", [[1, 1], [9, 1], [9, 9]]),
                                 shape("dog", [[11, 1], [19, 1], [19, 9]])])
    ds = load_labelme(tmp_path, class_names=["dog"])
    assert ds.class_names == ["BG", "dog"] and ds.skipped == {"shapes of other classes": 1}
    assert ds.load_mask(0)[1].tolist() == [1]


# labelme's examples/instance_segmentation layout: data_annotated/ with a JSON per image,
# labels.txt starting with __ignore__ and _background_, shapes grouped by group_id.
EXAMPLE = {
    "2011_000003": [shape("person", [[10, 5], [30, 5], [30, 40], [10, 40]], group_id=0),
                    shape("person", [[12, 40], [28, 40], [20, 46]], group_id=0),
                    shape("bottle", [[40, 20], [50, 20], [50, 35], [40, 35]]),
                    shape("__ignore__", [[52, 2], [62, 2], [62, 12], [52, 12]])],
    "2011_000006": [shape("person", [[5, 5], [25, 5], [25, 30]], group_id=1),
                    shape("_background_", [[0, 0], [63, 0], [63, 47], [0, 47]]),
                    shape("person", [[30, 10], [55, 10], [55, 40], [30, 40]], group_id=2)],
    "2011_000025": [shape("bottle", [[8, 8], [20, 8], [20, 30], [8, 30]]),
                    shape("__ignore__", [[30, 30], [60, 30], [60, 45]]),
                    shape("__ignore__", [[2, 40], [6, 40], [6, 46]])],
}


def labelme2coco(folder, classes, crowd_ignore=False):
    """A COCO file as labelme2coco.py writes it from ``folder`` (categories from labels.txt,
    _background_ with id 0, __ignore__ shapes left out, a group's shapes one annotation);
    ``crowd_ignore``: write each __ignore__ shape instead as an iscrowd region of every class
    (the COCO way of saying the same)."""
    categories = [{"supercategory": None, "id": 0, "name": "_background_"}] + [
        {"supercategory": None, "id": i, "name": n} for i, n in enumerate(classes, start=1)]
    images, annotations = [], []
    for k, (name, shapes) in enumerate(EXAMPLE.items()):
        images.append({"id": k, "file_name": f"{name}.png", "width": 64, "height": 48})
        groups = {}
        for j, s in enumerate(shapes):
            groups.setdefault((s["label"], j if s["group_id"] is None else s["group_id"]),
                              []).append(sum(s["points"], []))
        for (label, _), parts in groups.items():
            targets = classes if label == "__ignore__" and crowd_ignore else [label]
            for target in targets:
                if target in classes:
                    annotations.append({
                        "id": len(annotations), "image_id": k, "segmentation": parts,
                        "category_id": classes.index(target) + 1,
                        "iscrowd": int(label == "__ignore__")})
    path = folder / ("crowd.json" if crowd_ignore else "annotations.json")
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": categories}))
    return path


def test_labelme_example_ignore_and_background_as_labelme_defines_them(tmp_path):
    from maskrcnn.data import load_coco

    data = tmp_path / "data_annotated"
    data.mkdir()
    for name, shapes in EXAMPLE.items():
        labelme_file(data, name, shapes)
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\nbottle\nperson\n")
    classes = ["bottle", "person"]
    ds = load_labelme(data)
    assert ds.class_names == ["BG"] + classes
    assert ds.skipped == {"_background_ shapes (background, not a class)": 1}
    export = load_coco(labelme2coco(tmp_path, classes), data)
    crowd = load_coco(labelme2coco(tmp_path, classes, crowd_ignore=True), data)
    assert export.class_names == ds.class_names  # no phantom _background_ class
    assert export.skipped == {}
    for image_id in ds.image_ids:
        masks, ids = ds.load_mask(image_id)
        # every image gives the instances of labelme's own COCO export...
        keep = ids > 0
        want_masks, want_ids = export.load_mask(image_id)
        assert ids[keep].tolist() == want_ids.tolist()
        assert np.array_equal(masks[..., keep], want_masks)
        # ...and its ignore regions are crowd regions of every class, as COCO's iscrowd
        crowd_masks, crowd_ids = crowd.load_mask(image_id)
        assert sorted(ids.tolist()) == sorted(crowd_ids.tolist())
        for sign in (-1, 1):
            for c in (1, 2):
                assert np.array_equal(masks[..., ids == sign * c],
                                      crowd_masks[..., crowd_ids == sign * c])
    assert ds.load_mask(2)[1].tolist() == [1, -1, -2, -1, -2]


def test_background_category_is_not_a_class_and_its_annotations_are_counted(tmp_path):
    from maskrcnn.data import load_coco

    Image.new("RGB", (64, 48)).save(tmp_path / "a.png")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "iscrowd": 0,
                         "segmentation": [[0, 0, 63, 0, 63, 47, 0, 47]]},
                        {"id": 2, "image_id": 1, "category_id": 3, "iscrowd": 0,
                         "segmentation": [[5, 5, 20, 5, 20, 20]]}],
        "categories": [{"id": 0, "name": "_background_"}, {"id": 3, "name": "cat"}]}))
    ds = load_coco(path, tmp_path)
    assert ds.class_names == ["BG", "cat"]
    assert ds.load_mask(0)[1].tolist() == [1]
    assert ds.skipped == {"annotations of _background_ (background, not a class)": 1}


def test_a_class_name_typo_is_refused_naming_the_classes(tmp_path, capsys):
    from maskrcnn.cli import main

    for name, shapes in EXAMPLE.items():
        labelme_file(tmp_path, name, shapes)
    with pytest.raises(DatasetError, match=r"'persn' \(did you mean 'person'\?\).*"
                                           r"\['bottle', 'person'\]"):
        load_labelme(tmp_path, class_names=["persn"])
    with pytest.raises(DatasetError, match="'dog'.*found are"):  # nothing asked for is there
        load_labelme(tmp_path, class_names=["dog"])
    # a class merely absent (a split without it) stays a class, for the model's class order
    assert load_labelme(tmp_path, class_names=["person", "dog"]).class_names == [
        "BG", "person", "dog"]
    assert main(["convert", str(tmp_path), "--format", "labelme", "--classes", "persn",
                 "--output", str(tmp_path / "out.json")]) == 2
    assert "did you mean 'person'" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


# ------------------------------------------------------------------ a seeded, bounded fuzz
FUZZ_POINTS = st.lists(st.lists(COORDINATES, min_size=0, max_size=3), max_size=6) | VALUES
FUZZ_SHAPES = st.lists(st.builds(
    lambda label, points, kind, group, extra: {"label": label, "points": points,
                                               "shape_type": kind, "group_id": group,
                                               "flags": extra},
    st.sampled_from(["a", "b", "__ignore__", "_background_", ""]) | NASTY_NAMES | VALUES,
    FUZZ_POINTS,
    st.sampled_from(["polygon", "rectangle", "circle", "point", "line", "linestrip", "mask",
                     "ellipse", None, 7]),
    st.none() | st.integers(-2, 3) | VALUES, VALUES), max_size=4) | VALUES


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=FUZZ_SHAPES, width=st.integers(-2, 80) | VALUES, image_path=NASTY_NAMES | VALUES)
def test_fuzz_only_dataset_errors(tmp_path, shapes, width, image_path):
    """Only DatasetError escapes the LabelMe reader, and what it accepts is sane (finite
    geometry, masks inside the image), whatever the shapes, sizes and names hold."""
    Image.new("RGB", (64, 48)).save(tmp_path / "a.png")
    data = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": "a.png",
            "imageData": None, "imageWidth": width, "imageHeight": 48}
    (tmp_path / "a.json").write_text(json.dumps(data))
    other = dict(data, imagePath=image_path, imageWidth=64)
    (tmp_path / "b.json").write_text(json.dumps(other))
    read_and_check(lambda strict: load_labelme(tmp_path, strict=strict))
