"""LabelMe reader: shapes, group_id, image paths, splits, and bad input named."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from maskrcnn.data import load_labelme, open_dataset
from maskrcnn.errors import DatasetError


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
