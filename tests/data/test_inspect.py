"""The check report: counts, sizes, problems with file and item, and the inspect command."""
import argparse
import json
import os

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
    assert sides.max() <= 16 * smallest  # doubling steps reach the largest shape
    assert suggest_settings(report) == {
        "IMAGE_MIN_DIM": 128, "IMAGE_MAX_DIM": 192,
        "RPN_ANCHOR_SCALES": [min(smallest, 32) * 2 ** i for i in range(5)],
        "MAX_GT_INSTANCES": most, "DETECTION_MAX_INSTANCES": 100}
    # Large photos are capped at 1024 and their object sides scaled with them.
    report.image_sizes, report.box_sides = [(3000, 4000)] * 3, [40.0, 80.0, 800.0]
    report.instances_per_image = {"a": 150}
    # sides 10.2, 20.5, 204.8 px once resized: the smallest anchor 8 px, steps of
    # (204.8 / 8) ** (1 / 4) = 2.25 so that the fifth anchor is the largest object's side
    assert suggest_settings(report) == {
        "IMAGE_MIN_DIM": 768, "IMAGE_MAX_DIM": 1024, "RPN_ANCHOR_SCALES": [8, 18, 40, 91, 205],
        "MAX_GT_INSTANCES": 150, "DETECTION_MAX_INSTANCES": 190}
    assert "suggested config: IMAGE_MIN_DIM=768" in report.summary()
    # steps at most 3x: objects of 4 to 1000 px get anchors of 4 to 324 px
    report.image_sizes, report.box_sides = [(1024, 1024)] * 3, [4.0] * 9 + [1000.0]
    assert suggest_settings(report)["RPN_ANCHOR_SCALES"] == [4, 12, 36, 108, 324]


def smooth_picture(seed, size=(64, 48)):
    """A smooth random RGB picture: colours from a 6 x 6 grid, interpolated."""
    rng = np.random.default_rng(seed)
    grid = Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8))
    return np.asarray(grid.resize(size, Image.Resampling.BILINEAR))


def square(x1, y1, x2, y2):
    return {"shape_attributes": {"name": "polygon", "all_points_x": [x1, x2, x2, x1],
                                 "all_points_y": [y1, y1, y2, y2]}, "region_attributes": {}}


def via_folder(root, files, regions=None):
    """A VIA split folder: ``files`` maps a file name to a picture (array) or to bytes."""
    root.mkdir(parents=True, exist_ok=True)
    via = {}
    for name, content in files.items():
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        else:
            Image.fromarray(content).save(root / name, quality=85)
        via[name] = {"filename": name, "size": 1,
                     "regions": (regions or {}).get(name, [square(2, 2, 12, 12)])}
    (root / "via_region_data.json").write_text(json.dumps(via))
    return root


def duplicates_fixture(tmp_path):
    """train: a, b, c; val: a byte for byte (renamed), b brightened and re-encoded, d."""
    pictures = {name: smooth_picture(seed) for name, seed in zip("abcd", range(4))}
    via_folder(tmp_path / "train", {f"{n}.png": pictures[n] for n in "abc"})
    brighter = np.clip(pictures["b"].astype(int) + 12, 0, 255).astype(np.uint8)
    via_folder(tmp_path / "val", {"a_copy.png": (tmp_path / "train" / "a.png").read_bytes(),
                                  "b_bright.jpg": brighter, "d.png": pictures["d"]})
    return pictures, brighter


def test_every_split_is_inspected_and_named(tmp_path):
    duplicates_fixture(tmp_path)
    report = inspect_path(tmp_path, "via")
    assert list(report.splits) == ["train", "val"]
    assert [r.num_images for r in report.splits.values()] == [3, 3]
    assert report.splits["val"].source == str(tmp_path / "val" / "via_region_data.json")
    text = report.summary()
    assert text.index("split train: ") < text.index("split val: ") < text.index("between")
    assert "3 images, 1 class, 3 instances" in text and "1 classes" not in text
    one = inspect_path(tmp_path, "via", split="val")  # one split asked for: its report
    assert one.split == "val" and one.summary().startswith("split val: ")


def test_repeated_images_across_splits_name_both_files(tmp_path):
    pictures, brighter = duplicates_fixture(tmp_path)
    report = inspect_path(tmp_path, "via")
    assert not any(r.problems for r in report.splits.values())  # nothing within a split
    found = {(os.path.basename(p.file), p.message.split(" (")[0]) for p in report.problems}
    assert found == {("a_copy.png", "byte-identical to train image 'a.png'"),
                     ("b_bright.jpg", "near-identical")}
    for problem in report.problems:
        assert problem.severity == "warning" and str(tmp_path / "train") in problem.message
    # Independently: the byte copy has the same bytes, the near copy stays close to b in
    # pixels (after removing the brightness shift) and the other pairs do not.
    train, val = tmp_path / "train", tmp_path / "val"
    assert (val / "a_copy.png").read_bytes() == (train / "a.png").read_bytes()
    grey = {k: v.mean(axis=2) for k, v in pictures.items()}
    near = np.asarray(Image.open(val / "b_bright.jpg").convert("RGB")).mean(axis=2)

    def apart(x, y):
        return np.abs((x - x.mean()) - (y - y.mean())).mean()
    assert apart(near, grey["b"]) < 3
    assert min(apart(grey[x], grey[y]) for x in "abcd" for y in "abcd" if x < y) > 15
    assert "in all: 0 errors, 2 warnings" in report.summary()


def test_repeated_image_within_a_split(tmp_path):
    picture = smooth_picture(7)
    via_folder(tmp_path / "train", {"x.png": picture, "y.png": smooth_picture(8)})
    (tmp_path / "train" / "x_again.png").write_bytes((tmp_path / "train" / "x.png").read_bytes())
    data = json.loads((tmp_path / "train" / "via_region_data.json").read_text())
    data["x_again.png"] = {**data["x.png"], "filename": "x_again.png"}
    (tmp_path / "train" / "via_region_data.json").write_text(json.dumps(data))
    report = inspect_path(tmp_path / "train" / "via_region_data.json", "via")
    assert [(os.path.basename(p.file), p.item) for p in report.warnings] == [
        ("x_again.png", "image 'x_again.png'")]
    assert "byte-identical to image 'x.png'" in report.warnings[0].message


def test_near_duplicate_instances_are_flagged_by_mask_iou(tmp_path):
    from pycocotools import mask as mask_utils

    regions = [square(4, 4, 44, 44), square(8, 4, 48, 44),      # shifted by 4: IoU ~0.82
               square(30, 30, 60, 46), square(50, 2, 62, 12)]   # overlapping boxes, low IoU
    via_folder(tmp_path, {"p.png": smooth_picture(1, (64, 48))}, {"p.png": regions})
    report = inspect_path(tmp_path / "via_region_data.json", "via")
    flagged = [(p.item, p.message) for p in report.warnings]
    # Independently: each pair's IoU from pycocotools' rasterised polygons.
    masks = [mask_utils.decode(mask_utils.frPyObjects(
        [[v for xy in zip(r["shape_attributes"]["all_points_x"],
                          r["shape_attributes"]["all_points_y"]) for v in xy]], 48, 64))[..., 0]
        for r in regions]
    ious = {(i, j): (masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum()
            for i in range(4) for j in range(i + 1, 4)}
    expected = [(i, j) for (i, j), iou in ious.items() if iou > 0.75]
    assert expected == [(0, 1)] and 0.78 < ious[0, 1] < 0.86 and ious[1, 2] > 0
    assert [item for item, _ in flagged] == ["image 'p.png', instances 0 and 1"]
    assert f"IoU {ious[0, 1]:.2f}" in flagged[0][1]
    assert not inspect_path(tmp_path / "via_region_data.json", "via",
                            instance_iou=0.9).warnings


def test_inspect_command_renames_classes_and_reads_a_split_folder(tmp_path, capsys):
    duplicates_fixture(tmp_path)
    assert run(tmp_path, [str(tmp_path), "--format", "via", "--class-names", "balloon",
                          "--report", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "split train: " in out and "split val: " in out and "balloon" in out
    assert "object" not in out.replace("object sizes", "") and "1 class," in out
    saved = json.loads((tmp_path / "r.json").read_text())
    assert list(saved["splits"]) == ["train", "val"] and len(saved["problems"]) == 2
    assert saved["splits"]["val"]["class_counts"] == {"balloon": 3}
    assert run(tmp_path, [str(tmp_path / "val"), "--format", "via"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"via dataset in {tmp_path / 'val'}: 1 split, val (3 images)")
    assert run(tmp_path, [str(tmp_path), "--format", "via", "--class-names", "a,b"]) == 2
    assert "class names ['a', 'b'] given for the classes ['object']" in capsys.readouterr().err
