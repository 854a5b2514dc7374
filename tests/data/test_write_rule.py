"""The write rule of the data commands: never over an input, everything checked before the
first byte, a temporary name then a rename, nothing left behind on a refusal."""
import json
import os

import pytest

from maskrcnn.cli import main
from maskrcnn.data import load_labelme, write_dataset
from maskrcnn.data.files import write_json
from maskrcnn.errors import DatasetError

from .test_readers_labelme import labelme_file, shape
from .test_writers import coco_source


def snapshot(folder):
    """{relative path: bytes} of every file under ``folder``."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


def refused(args, capsys, *words):
    """Run the command; it must exit 2 with one ``error:`` line holding ``words``."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    for word in words:
        assert word in err[0]
    return err[0]


def test_convert_labelme_onto_its_own_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "lm"
    folder.mkdir()
    labelme_file(folder, "a", [shape("cat", [[5, 5], [30, 5], [30, 20]]),
                               shape("cat", [[3, 3]], "point")], description="kept")
    before = snapshot(tmp_path)
    refused(["convert", str(folder), "--format", "labelme", "--to", "labelme", "--output",
             str(folder)], capsys, str(folder / "a.json"), "input", "--output")
    assert snapshot(tmp_path) == before


def test_convert_via_onto_itself_is_refused(tmp_path, capsys):
    from PIL import Image

    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    via = tmp_path / "via.json"
    via.write_text(json.dumps({"a.png": {"filename": "a.png", "size": 1, "file_attributes": {},
                                         "regions": [{"shape_attributes": {
                                             "name": "rect", "x": 2, "y": 2, "width": 9,
                                             "height": 9}, "region_attributes": {}}]}}))
    before = snapshot(tmp_path)
    for to in ("via", "coco"):
        refused(["convert", str(via), "--format", "via", "--to", to, "--output", str(via)],
                capsys, str(via), "input")
    assert snapshot(tmp_path) == before


def test_yolo_data_yaml_of_other_classes_refused_before_any_label(tmp_path, capsys):
    source, images = coco_source(tmp_path)
    out = tmp_path / "out"
    write_dataset(source, "yolo", out)
    source.rename_classes(["crate", "other"])
    os.remove(out / "labels" / "a.txt")  # the old code wrote this again before refusing
    before = snapshot(out)
    refused(["convert", str(tmp_path / "src.json"), "--format", "coco", "--images",
             str(images), "--class-names", "crate,other", "--to", "yolo", "--output",
             str(out)], capsys, str(out / "data.yaml"), "--overwrite")
    assert snapshot(out) == before
    assert main(["convert", str(tmp_path / "src.json"), "--format", "coco", "--images",
                 str(images), "--class-names", "crate,other", "--to", "yolo", "--output",
                 str(out), "--overwrite"]) == 0
    assert "crate" in (out / "data.yaml").read_text()


@pytest.mark.parametrize("to", ["coco", "via", "labelme", "yolo"])
def test_output_under_a_regular_file_is_the_projects_error(tmp_path, capsys, to):
    coco_source(tmp_path)
    (tmp_path / "plain.txt").write_text("not a folder")
    before = snapshot(tmp_path)
    refused(["convert", str(tmp_path / "src.json"), "--format", "coco", "--images",
             str(tmp_path / "src"), "--to", to, "--output",
             str(tmp_path / "plain.txt" / "x.json")], capsys, "plain.txt", "not a folder")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("to", ["coco", "via"])
def test_output_onto_a_folder_named_json_leaves_no_temporary_file(tmp_path, capsys, to):
    coco_source(tmp_path)
    (tmp_path / "x.json").mkdir()
    refused(["convert", str(tmp_path / "src.json"), "--format", "coco", "--images",
             str(tmp_path / "src"), "--to", to, "--output", str(tmp_path / "x.json")],
            capsys, "x.json", "is a folder")
    assert sorted(os.listdir(tmp_path)) == ["src", "src.json", "x.json"]
    assert os.listdir(tmp_path / "x.json") == []


def test_merge_onto_its_original_is_refused(tmp_path, capsys):
    coco_source(tmp_path)
    src = str(tmp_path / "src.json")
    before = snapshot(tmp_path)
    refused(["merge", src, src, "--format", "coco", "--images", str(tmp_path / "src"),
             "--corrected-images", str(tmp_path / "src"), "--output", src], capsys, src,
            "input")
    assert snapshot(tmp_path) == before


def test_write_dataset_refuses_its_inputs_and_a_failed_write_leaves_nothing(tmp_path):
    folder = tmp_path / "lm"
    folder.mkdir()
    labelme_file(folder, "a", [shape("cat", [[5, 5], [30, 5], [30, 20]])])
    dataset = load_labelme(folder)
    with pytest.raises(DatasetError, match="is an input"):
        write_dataset(dataset, "labelme", folder)
    write_dataset(dataset, "labelme", tmp_path / "copy")  # elsewhere: written
    assert load_labelme(tmp_path / "copy", folder).num_images == 1
    with pytest.raises(TypeError):  # not JSON: the temporary file is removed
        write_json(tmp_path / "bad.json", {"x": object()})
    assert sorted(os.listdir(tmp_path)) == ["copy", "lm"]

def test_split_refuses_a_labelme_file(tmp_path, capsys):
    path = labelme_file(tmp_path, "a", [shape("cat", [[5, 5], [30, 5], [30, 20]])])
    refused(["split", str(path)], capsys, str(path), "LabelMe")
    assert sorted(os.listdir(tmp_path)) == ["a.json", "a.png"]
