"""Folder layouts (COCO/D2S, VIA Colab zip), safe zip extraction, open_dataset dispatch."""
import json
import zipfile

import pytest
from PIL import Image

from maskrcnn.data.layout import EXTRACTED_MARKER as EXTRACTED
from maskrcnn.data.layout import find_layout, load_json, open_dataset, safe_extract_zip
from maskrcnn.errors import DatasetError


def coco_file(path, file_name="a.jpg"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": file_name, "width": 32, "height": 32}],
        "categories": [{"id": 1, "name": "box"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                         "segmentation": [[2, 2, 20, 2, 20, 20]]}]}))


def via_split(folder):
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32)).save(folder / "a.jpg")
    (folder / "via_region_data.json").write_text(json.dumps({"a.jpg1": {
        "filename": "a.jpg", "size": 1, "regions": [{"shape_attributes": {
            "name": "polygon", "all_points_x": [1, 9, 9], "all_points_y": [1, 1, 9]}}]}}))


def test_coco_layout_with_annotations_folder(tmp_path):
    for split in ("train", "val"):
        coco_file(tmp_path / "annotations" / f"instances_{split}.json")
        (tmp_path / split).mkdir()
        Image.new("RGB", (32, 32)).save(tmp_path / split / "a.jpg")
    layout = find_layout(tmp_path)
    assert layout.format == "coco" and sorted(layout.splits) == ["train", "val"]
    assert layout.splits["val"][1] == str(tmp_path / "val")
    ds = open_dataset(tmp_path, "coco", split="val")
    assert ds.image_info[0]["path"] == str(tmp_path / "val" / "a.jpg")
    assert ds.load_image_and_masks(0)[1].shape == (32, 32, 1)


def test_per_split_annotations_layout(tmp_path):
    for split in ("train", "test"):
        coco_file(tmp_path / split / "annotations" / "instances.json")
        (tmp_path / split / "images").mkdir()
    layout = find_layout(tmp_path)
    assert layout.splits["test"][1] == str(tmp_path / "test" / "images")


def test_d2s_names_and_images_folder(tmp_path):
    coco_file(tmp_path / "annotations" / "D2S_training.json")
    (tmp_path / "images").mkdir()
    assert find_layout(tmp_path).splits == {
        "train": (str(tmp_path / "annotations" / "D2S_training.json"), str(tmp_path / "images"))}


def test_via_colab_zip(tmp_path):
    src = tmp_path / "src"
    via_split(src / "balloon" / "train")
    via_split(src / "balloon" / "val")
    archive = tmp_path / "balloon_dataset.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in src.rglob("*"):
            if file.is_file():
                z.write(file, file.relative_to(src))
    layout = find_layout(archive)
    assert layout.format == "via" and sorted(layout.splits) == ["train", "val"]
    ds = open_dataset(archive, "via", split="val")
    assert ds.load_image_and_masks(0)[2].tolist() == [1]
    with pytest.raises(DatasetError, match="looks like a via dataset"):
        open_dataset(archive, "coco")


def test_unknown_folder_says_what_was_expected(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(DatasetError, match="via_region_data.json.*found"):
        find_layout(tmp_path)


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt"])
def test_zip_refuses_escaping_members(tmp_path, member):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ok.txt", "fine")
        z.writestr(member, "evil")
    with pytest.raises(DatasetError, match="refusing to extract"):
        safe_extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "ok.txt").exists()


def test_zip_refuses_symlinks_and_corrupt_files(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(info, "/etc/passwd")
    with pytest.raises(DatasetError, match="link"):
        safe_extract_zip(archive, tmp_path / "out")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DatasetError, match="not a readable zip"):
        safe_extract_zip(tmp_path / "broken.zip", tmp_path / "out")


def test_load_json_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_json(tmp_path / "none.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"a": [1, 2,\n\n   ]')
    with pytest.raises(DatasetError, match=r"c\.json: line 3, column 4"):
        load_json(tmp_path / "c.json")


def test_open_dataset_rejects_unknown_format(tmp_path):
    with pytest.raises(DatasetError, match="unknown format 'pascal'"):
        open_dataset(tmp_path, "pascal")


def balloon_zip(tmp_path, name="balloon_dataset.zip"):
    src = tmp_path / "src"
    via_split(src / "balloon" / "train")
    via_split(src / "balloon" / "val")
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w") as z:
        for file in sorted(src.rglob("*")):
            if file.is_file():
                z.write(file, file.relative_to(src))
    return archive


def test_zip_extraction_killed_half_way_is_redone(tmp_path, monkeypatch):
    """Issue 14 case 14: a half-extracted folder used to be reused as if complete."""
    from maskrcnn.data import layout

    archive = balloon_zip(tmp_path)
    target = tmp_path / "balloon_dataset"
    real_extract = zipfile.ZipFile._extract_member  # what extractall calls per member

    def killed(self, *args, **kwargs):
        if len(list((tmp_path / "balloon_dataset.partial").rglob("*.*"))) >= 2:
            raise KeyboardInterrupt  # as a kill in the middle of extractall
        return real_extract(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "_extract_member", killed)
    with pytest.raises(KeyboardInterrupt):
        find_layout(archive)
    assert not target.exists()  # only the .partial folder, never a finished-looking one
    assert not layout.extraction_complete(archive, tmp_path / "balloon_dataset.partial")
    monkeypatch.setattr(zipfile.ZipFile, "_extract_member", real_extract)
    found = find_layout(archive)
    assert sorted(found.splits) == ["train", "val"]
    assert layout.extraction_complete(archive, target)
    assert not (tmp_path / "balloon_dataset.partial").exists()
    assert open_dataset(archive, "via", split="val").load_image_and_masks(0)[2].tolist() == [1]

    # a folder without the marker (an older half-run, or one unzipped by hand) is redone
    (target / EXTRACTED).unlink()
    (target / "balloon" / "val" / "a.jpg").unlink()
    find_layout(archive)
    assert (target / "balloon" / "val" / "a.jpg").is_file()
    # complete: left as it is; another zip of that name: extracted again
    (target / "balloon" / "val" / "a.jpg").unlink()
    find_layout(archive)
    assert not (target / "balloon" / "val" / "a.jpg").exists()
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("balloon/README.txt", "new version")
    find_layout(archive)
    assert (target / "balloon" / "val" / "a.jpg").is_file()
    assert (target / "balloon" / "README.txt").is_file()


def test_safe_extract_zip_marks_completion(tmp_path):
    from maskrcnn.data.layout import extraction_complete

    archive = balloon_zip(tmp_path)
    out = tmp_path / "out"
    assert not extraction_complete(archive, out)
    safe_extract_zip(archive, out)
    assert extraction_complete(archive, out) and (out / "balloon" / "train" / "a.jpg").is_file()
    assert json.loads((out / EXTRACTED).read_text())["zip"] == "balloon_dataset.zip"


def test_json_integer_too_long_for_python(tmp_path):
    (tmp_path / "n.json").write_text("[" + "1" * 5000 + "]")
    with pytest.raises(DatasetError, match="n.json: unusable JSON number"):
        load_json(tmp_path / "n.json")


def test_via_split_folder_is_a_dataset_path(tmp_path, capsys):
    """matterport's balloon layout: ``dataset/train`` itself, as inspect, convert and train
    take it (issue 17: convert said "not a dataset folder this package knows")."""
    from maskrcnn.cli import main
    from maskrcnn.cli.common import load_dataset
    from maskrcnn.data.inspect import inspect_path

    via_split(tmp_path / "balloon" / "train")
    via_split(tmp_path / "balloon" / "val")
    train = tmp_path / "balloon" / "train"
    layout = find_layout(train)
    assert layout.format == "via" and layout.splits == {
        "train": (str(train / "via_region_data.json"), str(train))}
    assert sorted(find_layout(tmp_path / "balloon").splits) == ["train", "val"]  # as before
    ds = load_dataset(str(train), "via", "train")  # what maskrcnn train --dataset does
    assert ds.image_info[0]["path"] == str(train / "a.jpg")
    assert ds.load_image_and_masks(0)[2].tolist() == [1]
    with pytest.raises(DatasetError, match=r"no split 'val'; found \['train'\]"):
        open_dataset(train, "via", split="val")
    report = inspect_path(train, "via")
    assert list(report.splits) == ["train"] and report.splits["train"].num_images == 1
    output = tmp_path / "train.json"
    assert main(["convert", str(train) + "/", "--format", "via", "--output", str(output),
                 "--class-names", "balloon"]) == 0
    coco = json.loads(output.read_text())
    assert [c["name"] for c in coco["categories"]] == ["balloon"]
    assert [i["file_name"] for i in coco["images"]] == ["a.jpg"]
    assert "1 image, 1 annotation, 1 category written" in capsys.readouterr().out
