"""Splits of COCO and VIA files by image (issue 20: users copied and renamed files by hand)."""
import argparse
import json

import numpy as np
import pytest
from PIL import Image

from maskrcnn.cli import main
from maskrcnn.cli.train import calibration_dataset
from maskrcnn.data import ShapesDataset
from maskrcnn.data.convert import dataset_to_coco
from maskrcnn.data.layout import open_dataset
from maskrcnn.data.readers.coco import load_coco
from maskrcnn.data.readers.via import load_via
from maskrcnn.data.split import split_annotations, split_counts
from maskrcnn.errors import DatasetError

from .test_readers_via import entry, polygon


def test_split_counts_share_every_image_and_fill_each_part():
    assert split_counts(10, {"train": 0.8, "val": 0.2}) == {"train": 8, "val": 2}
    assert split_counts(7, {"train": 0.7, "val": 0.15, "test": 0.15}) == {
        "train": 5, "val": 1, "test": 1}
    assert split_counts(3, {"train": 0.98, "val": 0.01, "test": 0.01}) == {
        "train": 1, "val": 1, "test": 1}  # small parts still get an image
    assert sum(split_counts(1001, {"a": 1, "b": 1, "c": 1}).values()) == 1001
    with pytest.raises(DatasetError, match="fractions"):
        split_counts(5, {"train": 0.0})


def write_distinct_images(folder, names, size=(64, 48)):
    """Photos no two of which are near-identical: smoothed noise, one seed each."""
    for i, name in enumerate(names):
        noise = np.random.default_rng(i).random((6, 8, 3)) * 255
        Image.fromarray(noise.astype(np.uint8)).resize(size, Image.BILINEAR).save(folder / name)


@pytest.fixture
def via_file(tmp_path):
    names = [f"img{i:02d}.png" for i in range(12)]
    write_distinct_images(tmp_path, names)
    data = {f"{n}1234": entry(n, [polygon([5, 20, 20], [5, 5, 20], label="x")] * (1 + i % 3))
            for i, n in enumerate(names)}
    path = tmp_path / "via_region_data.json"
    path.write_text(json.dumps(data))
    return path, data


def test_via_parts_are_disjoint_complete_and_readable(via_file):
    path, data = via_file
    parts = split_annotations(path, {"train": 0.5, "val": 0.25, "test": 0.25}, seed=3,
                              verbose=False)
    seen, regions = [], 0
    for name, part in parts.items():
        subset = json.loads(open(part).read())
        seen += list(subset)
        dataset = load_via(part)  # beside the original: the same images are found
        assert len(dataset.image_ids) == len(subset) == {"train": 6, "val": 3, "test": 3}[name]
        regions += sum(dataset.load_mask(i)[0].shape[-1] for i in dataset.image_ids)
    assert sorted(seen) == sorted(data)  # every image once
    assert regions == sum(len(v["regions"]) for v in data.values())
    again = split_annotations(path, {"train": 0.5, "val": 0.25, "test": 0.25}, seed=3,
                              verbose=False)
    assert all(open(again[n]).read() == open(parts[n]).read() for n in parts)
    other = split_annotations(path, {"train": 0.5, "val": 0.25, "test": 0.25}, seed=4,
                              output_dir=str(path.parent / "other"), verbose=False)
    assert sorted(json.loads(open(other["val"]).read())) != sorted(
        json.loads(open(parts["val"]).read()))


def test_via_project_files_keep_their_settings(via_file):
    path, data = via_file
    project = {"_via_settings": {"ui": 1}, "_via_attributes": {"region": {}},
               "_via_img_metadata": data, "_via_image_id_list": list(data)}
    path.write_text(json.dumps(project))
    parts = split_annotations(path, seed=0, verbose=False)
    train = json.loads(open(parts["train"]).read())
    assert train["_via_settings"] == {"ui": 1} and train["_via_attributes"] == {"region": {}}
    assert train["_via_image_id_list"] == [k for k in data if k in train["_via_img_metadata"]]
    assert len(train["_via_img_metadata"]) == 10 and len(load_via(parts["train"]).image_ids) == 10


def test_coco_parts_keep_each_image_with_its_annotations(tmp_path):
    shapes = ShapesDataset(9, 48, 48, seed=2)
    for i in shapes.image_ids:
        Image.fromarray(shapes.load_image(i)).save(tmp_path / f"{shapes.image_info[i]['id']}.png")
    coco = dataset_to_coco(shapes)
    for image in coco["images"]:
        image["file_name"] = f"{image['source_id']}.png"
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    parts = split_annotations(path, {"train": 2, "val": 1}, seed=0, verbose=False)
    total = 0
    for part in parts.values():
        subset = json.loads(open(part).read())
        ids = {image["id"] for image in subset["images"]}
        assert all(a["image_id"] in ids for a in subset["annotations"])
        assert subset["categories"] == coco["categories"]
        dataset = load_coco(part, image_dir=str(tmp_path))
        total += sum(dataset.load_mask(i)[0].shape[-1] for i in dataset.image_ids)
        assert len(dataset.image_ids) == len(ids)
    assert total == len(coco["annotations"])
    assert np.sum([len(json.loads(open(p).read())["images"]) for p in parts.values()]) == 9


def test_split_command(via_file, capsys):
    path, _ = via_file
    assert main(["split", str(path), "--val", "0.25", "--test", "0.25", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "train: 6 images" in out and "val: 3 images" in out and "test: 3 images" in out
    assert main(["split", str(path), "--val", "0.7", "--test", "0.4"]) == 2
    assert "leave images for training" in capsys.readouterr().err
    path.write_text("[1, 2]")
    assert main(["split", str(path)]) == 2


def test_near_identical_images_stay_in_one_part(via_file, capsys):
    path, _ = via_file
    folder = path.parent
    original = Image.open(folder / "img00.png")
    original.point(lambda v: min(255, v + 12)).save(folder / "img01.png")  # brightened
    (folder / "img02.png").write_bytes((folder / "img00.png").read_bytes())  # the same file
    for seed in range(6):
        parts = split_annotations(path, {"train": 0.5, "val": 0.5}, seed=seed)
        sides = {name: json.loads(open(p).read()) for name, p in parts.items()}
        holding = {name for name, part in sides.items() for n in ("img00", "img01", "img02")
                   if f"{n}.png1234" in part}
        assert len(holding) == 1
        assert sum(len(part) for part in sides.values()) == 12
    assert "2 near-identical images" in capsys.readouterr().out


def test_a_file_provides_only_its_own_split(via_file):
    path, _ = via_file
    assert len(open_dataset(path, "via").image_ids) == 12
    assert len(open_dataset(path, "via", split="train").image_ids) == 12
    with pytest.raises(DatasetError, match=r"no split 'val'.*maskrcnn split"):
        open_dataset(path, "via", split="val")


def test_the_parts_split_wrote_are_the_splits_of_file_and_folder(via_file):
    path, _ = via_file
    parts = split_annotations(path, {"train": 0.75, "val": 0.25}, seed=0, verbose=False)
    val = sorted(json.loads(open(parts["val"]).read()))
    for source in (path, path.parent, parts["train"]):
        ds = open_dataset(source, "via", split="val")
        assert sorted(f"{i['id']}" for i in ds.image_info) == sorted(
            v.removesuffix("1234") for v in val)
    assert len(open_dataset(path.parent, "via").image_ids) == 9  # train by default
    with pytest.raises(DatasetError, match=r"no split 'test'.*train, val"):
        open_dataset(path, "via", split="test")


def test_a_split_folder_keeps_its_name(tmp_path):
    for split, count in (("train", 3), ("val", 2)):
        folder = tmp_path / split
        folder.mkdir()
        names = [f"{split}{i}.png" for i in range(count)]
        write_distinct_images(folder, names)
        (folder / "via_region_data.json").write_text(json.dumps(
            {n: entry(n, [polygon([5, 20, 20], [5, 5, 20], label="x")]) for n in names}))
    assert len(open_dataset(tmp_path, "via", split="val").image_ids) == 2
    val_file = tmp_path / "val" / "via_region_data.json"
    assert len(open_dataset(val_file, "via", split="val").image_ids) == 2
    with pytest.raises(DatasetError, match="no split 'train'"):
        open_dataset(val_file, "via", split="train")


# ---------------------------------------------------------------- train's calibration split
def args_for(path, calibration_split=None, fmt="via"):
    return argparse.Namespace(dataset=str(path), format=fmt, images=None,
                              calibration_split=calibration_split)


def test_the_val_part_of_a_split_file_is_used_and_train_can_be_asked_for(via_file, capsys):
    path, data = via_file
    # a file alone: the training images, and the line says how to get a val split
    assert calibration_dataset(args_for(path), None) is None
    assert "no val split" in capsys.readouterr().out
    parts = split_annotations(path, {"train": 0.75, "val": 0.25}, seed=1, verbose=False)
    val = calibration_dataset(args_for(path), None)
    with open(parts["val"]) as f:
        expected = {entry["filename"] for entry in json.load(f).values()}
    assert {info["path"].rsplit("/", 1)[-1] for info in val.image_info} == expected
    assert "on the val split (3 images)" in capsys.readouterr().out
    assert calibration_dataset(args_for(path, "train"), None) is None
    # a --val-split given: that one (the model's train() takes it)
    assert calibration_dataset(args_for(path), object()) is None
