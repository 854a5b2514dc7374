"""Writers: predictions and datasets as COCO, VIA, LabelMe and YOLO, read back the same."""
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from skimage.draw import disk

from maskrcnn.cli import main
from maskrcnn.data import (
    load_coco,
    load_labelme,
    load_via,
    load_yolo,
    write_dataset,
    write_predictions,
)
from maskrcnn.errors import DatasetError

CLASSES = ["BG", "ring", "boxes"]


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def prediction_masks(height=120, width=160):
    masks = np.zeros((height, width, 2), dtype=bool)
    ring = masks[..., 0]
    ring[disk((60, 50), 40, shape=(height, width))] = True
    ring[disk((60, 50), 12, shape=(height, width))] = False  # a hole
    masks[10:40, 110:150, 1] = True  # two parts
    masks[60:90, 110:150, 1] = True
    masks[100:102, 150:152, 1] = True  # a fragment, dropped
    return masks


@pytest.fixture
def predictions(tmp_path):
    images = tmp_path / "new"
    images.mkdir()
    records = []
    for k, name in enumerate(["p1.png", "p2.jpg"]):
        Image.new("RGB", (160, 120), (k * 50, 90, 10)).save(images / name)
        masks = prediction_masks()
        records.append({"file_name": name, "height": 120, "width": 160, "result": {
            "rois": np.array([[20, 10, 100, 90], [10, 110, 90, 150]]),
            "class_ids": np.array([1, 2]), "scores": np.array([0.97, 0.61]), "masks": masks}})
    return images, records


def read_back(fmt, report, out, images):
    if fmt == "coco":
        return load_coco(report.files[0], images)
    if fmt == "via":
        return load_via(report.files[0], images, class_attribute="class")
    if fmt == "labelme":
        return load_labelme(out, images)
    return load_yolo(out)


def check_same(ds, masks, names):
    for image_id in ds.image_ids:
        got, class_ids = ds.load_mask(image_id)
        assert [ds.class_names[c] for c in class_ids] == names
        for i in range(masks.shape[-1]):
            assert iou(got[..., i], masks[..., i]) >= 0.95


@pytest.mark.parametrize("fmt", ["coco", "via", "labelme", "yolo"])
def test_predictions_round_trip(tmp_path, predictions, fmt):
    images, records = predictions
    out = tmp_path / fmt
    report = write_predictions(records, fmt, out, CLASSES, image_dir=images)
    assert (report.images, report.instances, report.fragments_dropped) == (2, 4, 2)
    assert "2 mask fragments dropped" in str(report)
    check_same(read_back(fmt, report, out, images), prediction_masks(), ["ring", "boxes"])


def test_coco_file_loads_in_pycocotools_with_scores(tmp_path, predictions):
    images, records = predictions
    report = write_predictions(records, "coco", tmp_path / "out.json", CLASSES)
    coco = COCO(report.files[0])
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["ring", "boxes"]
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [a["score"] for a in annotations] == [0.97, 0.61]
    assert len(annotations[1]["segmentation"]) == 2  # two parts
    mask = coco.annToMask(annotations[0]).astype(bool)
    assert iou(mask, prediction_masks()[..., 0]) >= 0.95 and not mask[60, 50]


def test_via_project_keys(tmp_path, predictions):
    images, records = predictions
    report = write_predictions(records, "via", tmp_path, CLASSES, image_dir=images)
    project = json.loads((tmp_path / "via_project.json").read_text())
    assert set(project) == {"_via_settings", "_via_img_metadata", "_via_attributes",
                            "_via_data_format_version", "_via_image_id_list"}
    assert set(project["_via_settings"]) == {"ui", "core", "project"}
    assert project["_via_settings"]["core"]["default_filepath"] == str(images) + "/"
    assert project["_via_attributes"]["region"]["class"]["options"] == {"ring": "", "boxes": ""}
    assert project["_via_attributes"]["region"]["score"]["type"] == "text"
    size = (images / "p1.png").stat().st_size
    entry = project["_via_img_metadata"][f"p1.png{size}"]
    assert project["_via_image_id_list"][0] == f"p1.png{size}" and entry["size"] == size
    region = entry["regions"][0]
    assert region["region_attributes"] == {"class": "ring", "score": "0.970"}
    assert set(region["shape_attributes"]) == {"name", "all_points_x", "all_points_y"}
    assert report.files == [str(tmp_path / "via_project.json")]


def test_labelme_keys_and_groups(tmp_path, predictions):
    images, records = predictions
    write_predictions(records, "labelme", tmp_path / "lm", CLASSES, image_dir=images)
    data = json.loads((tmp_path / "lm" / "p1.json").read_text())
    assert {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight",
            "imageWidth"} <= set(data)
    assert data["imagePath"] == "../new/p1.png" and data["imageHeight"] == 120
    groups = [s["group_id"] for s in data["shapes"]]
    assert groups == [None, 1, 1] and data["shapes"][0]["score"] == 0.97


def test_yolo_files(tmp_path, predictions):
    import yaml

    images, records = predictions
    write_predictions(records, "yolo", tmp_path / "y", CLASSES, image_dir=images)
    assert yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())["names"] == {
        0: "ring", 1: "boxes"}
    lines = (tmp_path / "y" / "labels" / "p1.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "1"]
    values = [float(v) for line in lines for v in line.split()[1:]]
    assert 0 <= min(values) and max(values) <= 1
    assert (tmp_path / "y" / "images" / "p2.jpg").is_file()


def test_bad_predictions_are_named(tmp_path, predictions):
    _, records = predictions
    with pytest.raises(DatasetError, match=r"record 0 \(p1.png\): instance 1: class id 2"):
        write_predictions(records, "via", tmp_path, ["BG", "ring"])
    records[0]["height"] = 100
    with pytest.raises(DatasetError, match="image is 160x100 but the masks are 160x120"):
        write_predictions(records, "coco", tmp_path, CLASSES)
    with pytest.raises(DatasetError, match="unknown output format 'png'"):
        write_predictions(records, "png", tmp_path, CLASSES)


def coco_source(tmp_path):
    """A COCO dataset: a polygon, a two-part polygon, an RLE with a hole, a crowd region."""
    from maskrcnn.data.convert import encode_rle

    images = tmp_path / "src"
    images.mkdir()
    Image.new("RGB", (160, 120)).save(images / "a.png")
    ring = prediction_masks()[..., 0]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 7, "iscrowd": 0,
         "segmentation": [[10, 10, 40, 10, 40, 30, 10, 30]]},
        {"id": 2, "image_id": 1, "category_id": 9, "iscrowd": 0,
         "segmentation": [[110, 10, 150, 10, 150, 40], [110, 60, 150, 60, 150, 90]]},
        {"id": 3, "image_id": 1, "category_id": 9, "iscrowd": 0,
         "segmentation": encode_rle(ring)},
        {"id": 4, "image_id": 1, "category_id": 7, "iscrowd": 1,
         "segmentation": [[0, 100, 20, 100, 20, 120, 0, 120]]}]
    path = tmp_path / "src.json"
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 160, "height": 120}],
        "annotations": annotations,
        "categories": [{"id": 7, "name": "box"}, {"id": 9, "name": "thing"}]}))
    return load_coco(path, images), images


@pytest.mark.parametrize("fmt", ["coco", "via", "labelme", "yolo"])
def test_dataset_round_trip(tmp_path, fmt):
    source, images = coco_source(tmp_path)
    masks, class_ids = source.load_mask(0)
    out = tmp_path / fmt
    report = write_dataset(source, fmt, out)
    back = read_back(fmt, report, out, images)
    got, got_ids = back.load_mask(0)
    keep = list(range(4)) if fmt == "coco" else [0, 1, 2]  # the crowd region is left out
    names = [source.class_names[abs(c)] for c in class_ids[keep]]
    if fmt == "labelme":  # ... or an __ignore__ shape: a crowd region of every class
        keep, names = [0, 1, 2, 3, 3], names + ["box", "thing"]
        assert got_ids.tolist()[3:] == [-1, -2]
    assert [back.class_names[abs(c)] for c in got_ids] == names
    for j, i in enumerate(keep):
        assert iou(got[..., j], masks[..., i]) >= 0.95
    if fmt == "labelme":
        assert report.skipped == {"crowd regions of some classes only, written as __ignore__ "
                                  "(LabelMe ignores a region for every class)": 1}
    elif fmt != "coco":
        assert report.skipped == {f"crowd regions left out ({fmt} has no crowd flag)": 1}


def test_convert_to_on_the_command_line(tmp_path, capsys):
    source, images = coco_source(tmp_path)
    assert main(["convert", str(tmp_path / "src.json"), "--format", "coco", "--images",
                 str(images), "--to", "labelme", "--output", str(tmp_path / "lm")]) == 0
    assert "1 images, 4 instances written as labelme" in capsys.readouterr().out
    assert load_labelme(tmp_path / "lm", images).num_images == 1
    assert main(["convert", str(tmp_path / "lm"), "--format", "labelme", "--images",
                 str(images), "--to", "yolo", "--output", str(tmp_path / "y")]) == 0
    assert load_yolo(tmp_path / "y").load_mask(0)[1].size == 3  # the ignore regions left out
