"""The check report: counts, sizes, problems with file and item, and the inspect command."""
import argparse
import json

import numpy as np
from PIL import Image

from maskrcnn.cli.data import add_inspect_parser
from maskrcnn.data import Dataset
from maskrcnn.data.inspect import InspectReport, inspect_dataset, inspect_path
from maskrcnn.data.transforms import extract_bboxes


def coco_fixture(tmp_path, broken=True):
    """Three images: one fine, one missing file, one corrupt; plus bad annotations."""
    Image.new("RGB", (128, 128)).save(tmp_path / "ok.png")
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8 not really")
    images = [{"id": 1, "file_name": "ok.png", "width": 128, "height": 128}]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]},
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 50, 0, 50, 50, 0, 50]]},
        {"id": 3, "image_id": 1, "category_id": 2,
         "segmentation": [[-10, 0, 200, 0, 200, 128, -10, 128]]},
        {"id": 4, "image_id": 1, "category_id": 2, "iscrowd": 1,
         "segmentation": [[60, 60, 70, 60, 70, 70]]},
        {"id": 5, "image_id": 1, "category_id": 2,
         "segmentation": [[300, 300, 310, 300, 310, 310]]}]  # entirely outside: zero area
    if broken:
        images += [{"id": 2, "file_name": "missing.png", "width": 32, "height": 32},
                   {"id": 3, "file_name": "corrupt.jpg", "width": 32, "height": 32},
                   {"id": 4, "file_name": "ok.png", "width": 128, "height": 128}]
        annotations += [
            {"id": 6, "image_id": 1, "category_id": 9, "segmentation": [[0, 0, 5, 0, 5, 5]]},
            {"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 5, 0]]}]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [
        {"id": 1, "name": "small thing"}, {"id": 2, "name": "big thing"}]}))
    return path


def test_report_counts_and_sizes(tmp_path):
    report = inspect_path(coco_fixture(tmp_path, broken=False), "coco")
    assert report.num_images == 1 and report.num_classes == 2
    assert report.class_counts == {"small thing": 2, "big thing": 1}
    assert report.crowd_counts == {"big thing": 1}
    assert report.instances_per_image == {1: 4}
    assert report.size_counts == {"small": 2, "medium": 1, "large": 1}
    assert not report.has_errors
    messages = sorted(p.message for p in report.warnings)
    assert "mask has zero area" in messages[-1] and "outside the 128x128" in messages[0]
    assert "4 instances" in report.summary()


def test_report_lists_every_problem_with_file_and_item(tmp_path):
    path = coco_fixture(tmp_path)
    report = inspect_path(path, "coco")
    errors = {(p.item, p.message.split(";")[0].split(":")[-1].strip()) for p in report.errors}
    items = " | ".join(f"{p.file} {p.item} {p.message}" for p in report.errors)
    assert "missing.png: image file not found" in items
    assert "corrupt.jpg: cannot read image" in items
    assert "file name also used by image 1" in items
    assert "unknown category id 9" in items and "annotation 5 (id 6)" in items
    assert "fewer than 3 points" in items and "annotation 6 (id 7)" in items
    assert len(errors) == 5 and report.has_errors
    assert all(str(path) in p.file or p.file.endswith((".png", ".jpg")) for p in report.errors)
    report.to_json(tmp_path / "r.json")
    saved = json.loads((tmp_path / "r.json").read_text())
    assert len(saved["problems"]) == len(report.problems)


def test_masks_not_matching_class_ids(tmp_path):
    class Bad(Dataset):
        def load_image(self, image_id):
            return np.zeros((16, 16, 3), dtype=np.uint8)

        def load_mask(self, image_id):
            masks = np.ones((16, 16, 2), dtype=bool)
            return masks, np.array([1, 1, 1]) if image_id == 0 else np.array([1, 0])

    ds = Bad()
    ds.add_class("t", 1, "thing")
    ds.add_image("t", "x", None)
    ds.add_image("t", "y", None)
    ds.prepare()
    report = inspect_dataset(ds)
    assert [p.item for p in report.errors] == ["image 'x'", "image 'y'"]
    assert "2 masks but 3 class ids" in report.errors[0].message
    assert "class id 0" in report.errors[1].message


def run(tmp_path, argv):
    parser = argparse.ArgumentParser()
    add_inspect_parser(parser.add_subparsers())
    args = parser.parse_args(["inspect", *argv])
    return args.func(args)


def test_inspect_command_exit_status(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    assert run(tmp_path, [str(coco_fixture(bad)), "--format", "coco",
                          "--report", str(tmp_path / "r.json")]) == 1
    out = capsys.readouterr().out
    assert "5 errors" in out and "missing.png" in out and (tmp_path / "r.json").exists()
    good = tmp_path / "good"
    good.mkdir()
    assert run(tmp_path, [str(coco_fixture(good, broken=False)), "--format", "coco"]) == 0
    assert run(tmp_path, [str(tmp_path / "nothing.json"), "--format", "coco"]) == 2
    assert "not found" in capsys.readouterr().err


def test_empty_report_summary():
    assert "0 images" in InspectReport().summary()


def test_sizes_and_suggested_settings():
    """Image and object sizes in pixels and the config that fits them (issue 20: small
    insects in 768 x 576 photos were trained at the defaults)."""
    from maskrcnn.data import ShapesDataset
    from maskrcnn.data.inspect import inspect_dataset, suggest_settings
    data = ShapesDataset(12, 96, 160, seed=4)
    report = inspect_dataset(data)
    assert report.image_sizes == [(96, 160)] * 12
    boxes = [extract_bboxes(data.load_mask(i)[0]) for i in data.image_ids]
    sides = np.concatenate([np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])) for b in boxes])
    np.testing.assert_allclose(sorted(report.box_sides), sorted(sides.round(1)))
    most = max(len(b) for b in boxes)
    smallest = 2 ** int(np.floor(np.log2(max(4, np.percentile(sides, 10)))))
    assert suggest_settings(report) == {
        "IMAGE_MIN_DIM": 128, "IMAGE_MAX_DIM": 192,
        "RPN_ANCHOR_SCALES": [min(smallest, 32) * 2 ** i for i in range(5)],
        "MAX_GT_INSTANCES": most, "DETECTION_MAX_INSTANCES": 100}
    # Large photos are capped at 1024 and their object sides scaled with them.
    report.image_sizes, report.box_sides = [(3000, 4000)] * 3, [40.0, 80.0, 800.0]
    report.instances_per_image = {"a": 150}
    assert suggest_settings(report) == {
        "IMAGE_MIN_DIM": 768, "IMAGE_MAX_DIM": 1024, "RPN_ANCHOR_SCALES": [8, 16, 32, 64, 128],
        "MAX_GT_INSTANCES": 150, "DETECTION_MAX_INSTANCES": 190}
    assert "suggested config: IMAGE_MIN_DIM=768" in report.summary()
