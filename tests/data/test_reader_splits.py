"""Each reader's one way to list the splits a path offers (``splits``) and to read one
(``load``), checked against what the files hold; and the layout only asking the readers."""
import json
import os
import zipfile

import pytest
from PIL import Image

from maskrcnn.data.archives import dataset_folders
from maskrcnn.data.files import EVERY_SPLIT, SplitSource
from maskrcnn.data.layout import READERS, dataset_layout, find_layout, open_dataset
from maskrcnn.data.readers import bdd, coco, labelme, openimages, via, yolo
from maskrcnn.errors import DatasetError

from .test_layout import via_split
from .test_readers_labelme import labelme_file, shape

SQUARE = "0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5"


def coco_json(path, names):
    """A COCO file of the images ``names`` (each 32 x 32, one triangle), written beside
    ``path``'s images folder by the caller."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "images": [{"id": i, "file_name": n, "width": 32, "height": 32}
                   for i, n in enumerate(names, 1)],
        "categories": [{"id": 1, "name": "box"}],
        "annotations": [{"id": i, "image_id": i, "category_id": 1,
                         "segmentation": [[2, 2, 20, 2, 20, 20]]}
                        for i in range(1, len(names) + 1)]}))
    return path


def images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", (32, 32)).save(folder / name)


def read(reader, source, **options):
    """The image file names of one split, as the reader loads them."""
    return sorted(os.path.basename(i["path"]) for i in reader.load(source, **options).image_info)


def with_images(source, folder):
    return source._replace(images=str(folder))


def test_every_reader_has_one_way_to_list_and_one_to_read():
    for name, reader in READERS.items():
        assert callable(reader.splits) and callable(reader.load), name


def test_coco_annotations_folder(tmp_path):
    for split, names in (("train", ["a.jpg", "b.jpg"]), ("val", ["c.jpg"])):
        coco_json(tmp_path / "annotations" / f"instances_{split}2017.json", names)
        images(tmp_path / f"{split}2017", names)
    found = coco.splits(tmp_path)
    assert found == {
        "train2017": SplitSource(str(tmp_path / "annotations" / "instances_train2017.json"),
                                 str(tmp_path / "train2017")),
        "val2017": SplitSource(str(tmp_path / "annotations" / "instances_val2017.json"),
                               str(tmp_path / "val2017"))}
    assert read(coco, found["train2017"]) == ["a.jpg", "b.jpg"]
    assert read(coco, found["val2017"]) == ["c.jpg"]


def test_coco_per_split_annotations_and_a_file_alone(tmp_path):
    for split, names in (("train", ["a.jpg"]), ("test", ["t1.jpg", "t2.jpg"])):
        coco_json(tmp_path / split / "annotations" / "x.json", names)
        images(tmp_path / split / "images", names)
    found = coco.splits(tmp_path)
    assert sorted(found) == ["test", "train"]
    assert found["test"].images == str(tmp_path / "test" / "images")
    assert read(coco, found["test"]) == ["t1.jpg", "t2.jpg"]
    # one file: the split its folder says, its images guessed by the reader
    alone = coco.splits(tmp_path / "test" / "annotations" / "x.json")
    assert alone == {"train": SplitSource(str(tmp_path / "test" / "annotations" / "x.json"),
                                          None)}
    val_file = coco_json(tmp_path / "val" / "x.json", ["a.jpg"])
    assert list(coco.splits(val_file)) == ["val"]
    with pytest.raises(DatasetError, match="not a COCO dataset folder"):
        coco.splits(tmp_path / "train" / "images")


def test_the_parts_split_wrote_are_listed_by_coco_and_via(tmp_path):
    images(tmp_path, ["a.jpg", "b.jpg", "c.jpg"])
    coco_json(tmp_path / "all.json", ["a.jpg", "b.jpg", "c.jpg"])
    coco_json(tmp_path / "all.train.json", ["a.jpg", "b.jpg"])
    coco_json(tmp_path / "all.val.json", ["c.jpg"])
    of_file = coco.splits(tmp_path / "all.json")
    assert of_file == {"train": SplitSource(str(tmp_path / "all.train.json"), None),
                       "val": SplitSource(str(tmp_path / "all.val.json"), None)}
    assert coco.splits(tmp_path / "all.val.json") == of_file  # a part knows its siblings
    of_folder = coco.splits(tmp_path)
    assert {s: src.annotations for s, src in of_folder.items()} == {
        s: src.annotations for s, src in of_file.items()}
    assert {src.images for src in of_folder.values()} == {str(tmp_path)}
    assert read(coco, of_folder["val"]) == ["c.jpg"]
    assert sorted(via.splits(tmp_path)) == ["train", "val"]  # the parts name no format


def test_via_split_folders_and_the_split_folder_itself(tmp_path):
    via_split(tmp_path / "balloon" / "train")
    via_split(tmp_path / "balloon" / "val")
    found = via.splits(tmp_path / "balloon")
    assert found == {s: SplitSource(str(tmp_path / "balloon" / s / "via_region_data.json"),
                                    str(tmp_path / "balloon" / s)) for s in ("train", "val")}
    assert read(via, found["val"]) == ["a.jpg"]
    assert via.splits(tmp_path / "balloon" / "val") == {"val": found["val"]}
    assert list(via.splits(tmp_path / "balloon" / "val" / "via_region_data.json")) == ["val"]
    with pytest.raises(DatasetError, match="not a VIA dataset folder"):
        via.splits(tmp_path)  # holds one folder, not splits (the layout looks into it)


def test_labelme_folders_and_a_file(tmp_path):
    for split in ("train", "val"):
        labelme_file(tmp_path / split, f"{split}1", [shape("x", [[1, 1], [9, 1], [9, 9]])])
    found = labelme.splits(tmp_path)
    assert found == {s: SplitSource(str(tmp_path / s), None) for s in ("train", "val")}
    assert read(labelme, found["val"]) == ["val1.png"]
    assert labelme.splits(tmp_path / "val") == {"val": found["val"]}
    one = tmp_path / "val" / "val1.json"
    assert labelme.splits(one) == {EVERY_SPLIT: SplitSource(str(one), None)}
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no LabelMe JSON files"):
        labelme.splits(tmp_path / "empty")


def yolo_dataset(root, splits):
    """images/<split>/ and labels/<split>/ for ``splits`` ({split: image names}), a data.yaml
    naming them."""
    for split, names in splits.items():
        images(root / "images" / split, names)
        (root / "labels" / split).mkdir(parents=True)
        for name in names:
            (root / "labels" / split / (os.path.splitext(name)[0] + ".txt")).write_text(SQUARE)
    lines = [f"{s}: images/{s}" for s in splits] + ["names: [thing]"]
    (root / "data.yaml").write_text("\n".join(lines) + "\n")
    return root


def test_yolo_yaml_folders_and_a_labels_folder(tmp_path):
    root = yolo_dataset(tmp_path / "ds", {"train": ["a.jpg", "b.jpg"], "val": ["c.jpg"]})
    found = yolo.splits(root / "data.yaml")
    assert found["val"] == yolo.YoloSplit(str(root / "labels" / "val"),
                                          str(root / "images" / "val"), str(root / "data.yaml"))
    assert yolo.splits(root) == found
    assert read(yolo, found["train"]) == ["a.jpg", "b.jpg"]
    assert read(yolo, found["val"]) == ["c.jpg"]
    (root / "data.yaml").write_text("names: [thing]\n")  # no splits named: the folders say
    assert sorted(yolo.splits(root)) == ["train", "val"]
    labels = yolo.splits(root / "labels" / "val")
    assert list(labels) == [EVERY_SPLIT] and labels[EVERY_SPLIT].images is None
    assert read(yolo, with_images(labels[EVERY_SPLIT], root / "images" / "val"),
                names=["thing"]) == ["c.jpg"]
    with pytest.raises(DatasetError, match="not a YOLO dataset"):
        yolo.load(labels[EVERY_SPLIT])


@pytest.mark.parametrize("reader, name", [(bdd, "ins_seg_val.json"),
                                          (openimages, "validation-segmentation.csv")])
def test_bdd_and_open_images_files_name_no_split(tmp_path, reader, name):
    assert reader.splits(tmp_path / name) == {
        EVERY_SPLIT: SplitSource(str(tmp_path / name), None)}


# ------------------------------------------------------------------ the layout asks them
def test_dataset_folders_look_into_a_zip_and_its_top_folder(tmp_path):
    via_split(tmp_path / "src" / "outer" / "balloon" / "train")
    via_split(tmp_path / "src" / "outer" / "balloon" / "val")
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in sorted((tmp_path / "src").rglob("*")):
            if file.is_file():
                z.write(file, file.relative_to(tmp_path / "src"))
    assert dataset_folders(archive) == [str(tmp_path / "b" / "outer" / "balloon"),
                                        str(tmp_path / "b" / "outer"), str(tmp_path / "b")]
    assert find_layout(archive).root == str(tmp_path / "b" / "outer" / "balloon")
    (tmp_path / "loop").mkdir()
    os.symlink(tmp_path / "loop", tmp_path / "loop" / "again")
    assert dataset_folders(tmp_path / "loop") == [str(tmp_path / "loop")]  # no endless descent


def test_labelme_zip_is_read_as_its_folder(tmp_path):
    for split in ("train", "val"):
        labelme_file(tmp_path / "src" / split, f"{split}1",
                     [shape("x", [[1, 1], [9, 1], [9, 9]])])
    archive = tmp_path / "labelme.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in sorted((tmp_path / "src").rglob("*")):
            if file.is_file():
                z.write(file, file.relative_to(tmp_path / "src"))
    assert sorted(dataset_layout(archive, "labelme").splits) == ["train", "val"]
    assert open_dataset(archive, "labelme", split="val").image_info[0]["id"] == "val1.png"


def test_a_via_folder_asked_for_as_coco_says_what_it_looks_like(tmp_path):
    for split, names in (("train", ["a.jpg"]), ("val", ["b.jpg"])):
        coco_json(tmp_path / "annotations" / f"instances_{split}.json", names)
        images(tmp_path / split, names)
    with pytest.raises(DatasetError, match="looks like a coco dataset, not via"):
        open_dataset(tmp_path, "via")


def test_yolo_labels_folder_with_images_reads_for_any_split(tmp_path):
    root = yolo_dataset(tmp_path, {"train": ["a.jpg"]})
    for split in (None, "train", "val"):
        ds = open_dataset(root / "labels" / "train", "yolo", images=root / "images" / "train",
                          split=split, names=["box"])
        assert ds.image_info[0]["id"] == "a.jpg" and ds.class_names == ["BG", "box"]


def test_inspect_reads_every_split_of_a_labelme_folder(tmp_path):
    from maskrcnn.data.inspect import inspect_path

    for split, count in (("train", 2), ("val", 1)):
        for i in range(count):
            labelme_file(tmp_path / split, f"{split}{i}", [shape("x", [[1, 1], [9, 1], [9, 9]])])
    report = inspect_path(tmp_path, "labelme")
    assert {s: r.num_images for s, r in report.splits.items()} == {"train": 2, "val": 1}


def test_a_single_file_of_the_other_formats_is_read_for_any_split(tmp_path):
    path = labelme_file(tmp_path, "one", [shape("x", [[1, 1], [9, 1], [9, 9]])])
    for split in (None, "train", "val"):
        assert open_dataset(path, "labelme", split=split).image_info[0]["id"] == "one.png"
