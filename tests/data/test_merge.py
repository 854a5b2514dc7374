"""merge_annotations: corrections win per image; added, removed, redrawn, relabelled, kept."""
import json

from PIL import Image

from maskrcnn.cli import main
from maskrcnn.data import load_coco, load_via, merge_annotations


def box(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def coco_file(path, images, boxes):
    """``boxes``: {file name: [(class name, polygon), ...]}."""
    names = sorted({c for items in boxes.values() for c, _ in items} | {"cat", "dog"})
    cats = {n: i for i, n in enumerate(names, start=1)}
    records, annotations = [], []
    for k, (name, items) in enumerate(sorted(boxes.items()), start=1):
        if not (images / name).exists():
            Image.new("RGB", (100, 80)).save(images / name)
        records.append({"id": k, "file_name": name, "width": 100, "height": 80})
        for cls, polygon in items:
            annotations.append({"id": len(annotations) + 1, "image_id": k,
                                "category_id": cats[cls], "segmentation": polygon,
                                "iscrowd": 0})
    path.write_text(json.dumps({"images": records, "annotations": annotations,
                                "categories": [{"id": i, "name": n} for n, i in cats.items()]}))
    return load_coco(path, images)


def datasets(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    original = coco_file(tmp_path / "original.json", images, {
        "a.png": [("cat", box(0, 0, 40, 40)), ("dog", box(50, 0, 40, 40)),
                  ("cat", box(0, 50, 20, 20)), ("dog", box(60, 50, 30, 30))],
        "b.png": [("cat", box(10, 10, 30, 30))],
        "c.png": [("dog", box(10, 10, 30, 30))]})
    corrected = coco_file(tmp_path / "corrected.json", images, {
        "a.png": [("cat", box(0, 0, 40, 40)),  # kept
                  ("dog", box(50, 0, 40, 32)),  # redrawn (IoU 0.8)
                  ("cat", box(60, 50, 30, 30)),  # relabelled dog -> cat
                  ("bird", box(30, 45, 10, 10))],  # added; the small cat is removed
        "b.png": [("cat", box(10, 10, 30, 30))],
        "d.png": [("dog", box(0, 0, 10, 10))]})
    return original, corrected


def test_counts_per_image(tmp_path):
    original, corrected = datasets(tmp_path)
    merged, report = merge_annotations(original, corrected)
    assert report.images["a.png"] == {"added": 1, "removed": 1, "redrawn": 1, "relabelled": 1,
                                      "kept": 1}
    assert report.images["b.png"] == {"added": 0, "removed": 0, "redrawn": 0, "relabelled": 0,
                                      "kept": 1}
    assert (report.only_original, report.only_corrected) == (1, 1)
    assert report.totals["added"] == 1 and "a.png: 1 added" in str(report)
    assert merged.class_names == ["BG", "cat", "dog", "bird"]
    assert [info["id"] for info in merged.image_info] == ["a.png", "b.png", "c.png", "d.png"]
    masks, class_ids = merged.load_mask(0)  # the corrected instances
    assert [merged.class_names[c] for c in class_ids] == ["cat", "dog", "cat", "bird"]
    assert masks[..., 1].sum() == 40 * 32
    assert [merged.class_names[c] for c in merged.load_mask(2)[1]] == ["dog"]  # c: original
    assert merged.load_image(3).shape == (80, 100, 3)


def test_merge_on_the_command_line(tmp_path, capsys):
    datasets(tmp_path)
    out = tmp_path / "merged.json"
    assert main(["merge", str(tmp_path / "original.json"), str(tmp_path / "corrected.json"),
                 "--format", "coco", "--images", str(tmp_path / "images"), "--corrected-images",
                 str(tmp_path / "images"), "--output", str(out), "--to", "via",
                 "--report", str(tmp_path / "report.json")]) == 0
    text = capsys.readouterr().out
    assert "2 images corrected: 1 added, 1 removed, 1 redrawn, 1 relabelled, 2 kept" in text
    assert json.loads((tmp_path / "report.json").read_text())["totals"]["kept"] == 2
    merged = load_via(out, tmp_path / "images", class_attribute="class")
    assert merged.num_images == 4 and merged.load_mask(0)[0].shape[-1] == 4


def with_crowd(tmp_path, categories=("balloon",)):
    """An original COCO file: a.png with an instance and a crowd region, b.png with one
    instance; its VIA corrections as detect --annotations via writes them (no crowd flag)."""
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (100, 80)).save(images / name)
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": box(0, 0, 40, 40)},
        {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 1,
         "segmentation": box(60, 40, 30, 30)},
        {"id": 3, "image_id": 2, "category_id": 1, "iscrowd": 0, "segmentation": box(5, 5, 9, 9)}]
    (tmp_path / "original.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80},
                   {"id": 2, "file_name": "b.png", "width": 100, "height": 80}],
        "annotations": annotations,
        "categories": [{"id": i, "name": n} for i, n in enumerate(categories, start=1)]}))
    original = load_coco(tmp_path / "original.json", images)
    region = {"shape_attributes": {"name": "polygon", "all_points_x": [0, 40, 40, 0],
                                   "all_points_y": [0, 0, 30, 30]},
              "region_attributes": {"class": "balloon", "score": "0.9"}}
    (tmp_path / "corrected.json").write_text(json.dumps({"a.png-1": {
        "filename": "a.png", "size": -1, "regions": [region], "file_attributes": {}}}))
    return original, images


def test_crowd_regions_the_correction_cannot_carry_are_kept(tmp_path):
    original, images = with_crowd(tmp_path)
    corrected = load_via(tmp_path / "corrected.json", images, class_attribute="class")
    merged, report = merge_annotations(original, corrected)
    masks, class_ids = merged.load_mask(0)
    assert class_ids.tolist() == [1, -1]  # the redrawn balloon and the original crowd region
    want, want_ids = original.load_mask(0)
    assert (masks[..., 1] == want[..., list(want_ids).index(-1)]).all()
    assert report.images["a.png"]["removed"] == 0 and report.images["a.png"]["redrawn"] == 1
    assert report.crowd_kept == 1 and "1 crowd regions of the originals kept" in str(report)


def test_via_corrections_without_class_attribute_take_the_one_class(tmp_path, capsys):
    with_crowd(tmp_path)
    args = ["merge", str(tmp_path / "original.json"), str(tmp_path / "corrected.json"),
            "--format", "coco", "--corrected-format", "via", "--images",
            str(tmp_path / "images"), "--corrected-images", str(tmp_path / "images"),
            "--output", str(tmp_path / "merged.json")]
    assert main(args) == 0
    merged = load_coco(tmp_path / "merged.json", tmp_path / "images")
    assert merged.class_names == ["BG", "balloon"]  # no new class 'object'
    assert merged.load_mask(0)[1].tolist() == [1, -1]


def test_via_corrections_without_class_attribute_of_several_classes_refused(tmp_path, capsys):
    with_crowd(tmp_path, categories=("balloon", "kite"))
    assert main(["merge", str(tmp_path / "original.json"), str(tmp_path / "corrected.json"),
                 "--format", "coco", "--corrected-format", "via", "--images",
                 str(tmp_path / "images"), "--corrected-images", str(tmp_path / "images"),
                 "--output", str(tmp_path / "merged.json")]) == 2
    err = capsys.readouterr().err
    assert "['balloon', 'kite']" in err and "--class-attribute" in err
    assert not (tmp_path / "merged.json").exists()


def test_a_correction_named_like_several_originals_is_refused(tmp_path):
    import pytest

    from maskrcnn.errors import DatasetError

    images = tmp_path / "images"
    for folder in ("s1", "s2"):
        (images / folder).mkdir(parents=True)
    original = coco_file(tmp_path / "o.json", images, {"s1/x.png": [("cat", box(0, 0, 9, 9))],
                                                        "s2/x.png": [("cat", box(0, 0, 9, 9))]})
    corrected = coco_file(tmp_path / "c.json", images / "s1", {"x.png": []})
    with pytest.raises(DatasetError, match=r"'x.png' could be any of the originals "
                                           r"\['s1/x.png', 's2/x.png'\]"):
        merge_annotations(original, corrected)
