"""`maskrcnn detect`: options reach detect_folder; errors are exit statuses, not raised."""
import json
import os

import pandas as pd
import pytest

from maskrcnn.cli import build_parser

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_cli_detect_writes_the_files(trained_tiny, image_folder, tmp_path, capsys):
    parser = build_parser()
    output = tmp_path / "cli"
    args = parser.parse_args(["detect", "--weights", trained_tiny[1], "--input",
                              str(image_folder / "a_color.png"), str(image_folder / "*.jpg"),
                              "--output", str(output), "--min-confidence", "0.01",
                              "--classes", "circle,square", "--batch", "3", "--device", "cpu"])
    assert args.func(args) == 0
    df = pd.read_csv(output / "images.csv")
    assert len(df) == 4 and (df["status"] == "ok").sum() == 3
    assert "triangle_count" not in df and "circle_count" in df
    coco = json.loads((output / "detections.json").read_text())
    records = coco["annotations"]
    assert all(r["category_id"] in (1, 2) and r["score"] >= 0.01 for r in records)
    assert sorted(i["file_name"] for i in coco["images"]) == sorted(
        df.loc[df["status"] == "ok", "file"].map(os.path.basename))
    summary = pd.read_csv(output / "summary.csv", index_col="class")
    assert list(summary.index) == ["circle", "square", "any object"]
    assert "images_with_class" in summary and "mean_share_images_with_class" in summary
    captured = capsys.readouterr()
    assert "images/s" in captured.out and "g_broken.jpg" in captured.out + captured.err


def test_class_names_differing_from_the_checkpoints_are_refused(trained_tiny, image_folder,
                                                                 tmp_path, capsys):
    """A checkpoint carries its class names: --class-names must not relabel them."""
    _, checkpoint = trained_tiny
    parser = build_parser()
    image = str(image_folder / "a_color.png")
    args = parser.parse_args(["detect", "--weights", checkpoint, "--input", image, "--output",
                              str(tmp_path / "relabel"), "--class-names",
                              "square,dog,triangle", "--device", "cpu"])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "class 2: 'circle' in the model, 'dog' given" in err and "square" in err
    assert not (tmp_path / "relabel" / "images.csv").exists()
    args = parser.parse_args(["detect", "--weights", checkpoint, "--input", image, "--output",
                              str(tmp_path / "same"), "--class-names",
                              "square,circle,triangle", "--device", "cpu"])
    assert args.func(args) == 0


@pytest.mark.parametrize("fmt", ["via", "labelme"])
def test_detect_writes_annotations_the_readers_take_back(fmt, trained_tiny, image_folder,
                                                         tmp_path):
    """--annotations: the kept detections as a VIA project / LabelMe files, whose polygons
    rasterise back to the RLE masks of detections.json (pycocotools), with their classes."""
    import numpy as np
    from pycocotools import mask as mask_utils
    from scipy import ndimage

    from maskrcnn.data.layout import open_dataset
    from maskrcnn.data.readers.via import load_via

    output = tmp_path / fmt
    args = build_parser().parse_args([
        "detect", "--weights", trained_tiny[1], "--input", str(image_folder / "*.png"),
        "--output", str(output), "--min-confidence", "0.01", "--device", "cpu",
        "--annotations", fmt])
    assert args.func(args) == 0
    coco = json.loads((output / "detections.json").read_text())
    assert coco["annotations"], "the tiny model should detect something at 0.01"
    if fmt == "via":
        back = load_via(str(output / "annotations" / "via_project.json"), str(image_folder),
                        class_attribute="class")
    else:
        back = open_dataset(str(output / "annotations"), "labelme", images=str(image_folder))
    by_name = {os.path.basename(info["path"]): i for i, info in enumerate(back.image_info)}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    # which detections must come back and which may: a mask holding a solid 4 x 4 block has
    # a part of at least 16 px with a proper outline; one with no 8-connected part of
    # MIN_AREA px has nothing left once fragments are dropped (re-derived with scikit-image)
    from skimage.measure import label

    from maskrcnn.data.polygons import MIN_AREA
    written = must = may = 0
    for image in coco["images"]:
        found = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        if not found:
            continue
        masks, class_ids = back.load_mask(by_name[image["file_name"]])
        detected = [mask_utils.decode(a["segmentation"]).astype(bool) for a in found]
        image_must = sum(bool(ndimage.binary_erosion(m, np.ones((4, 4))).any()) for m in detected)
        image_may = sum(bool((np.bincount(label(m, connectivity=2).ravel())[1:] >= MIN_AREA).any())
                        for m in detected)
        assert image_must <= masks.shape[-1] <= image_may, image["file_name"]
        # what the polygons can hold of each detection: its 8-connected parts of MIN_AREA
        # px or more (re-derived with scikit-image)
        kept = []
        for m in detected:
            parts = label(m, connectivity=2)
            sizes = np.bincount(parts.ravel())
            kept.append(np.isin(parts, np.flatnonzero(sizes >= MIN_AREA)) & m)
        for k in range(masks.shape[-1]):
            ious = [(masks[..., k] & m).sum() / max((masks[..., k] | m).sum(), 1) for m in kept]
            best = int(np.argmax(ious))
            # the tiny model's masks are ragged blobs of a few to a few hundred pixels: this
            # checks the wiring (which detection, which class); tests/data/test_writers.py
            # the polygons' accuracy (IoU >= 0.95). Outlines of blobs of a few dozen pixels
            # rasterise loosely, so the IoU is asked of the larger ones only.
            assert ious[best] > 0
            if masks[..., k].sum() >= 100:
                assert ious[best] >= 0.4, (image["file_name"], k, ious[best])
            assert back.class_names[class_ids[k]] == names[found[best]["category_id"]]
        written += masks.shape[-1]
        must += image_must
        may += image_may
    print(f"{written} written; {must} had to be, {may} could be, of {len(coco['annotations'])}")
    assert written >= 1
