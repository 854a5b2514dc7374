"""Splits of COCO and VIA files by image (issue 20: users copied and renamed files by hand)."""
import json

import numpy as np
import pytest
from PIL import Image

from maskrcnn.cli import main
from maskrcnn.data import ShapesDataset
from maskrcnn.data.convert import dataset_to_coco
from maskrcnn.data.readers.coco import load_coco
from maskrcnn.data.readers.via import load_via
from maskrcnn.data.split import split_annotations, split_counts
from maskrcnn.errors import DatasetError

from .test_readers_via import entry, polygon, write_images


def test_split_counts_share_every_image_and_fill_each_part():
    assert split_counts(10, {"train": 0.8, "val": 0.2}) == {"train": 8, "val": 2}
    assert split_counts(7, {"train": 0.7, "val": 0.15, "test": 0.15}) == {
        "train": 5, "val": 1, "test": 1}
    assert split_counts(3, {"train": 0.98, "val": 0.01, "test": 0.01}) == {
        "train": 1, "val": 1, "test": 1}  # small parts still get an image
    assert sum(split_counts(1001, {"a": 1, "b": 1, "c": 1}).values()) == 1001
    with pytest.raises(DatasetError, match="fractions"):
        split_counts(5, {"train": 0.0})


@pytest.fixture
def via_file(tmp_path):
    names = [f"img{i:02d}.png" for i in range(12)]
    write_images(tmp_path, names)
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
