"""detect_folder: mixed image files, shares, COCO JSON, resume, safety, class names."""
import json
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from maskrcnn.errors import ConfigError
from maskrcnn.inference import detect_folder, list_images

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_run_completes_and_counts_the_corrupt_file(first_run, image_folder):
    df, output = first_run
    assert isinstance(df, pd.DataFrame) and len(df) == 7  # notes.txt is not an image
    broken = df[df["status"] != "ok"]
    assert list(broken["file"].map(os.path.basename)) == ["g_broken.jpg"]
    assert "g_broken.jpg" in broken["error"].iloc[0]
    assert df.attrs["unreadable"] == 1 and df.attrs["processed"] == 7
    ok = df[df["status"] == "ok"]
    for path in ok["annotated"]:
        assert (output / path).is_file()
    exif = ok[ok["file"].str.endswith("f_exif.jpg")].iloc[0]
    assert (exif["height"], exif["width"]) == (48, 64)  # orientation applied
    with Image.open(output / exif["annotated"]) as picture:
        assert picture.size == (64, 48)
    csv = pd.read_csv(output / "images.csv")
    assert len(csv) == 7 and {"square_count", "circle_share", "any_object_share"} <= set(csv)
    summary = pd.read_csv(output / "summary.csv", index_col="class")
    assert list(summary.columns) == ["images_with_class", "instances", "mean_share_all_images",
                                     "mean_share_images_with_class", "max_share"]
    for name in ("square", "circle", "triangle"):
        present = ok[f"{name}_count"] > 0
        assert summary.loc[name, "images_with_class"] == present.sum()
        assert summary.loc[name, "mean_share_all_images"] == pytest.approx(
            ok[f"{name}_share"].mean())
        if present.any():
            assert summary.loc[name, "mean_share_images_with_class"] == pytest.approx(
                ok.loc[present, f"{name}_share"].mean())


def test_detections_json_names_each_image(first_run):
    df, output = first_run
    coco = json.loads((output / "detections.json").read_text())
    ok = df[df["status"] == "ok"]
    assert [(i["id"], i["path"], i["height"], i["width"]) for i in coco["images"]] == [
        (r.image_id, r.file, r.height, r.width) for r in ok.itertuples()]
    assert [i["file_name"] for i in coco["images"]] == list(ok["file"].map(os.path.basename))
    assert {a["image_id"] for a in coco["annotations"]} <= {i["id"] for i in coco["images"]}
    assert coco["categories"] == [{"id": 1, "name": "square"}, {"id": 2, "name": "circle"},
                                  {"id": 3, "name": "triangle"}]


def test_shares_match_the_coco_json_masks(first_run):
    df, output = first_run
    records = json.loads((output / "detections.json").read_text())["annotations"]
    assert records, "the barely trained model at threshold 0 should detect something"
    names = ["square", "circle", "triangle"]
    for _, row in df[df["status"] == "ok"].iterrows():
        mine = [r for r in records if r["image_id"] == row["image_id"]]
        assert row["instances"] == len(mine)
        h, w = int(row["height"]), int(row["width"])
        union_all = np.zeros((h, w), bool)
        for class_id, name in enumerate(names, start=1):
            union = np.zeros((h, w), bool)
            for r in mine:
                assert r["segmentation"]["size"] == [h, w]
                if r["category_id"] == class_id:
                    union |= mask_utils.decode(r["segmentation"]).astype(bool)
            union_all |= union
            assert row[f"{name}_count"] == sum(r["category_id"] == class_id for r in mine)
            assert 0 <= row[f"{name}_share"] <= 1
            assert row[f"{name}_share"] == pytest.approx(union.mean(), abs=1e-12)
        assert row["any_object_share"] == pytest.approx(union_all.mean(), abs=1e-12)
    masks = list((output / "masks").rglob("*.png"))
    assert len(masks) == len(records)


def test_resume_skips_done_images(first_run, trained_tiny, image_folder):
    df, output = first_run
    before = (output / "detections.json").read_text()
    again = detect_folder(trained_tiny[1], image_folder, output, save_masks=True, resume=True,
                          progress=False)
    assert again.attrs["resumed"] == 6
    assert again.attrs["processed"] == 1  # only the unreadable file is tried again
    assert (output / "detections.json").read_text() == before
    pd.testing.assert_frame_equal(again.drop(columns="error"), df.drop(columns="error"))
    with pytest.raises(ConfigError, match="other settings"):
        detect_folder(trained_tiny[1], image_folder, output, resume=True, progress=False)


def test_outputs_never_overwrite_inputs(trained_tiny, image_folder, tmp_path):
    model, checkpoint = trained_tiny
    with pytest.raises(ConfigError, match="input folder"):
        detect_folder(model, image_folder, image_folder, progress=False)
    inside = tmp_path / "out" / "annotated"
    inside.mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(inside / "x.jpg")
    with pytest.raises(ConfigError, match="inside the output folder"):
        detect_folder(model, inside / "x.jpg", tmp_path / "out", progress=False)
    # A glob that reaches into the output folder leaves the outputs out of the inputs.
    assert list_images(str(tmp_path / "**" / "*.jpg"), exclude_dir=tmp_path / "out") == []
    # An output subfolder linked to the input folder: the write is refused, the input kept.
    source, linked = tmp_path / "src", tmp_path / "linked"
    source.mkdir()
    (linked).mkdir()
    (linked / "annotated").symlink_to(source, target_is_directory=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(source / "y.jpg")
    original = (source / "y.jpg").read_bytes()
    with pytest.raises(ConfigError, match="refusing to write"):
        detect_folder(model, source, linked, progress=False)
    assert (source / "y.jpg").read_bytes() == original


def test_weights_without_config_take_config_and_class_names(trained_tiny, image_folder,
                                                            tmp_path):
    """The matterport .h5 path: config JSON and class names given beside the weights."""
    import shutil

    import h5py
    model, checkpoint = trained_tiny
    checkpoint = shutil.copy(checkpoint, tmp_path / "no_names.h5")
    with h5py.File(checkpoint, "a") as f:  # as a matterport file: no config, no class names
        del f.attrs["class_names"], f.attrs["maskrcnn_config"]
    config_path = tmp_path / "config.json"
    config_path.write_text(model.config.to_json())
    df = detect_folder(checkpoint, image_folder / "a_color.png", tmp_path / "out",
                       config=str(config_path), class_names=["red", "green", "blue"],
                       progress=False)
    assert {"red_count", "green_share", "blue_count"} <= set(df.columns)
    with pytest.raises(ConfigError, match="class names"):
        detect_folder(checkpoint, image_folder / "a_color.png", tmp_path / "out2",
                      config=str(config_path), class_names=["red"], progress=False)


def test_class_names_differing_from_the_checkpoints_are_refused(trained_tiny, image_folder,
                                                                 tmp_path):
    """A checkpoint carries its class names: class_names= must not relabel them (the same
    through ``maskrcnn detect --class-names``: tests/cli/test_detect.py)."""
    _, checkpoint = trained_tiny
    image = str(image_folder / "a_color.png")
    with pytest.raises(ConfigError,
                       match=r"2 names given, the model has 3 \(background left out\)"):
        detect_folder(checkpoint, image, tmp_path / "short", progress=False,
                      class_names=["square", "circle"])
    df = detect_folder(checkpoint, image, tmp_path / "same_bg", progress=False,
                       class_names=["BG", "square", "circle", "triangle"])
    assert {"square_count", "circle_count", "triangle_count"} <= set(df.columns)
