"""The annotation loop through the command line, on a tiny COCO dataset the test writes:
train -> detect --annotations coco -> merge -> train from that checkpoint -> evaluate."""
import json
import re
import shutil

import numpy as np
import pytest
from conftest import tiny_config_file
from PIL import Image

from maskrcnn.cli import main


def write_squares(folder, names, seed=0):
    """64 x 64 PNGs with 1-2 bright squares on grey; returns {name: [polygon, ...]}."""
    rng = np.random.default_rng(seed)
    boxes = {}
    for name in names:
        image = np.full((64, 64, 3), 60, np.uint8)
        boxes[name] = []
        for _ in range(int(rng.integers(1, 3))):
            y, x = (int(v) for v in rng.integers(4, 40, size=2))
            image[y:y + 18, x:x + 18] = 220
            boxes[name].append([x, y, x + 18, y, x + 18, y + 18, x, y + 18])
        Image.fromarray(image).save(folder / name)
    return boxes


def write_coco(path, boxes):
    images = [{"id": i, "file_name": n, "width": 64, "height": 64}
              for i, n in enumerate(sorted(boxes), start=1)]
    ids = {record["file_name"]: record["id"] for record in images}
    annotations = [{"id": k, "image_id": ids[n], "category_id": 1, "segmentation": [polygon],
                    "iscrowd": 0, "area": 18 * 18, "bbox": [polygon[0], polygon[1], 18, 18]}
                   for k, (n, polygon) in enumerate(
                       ((n, p) for n in sorted(boxes) for p in boxes[n]), start=1)]
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "square"}]}))


def checkpoint_of(out):
    return re.search(r"^checkpoint: (.+)$", out, re.M).group(1)


@pytest.mark.slow
def test_detect_merge_and_train_on_from_the_checkpoint(tmp_path, capsys):
    images, new = tmp_path / "images", tmp_path / "new"
    images.mkdir()
    new.mkdir()
    write_coco(tmp_path / "original.json", write_squares(images, [f"a{i}.png" for i in range(6)]))
    write_squares(images, ["b0.png", "b1.png"], seed=1)  # not annotated yet
    for name in ("b0.png", "b1.png"):
        shutil.copy(images / name, new / name)
    logs = str(tmp_path / "logs")
    coco = ["--format", "coco", "--images", str(images)]

    config = tiny_config_file(tmp_path / "tiny.json", STEPS_PER_EPOCH=2,
                              BN_RECOMPUTE_IMAGES=0, NUM_CLASSES=2)
    assert main(["train", "--dataset", str(tmp_path / "original.json"), *coco, "--config",
                 config, "--steps", "2", "--no-augment", "--model-dir", logs]) == 0
    first = checkpoint_of(capsys.readouterr().out)
    assert first.endswith("_0001.h5")

    assert main(["detect", "--weights", first, "--input", str(new), "--output",
                 str(tmp_path / "detected"), "--annotations", "coco"]) == 0
    capsys.readouterr()
    predicted = next((tmp_path / "detected" / "annotations").glob("*.json"))
    merged = tmp_path / "merged.json"
    assert main(["merge", str(tmp_path / "original.json"), str(predicted), "--format", "coco",
                 "--images", str(images), "--corrected-images", str(new), "--output",
                 str(merged)]) == 0
    capsys.readouterr()

    # The checkpoint alone is the starting point: its small backbone, classes and layers.
    assert main(["train", "--dataset", str(merged), *coco, "--weights", first, "--steps", "3",
                 "--no-augment", "--model-dir", logs]) == 0
    out = capsys.readouterr().out
    assert f"config from {first}" in out
    assert "training layers 'all' (as the checkpoint was trained" in out
    assert "trained: 3 steps to epoch 3" in out  # 3 steps on from epoch 1: 2 epochs of 2
    second = checkpoint_of(out)
    assert second.endswith("_0003.h5")

    assert main(["evaluate", "--weights", second, "--dataset", str(merged), *coco]) == 0
    assert "AP50" in capsys.readouterr().out


def test_merge_reads_via_originals_by_the_corrections_class_attribute(tmp_path, capsys):
    """README step 7: `merge balloon/train pred/.../via_project.json --format via
    --class-attribute class`: the originals' classes come from the same attribute, never
    one class 'object' beside the corrections' classes; a one-class set without the
    attribute stays one class."""
    from maskrcnn.data import load_coco, open_dataset, write_dataset
    images = tmp_path / "train"
    images.mkdir()
    boxes = write_squares(images, [f"{k}.png" for k in range(3)])
    write_coco(tmp_path / "part.json", boxes)
    data = load_coco(tmp_path / "part.json", images)
    data.rename_classes(["circle"])  # a named class, not 'object'
    write_dataset(data, "via", images / "via_region_data.json")  # region attribute 'class'
    write_dataset(data, "via", tmp_path / "corrections.json")
    merged = tmp_path / "merged.json"
    assert main(["merge", str(images), str(tmp_path / "corrections.json"), "--format", "via",
                 "--class-attribute", "class", "--corrected-images", str(images),
                 "--output", str(merged)]) == 0
    assert open_dataset(str(merged), "coco", images=str(images)).class_names == ["BG", "circle"]
    # a one-class VIA set without any attribute: its regions are 'object', as detect names them
    plain = json.loads((images / "via_region_data.json").read_text())
    for entry in plain["_via_img_metadata"].values():
        for region in entry["regions"]:
            region["region_attributes"] = {}
    (images / "via_region_data.json").write_text(json.dumps(plain))
    data.rename_classes(["object"])
    (tmp_path / "corrections.json").unlink()
    write_dataset(data, "via", tmp_path / "corrections.json")
    assert main(["merge", str(images), str(tmp_path / "corrections.json"), "--format", "via",
                 "--class-attribute", "class", "--corrected-images", str(images),
                 "--output", str(tmp_path / "merged1.json")]) == 0
    assert open_dataset(str(tmp_path / "merged1.json"), "coco",
                        images=str(images)).class_names == ["BG", "object"]


def test_a_dataset_with_the_models_classes_in_another_order_is_read_in_the_models(tmp_path):
    """train --weights CKPT, evaluate and calibrate read the data through load_dataset with
    the model's classes: the same classes in another order keep each object's class name
    (the merged file of README step 7 lists them sorted); other classes stay as they are."""
    from maskrcnn.cli.common import load_dataset
    boxes = write_squares(tmp_path, [f"{k}.png" for k in range(3)])
    write_coco(tmp_path / "a.json", boxes)
    data = json.loads((tmp_path / "a.json").read_text())
    data["categories"] = [{"id": 1, "name": "square"}, {"id": 2, "name": "circle"}]
    data["annotations"][0]["category_id"] = 2  # one circle
    (tmp_path / "a.json").write_text(json.dumps(data))
    plain = load_dataset(str(tmp_path / "a.json"), "coco", None, str(tmp_path))
    model = ["BG", "circle", "square"]
    ordered = load_dataset(str(tmp_path / "a.json"), "coco", None, str(tmp_path),
                           model_classes=model)
    assert ordered.class_names == model and plain.class_names != model

    def names(dataset):
        return sorted(dataset.class_names[c] for i in dataset.image_ids
                      for c in dataset.load_mask(i)[1])
    assert names(ordered) == names(plain) == ["circle"] + ["square"] * (
        len(data["annotations"]) - 1)
    other = load_dataset(str(tmp_path / "a.json"), "coco", None, str(tmp_path),
                         model_classes=["BG", "circle", "triangle"])
    assert other.class_names == plain.class_names
