"""YOLO segmentation reader: data.yaml names and splits, layouts, and bad lines named."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskrcnn.data import load_yolo, open_dataset
from maskrcnn.data.layout import labelme_yolo_layout
from maskrcnn.errors import DatasetError

from .fuzz_checks import FUZZ_EXAMPLES, read_and_check

SQUARE = "0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5"  # 40 x 30 pixels of a 100 x 75 image


def make(root, split=None, labels=None, images=("a.jpg",), size=(100, 75)):
    sub = [split] if split else []
    image_dir = root.joinpath("images", *sub)
    label_dir = root.joinpath("labels", *sub)
    image_dir.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    for name in images:
        Image.new("RGB", size).save(image_dir / name)
    for name, text in (labels or {}).items():
        (label_dir / name).write_text(text)
    return root


def test_data_yaml_splits_and_names(tmp_path):
    make(tmp_path, "train", {"a.txt": f"1 {SQUARE}\n\n0 0.6 0.6 0.9 0.6 0.9 0.9\n"})
    make(tmp_path, "val", {}, images=("b.png",))
    (tmp_path / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n")
    ds = load_yolo(tmp_path)
    assert ds.class_names == ["BG", "cat", "dog"]
    masks, class_ids = ds.load_mask(0)
    assert class_ids.tolist() == [2, 1] and masks[..., 0].sum() == 40 * 30
    val = open_dataset(tmp_path / "data.yaml", "yolo", split="val")
    assert val.image_info[0]["id"] == "b.png" and val.load_mask(0)[1].size == 0  # background
    assert set(labelme_yolo_layout(tmp_path, "yolo").splits) == {"train", "val"}


def test_folder_without_yaml_and_names_list(tmp_path):
    make(tmp_path, labels={"a.txt": f"0 {SQUARE}"})
    with pytest.raises(DatasetError, match="no data.yaml with the class names"):
        load_yolo(tmp_path)
    assert load_yolo(tmp_path, names=["box"]).class_names == ["BG", "box"]
    (tmp_path / "data.yaml").write_text("names: [box, ball]\n")
    ds = open_dataset(tmp_path, "yolo")
    assert ds.class_names == ["BG", "box", "ball"] and ds.num_images == 1


def test_roboflow_layout(tmp_path):
    make(tmp_path / "train", labels={"a.txt": f"0 {SQUARE}"})
    (tmp_path / "data.yaml").write_text("train: ../train/images\nval: ../valid/images\n"
                                        "nc: 1\nnames: ['thing']\n")
    assert load_yolo(tmp_path).load_mask(0)[1].tolist() == [1]
    assert load_yolo(tmp_path / "train").class_names == ["BG", "thing"]  # yaml one level up


def test_labels_folder_with_images(tmp_path):
    make(tmp_path, labels={"a.txt": f"0 {SQUARE}"})
    ds = load_yolo(tmp_path / "labels", tmp_path / "images", names=["x"])
    assert ds.load_mask(0)[1].tolist() == [1]


@pytest.mark.parametrize("line, message", [
    ("0 0.5 0.5 0.2 0.2", "line 2: 4 values after the class: a detection box"),
    ("3 " + SQUARE, "line 2: class 3 is not a class index 0..1"),
    ("0 10 10 50 10 50 50", "line 2: coordinates from 10 to 50: YOLO labels are fractions"),
    ("0 0.1 0.1 0.2", "line 2: 3 coordinates after the class"),
    ("zero " + SQUARE, "line 2: not numbers"),
    ("0 nan 0.1 0.2 0.2 0.3 0.3", "line 2: .*finite"),
])
def test_bad_lines_name_file_image_and_line(tmp_path, line, message):
    make(tmp_path, labels={"a.txt": f"0 {SQUARE}\n{line}\n"})
    (tmp_path / "data.yaml").write_text("names: [a, b]\n")
    with pytest.raises(DatasetError, match=message) as err:
        load_yolo(tmp_path)
    assert "a.txt: image 'a.jpg', line 2" in str(err.value)
    ds = load_yolo(tmp_path, strict=False)
    assert ds.load_mask(0)[1].tolist() == [1] and len(ds.problems) == 1


def test_slight_overshoot_is_clipped_and_orphans_counted(tmp_path):
    make(tmp_path, labels={"a.txt": "0 -0.005 0 0.5 0 0.5 1.005\n", "zz.txt": f"0 {SQUARE}"})
    (tmp_path / "data.yaml").write_text("names: [a]\n")
    ds = load_yolo(tmp_path)
    assert ds.load_mask(0)[1].tolist() == [1]
    assert ds.skipped == {"label files without an image": 1}
    assert {p.severity for p in ds.problems} == {"warning"}


def test_bad_yaml_and_layouts(tmp_path):
    make(tmp_path, labels={})
    cases = [("names: [a\n", {}, "data.yaml: line .*not valid YAML"),
             ("names: {0: a, 2: b}\n", {}, "must map 0, 1, 2"),
             ("names: [a]\n", {"class_names": ["b"]}, "no classes named \\['b'\\]")]
    for text, options, message in cases:
        (tmp_path / "data.yaml").write_text(text)
        with pytest.raises(DatasetError, match=message):
            load_yolo(tmp_path, **options)
    with pytest.raises(DatasetError, match="not a YOLO dataset"):
        load_yolo(tmp_path / "images")


# ------------------------------------------------------------------ a seeded, bounded fuzz
TOKENS = st.sampled_from(["0", "1", "7", "-1", "0.5", "1.5", "-0.2", "nan", "inf", "1e308",
                          "0x1", "", "a", "\x00", "1e-320", "3.4e38"]) | st.floats().map(str)
LINES = st.lists(st.lists(TOKENS, max_size=10).map(" ".join), max_size=5).map("\n".join)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=LINES | st.text(max_size=40), names=st.sampled_from(
    ["names: [a, b]", "names: {0: a}", "names: 3", "nc: 2", "names: [\x00]", ":", "[]"]))
def test_fuzz_only_dataset_errors(tmp_path, label, names):
    """Only DatasetError escapes the YOLO reader, and what it accepts is sane, whatever the
    label lines and data.yaml hold (extremes, NaN, text, NUL)."""
    root = make(tmp_path / "d", labels={"a.txt": label})
    (root / "data.yaml").write_text(f"path: .\ntrain: images\nval: images\n{names}\n")
    read_and_check(lambda strict: load_yolo(root, strict=strict))
