"""Which files a folder run reads, and the plan of a resumed run (no model needed)."""
import os

import pytest

from maskrcnn.errors import ConfigError, DatasetError
from maskrcnn.inference.files import check_output, list_images, safe_name
from maskrcnn.inference.state import load_state, plan


@pytest.fixture
def tree(tmp_path):
    for name in ("b.JPG", "a.png", "notes.txt", "sub/c.jpg", "sub/deep/d.tif"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path


def test_folders_are_not_recursive_and_keep_image_names_only(tree):
    names = [os.path.relpath(p, tree) for p in list_images(tree)]
    assert names == ["a.png", "b.JPG"]  # sorted; upper-case extension counted; no notes.txt


def test_globs_recurse_files_are_taken_as_given_and_duplicates_drop(tree):
    found = list_images([str(tree / "**" / "*.jpg"), tree / "notes.txt", tree / "sub" / "c.jpg"])
    assert [os.path.relpath(p, tree) for p in found] == [os.path.join("sub", "c.jpg"),
                                                         "notes.txt"]
    assert all(os.path.isabs(p) for p in found)
    with pytest.raises(DatasetError, match="no such file or folder"):
        list_images(tree / "missing")


def test_output_checks(tree):
    with pytest.raises(ConfigError, match="is the input folder"):
        check_output(tree, [], str(tree))
    with pytest.raises(ConfigError, match="not a folder"):
        check_output(tree / "sub", [], str(tree / "a.png"))
    with pytest.raises(ConfigError, match="inside the output folder"):
        check_output(tree / "a.png", [str(tree / "sub" / "c.jpg")], str(tree / "sub"))


def test_plan_keeps_ids_and_gives_same_stem_files_distinct_names(tree, tmp_path):
    files = [str(tree / "sub" / "c.jpg"), str(tree / "b.JPG"), str(tree / "a.png")]
    (tree / "b.png").write_bytes(b"y")
    files.append(str(tree / "b.png"))  # the same stem as b.JPG
    todo, done_before = plan(files, {})
    assert done_before == 0 and [t["image_id"] for t in todo] == [1, 2, 3, 4]
    assert len({t["name"].lower() for t in todo}) == 4
    finished = {t["file"]: dict(t, status="ok") for t in todo[:2]}
    (tree / "b.JPG").write_bytes(b"changed")  # a changed file is done again
    os.utime(tree / "b.JPG", ns=(1, 1))
    again, done_before = plan(files, finished)
    assert done_before == 1 and [t["file"] for t in again] == files[1:]
    assert [t["image_id"] for t in again] == [2, 3, 4]  # ids kept, none reused
    assert safe_name("a b/c?") == "a_b_c" and safe_name("???") == "image"


def test_state_refuses_other_settings_and_reads_cut_records(tmp_path):
    output = str(tmp_path / "out")
    assert load_state(output, {"masks": False}, resume=True) == {}
    with open(os.path.join(output, "records.jsonl"), "a") as f:
        f.write('{"file": "x.jpg", "status": "ok"}\n{"file": "y.j')  # the last line cut short
    assert list(load_state(output, {"masks": False}, resume=True)) == ["x.jpg"]
    with pytest.raises(ConfigError, match="masks: False then, True now"):
        load_state(output, {"masks": True}, resume=True)
    assert load_state(output, {"masks": True}, resume=False) == {}
