"""Conversion to COCO JSON: round trips through the COCO reader, polygons kept, pycocotools."""
import argparse
import json

import numpy as np
from PIL import Image
from pycocotools.coco import COCO

from maskrcnn.cli.data import add_convert_parser
from maskrcnn.data import ShapesDataset
from maskrcnn.data.convert import dataset_to_coco, write_coco_json
from maskrcnn.data.readers.bdd import load_bdd
from maskrcnn.data.readers.coco import load_coco
from maskrcnn.data.readers.via import load_via


def via_fixture(tmp_path):
    Image.new("RGB", (96, 64), (9, 9, 9)).save(tmp_path / "a.jpg")
    Image.new("RGB", (48, 40), (9, 9, 9)).save(tmp_path / "b.png")
    regions = [
        {"shape_attributes": {"name": "polygon", "all_points_x": [5, 40, 30, 8],
                              "all_points_y": [4, 6, 30, 25]}, "region_attributes": {"c": "leaf"}},
        {"shape_attributes": {"name": "ellipse", "cx": 60, "cy": 40, "rx": 15, "ry": 8,
                              "theta": 0.4}, "region_attributes": {"c": "bug"}},
        {"shape_attributes": {"name": "rect", "x": 70, "y": 2, "width": 50, "height": 10},
         "region_attributes": {"c": "leaf"}}]
    data = {"a.jpg1": {"filename": "a.jpg", "size": 1, "regions": regions},
            "b.png1": {"filename": "b.png", "size": 1, "regions": [
                {"shape_attributes": {"name": "circle", "cx": 20, "cy": 20, "r": 6},
                 "region_attributes": {"c": "bug"}}]}}
    (tmp_path / "via.json").write_text(json.dumps(data))
    return load_via(tmp_path / "via.json", class_attribute="c")


def assert_same_masks(a, b):
    assert a.class_names == b.class_names and len(a.image_info) == len(b.image_info)
    for i in a.image_ids:
        _, masks_a, ids_a = a.load_image_and_masks(i)
        _, masks_b, ids_b = b.load_image_and_masks(i)
        np.testing.assert_array_equal(ids_a, ids_b)
        np.testing.assert_array_equal(masks_a, masks_b)


def test_via_to_coco_round_trip_keeps_polygons(tmp_path):
    via = via_fixture(tmp_path)
    coco = write_coco_json(via, tmp_path / "out" / "coco.json")
    kinds = [type(a["segmentation"]).__name__ for a in coco["annotations"]]
    assert kinds == ["list", "dict", "list", "dict"]  # polygon, ellipse, rect, circle
    assert coco["annotations"][0]["segmentation"] == [[5.0, 4.0, 40.0, 6.0, 30.0, 30.0, 8.0, 25.0]]
    assert [c["name"] for c in coco["categories"]] == ["bug", "leaf"]
    assert coco["images"][0] == {"id": 1, "file_name": "a.jpg", "height": 64, "width": 96,
                                 "source_id": "a.jpg"}
    back = load_coco(tmp_path / "out" / "coco.json", tmp_path)
    assert_same_masks(via, back)


def test_pycocotools_reads_the_output(tmp_path):
    write_coco_json(via_fixture(tmp_path), tmp_path / "coco.json")
    coco = COCO(str(tmp_path / "coco.json"))
    mask = coco.annToMask(coco.anns[2])
    assert mask.shape == (64, 96) and mask.sum() == coco.anns[2]["area"]


def test_bdd_round_trip_with_crowd(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (64, 48)).save(tmp_path / "images" / "f.jpg")
    frames = [{"name": "f.jpg", "labels": [
        {"category": "car", "poly2d": [{"vertices": [[2, 40], [2, 2], [40, 2], [40, 40]],
                                        "types": "LCCL", "closed": True}]},
        {"category": "bus", "attributes": {"crowd": True},
         "poly2d": [{"vertices": [[45, 5], [60, 5], [60, 30]], "types": "LLL", "closed": True}]}]}]
    (tmp_path / "bdd.json").write_text(json.dumps(frames))
    bdd = load_bdd(tmp_path / "bdd.json", tmp_path / "images")
    coco = write_coco_json(bdd, tmp_path / "coco.json")
    assert [a["iscrowd"] for a in coco["annotations"]] == [0, 1]
    assert isinstance(coco["annotations"][1]["segmentation"], dict)  # crowd as RLE
    assert_same_masks(bdd, load_coco(tmp_path / "coco.json", tmp_path / "images"))


def test_plain_dataset_without_files(tmp_path):
    shapes = ShapesDataset(count=2, height=32, width=32, seed=1)
    coco = dataset_to_coco(shapes)
    assert len(coco["images"]) == 2 and coco["images"][0]["file_name"].endswith(".png")
    assert all(isinstance(a["segmentation"], dict) for a in coco["annotations"])


def test_convert_command(tmp_path, capsys):
    via_fixture(tmp_path)
    parser = argparse.ArgumentParser()
    add_convert_parser(parser.add_subparsers())
    out = tmp_path / "o.json"
    args = parser.parse_args(["convert", str(tmp_path / "via.json"), "--format", "via",
                              "--class-attribute", "c", "--output", str(out)])
    assert args.func(args) == 0
    assert "2 images, 4 annotations, 2 categories" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["annotations"]) == 4
    (tmp_path / "via.json").write_text("{")
    assert args.func(args) == 2
    assert "line 1, column 2" in capsys.readouterr().err
