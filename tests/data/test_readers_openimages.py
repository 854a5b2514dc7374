"""Open Images reader: segmentation CSV, mask PNGs (loose and in shard zips), selection."""
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskrcnn.data.readers.openimages import (
    load_openimages,
    read_class_descriptions,
    select_images,
)
from maskrcnn.errors import DatasetError

from .fuzz_checks import FUZZ_EXAMPLES, NASTY_NAMES, read_and_check

HEADER = ("MaskPath,ImageID,LabelName,BoxID,BoxXMin,BoxXMax,BoxYMin,BoxYMax,PredictedIoU,"
          "Clicks\n")
CAT, DOG, CAR = "/m/01yrx", "/m/0bt9lr", "/m/0k4j"
IMAGES = {"0a1b2c3d4e5f6789": (64, 48), "f00d00000000e1e1": (40, 40), "1e50000000000000": (32, 32)}


def mask_png(path, size, box):
    """A binary mask PNG of ``size`` (w, h), 255 inside ``box`` (x0, y0, x1, y1)."""
    m = np.zeros((size[1], size[0]), dtype=np.uint8)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 255
    Image.fromarray(m).save(path)


def write_openimages(tmp_path, rows=None, header=True, shard=False):
    """Images, masks (at a different resolution than the images) and the two CSVs."""
    for image_id, size in IMAGES.items():
        Image.new("RGB", size, (1, 2, 3)).save(tmp_path / f"{image_id}.jpg")
    masks = tmp_path / "masks"
    masks.mkdir(exist_ok=True)
    rows = rows if rows is not None else [
        ("0a1b2c3d4e5f6789_m01yrx_aa.png", "0a1b2c3d4e5f6789", CAT, (128, 96), (0, 0, 64, 48)),
        ("0a1b2c3d4e5f6789_m0bt9lr_bb.png", "0a1b2c3d4e5f6789", DOG, (128, 96), (64, 48, 128, 96)),
        ("f00d00000000e1e1_m01yrx_cc.png", "f00d00000000e1e1", CAT, (20, 20), (0, 0, 10, 20)),
        ("1e50000000000000_m0k4j_dd.png", "1e50000000000000", CAR, (32, 32), (0, 0, 8, 8))]
    lines = []
    for name, image_id, mid, size, box in rows:
        mask_png(masks / name, size, box)
        lines.append(f"{name},{image_id},{mid},bb,0.1,0.5,0.2,0.6,0.9,\"0.1 0.2;0.3 0.4\"\n")
    if shard:  # move the masks into <subset>-masks-<c>.zip shards
        for png in sorted(masks.glob("*.png")):
            with zipfile.ZipFile(masks / f"train-masks-{png.name[0]}.zip", "a") as z:
                z.write(png, png.name)
            png.unlink()
    (tmp_path / "train-annotations-object-segmentation.csv").write_text(HEADER + "".join(lines))
    descriptions = f"{CAT},Cat\n{DOG},Dog\n{CAR},Car\n"
    if header:
        descriptions = "LabelName,DisplayName\n" + descriptions
    (tmp_path / "class-descriptions-boxable.csv").write_text(descriptions)
    return tmp_path / "train-annotations-object-segmentation.csv"


@pytest.mark.parametrize("shard", [False, True])
def test_reads_masks_resized_to_the_image(tmp_path, shard):
    csv = write_openimages(tmp_path, shard=shard)
    ds = load_openimages(csv)
    assert ds.class_names == ["BG", "Car", "Cat", "Dog"]
    assert [info["id"] for info in ds.image_info] == list(IMAGES)  # strings, "1e5..." too
    image, masks, class_ids = ds.load_image_and_masks(0)
    assert masks.shape == (48, 64, 2) and class_ids.tolist() == [2, 3]
    assert masks[..., 0][:24, :32].all() and masks[..., 0].sum() == 32 * 24
    assert masks[..., 1][24:, 32:].all() and masks[..., 1].sum() == 32 * 24
    _, masks, _ = ds.load_image_and_masks(1)
    assert masks.shape == (40, 40, 1) and masks[..., 0].sum() == 20 * 40
    assert ds.image_info[0]["boxes"][0]["PredictedIoU"] == "0.9"


def test_class_filter_and_descriptions_without_header(tmp_path):
    csv = write_openimages(tmp_path, header=False)
    assert read_class_descriptions(tmp_path / "class-descriptions-boxable.csv")[CAT] == "Cat"
    ds = load_openimages(csv, class_names=["dog", "Cat"])
    assert ds.class_names == ["BG", "Dog", "Cat"]
    assert len(ds.image_info) == 2 and ds.skipped == {"masks of other classes": 1}
    with pytest.raises(DatasetError, match="no class named 'Cats'.*did you mean"):
        load_openimages(csv, class_names=["Cats"])


def test_selection_lists_images_and_shards(tmp_path):
    csv = write_openimages(tmp_path)
    selection = select_images(csv, tmp_path / "class-descriptions-boxable.csv", ["Cat", "Car"],
                              images_per_class=1, seed=3)
    assert len(selection.image_ids) == 2 and "1e50000000000000" in selection.image_ids
    assert set(selection.rows["LabelName"]) <= {CAT, CAR}
    assert selection.image_files == [f"train/{i}" for i in selection.image_ids]
    assert selection.mask_shards == sorted({f"train-masks-{i[0]}.zip"
                                            for i in selection.image_ids})
    selection.write_image_list(tmp_path / "list.txt")
    assert (tmp_path / "list.txt").read_text().splitlines() == selection.image_files
    selection.write_csv(tmp_path / "sel.csv")
    ds = load_openimages(tmp_path / "sel.csv")
    assert {info["id"] for info in ds.image_info} == set(selection.image_ids)


def test_missing_files_and_unknown_classes(tmp_path):
    rows = [("0a1b2c3d4e5f6789_m01yrx_aa.png", "0a1b2c3d4e5f6789", CAT, (8, 8), (0, 0, 4, 4))]
    csv = write_openimages(tmp_path, rows=rows)
    with open(csv, "a") as f:
        f.write("nomask.png,0a1b2c3d4e5f6789,/m/01yrx,bb,0,1,0,1,1,\n")
        f.write("x.png,ffff000000000000,/m/01yrx,bb,0,1,0,1,1,\n")
        f.write("y.png,0a1b2c3d4e5f6789,/m/zzz,bb,0,1,0,1,1,\n")
    with pytest.raises(DatasetError, match=r"line 3 .*mask not found"):
        load_openimages(csv)
    ds = load_openimages(csv, strict=False)
    messages = [p.message for p in ds.problems]
    assert any("image file not found" in m for m in messages)
    assert any("unknown category '/m/zzz'" in m for m in messages)
    assert [p.item.split(" ")[1] for p in ds.problems] == ["3", "4", "5"]


def test_bad_csv(tmp_path):
    (tmp_path / "s.csv").write_text("ImageID,LabelName\nabc,/m/1\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['MaskPath'\]"):
        load_openimages(tmp_path / "s.csv")
    (tmp_path / "s.csv").write_text("")
    with pytest.raises(DatasetError, match="malformed CSV"):
        load_openimages(tmp_path / "s.csv")


def test_corrupt_mask_png(tmp_path):
    csv = write_openimages(tmp_path)
    (tmp_path / "masks" / "f00d00000000e1e1_m01yrx_cc.png").write_bytes(b"garbage")
    ds = load_openimages(csv)
    with pytest.raises(DatasetError, match="cannot read mask f00d"):
        ds.load_mask(1)


CELLS = st.text(alphabet="0a1bf/m_.png,\"\n", max_size=12) | NASTY_NAMES | st.sampled_from(
    [*IMAGES, CAT, DOG, "0a1b2c3d4e5f6789_m01yrx_aa.png", "1e308", "-1e308", "inf", "nan",
     "1" * 400])
FUZZ = {"lines": st.lists(st.lists(CELLS, min_size=0, max_size=11), max_size=4),
        "header": st.booleans()}


def fuzz_openimages(tmp_path, lines, header):
    csv = write_openimages(tmp_path)
    body = "".join(",".join(cells) + "\n" for cells in lines)
    csv.write_text((HEADER if header else "") + body, encoding="utf-8", errors="surrogatepass")
    read_and_check(lambda strict: load_openimages(csv, strict=strict))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**FUZZ)
def test_fuzz_only_dataset_errors(tmp_path, lines, header):
    """Only DatasetError escapes, with NUL/control characters and extremes in the cells."""
    fuzz_openimages(tmp_path, lines, header)


def test_nul_in_image_id_and_pixel_limit(tmp_path):
    """Issue 14 cases 2 and 3 (Open Images)."""
    csv = write_openimages(tmp_path)
    text = csv.read_text().replace("0a1b2c3d4e5f6789,", "0a1b\x00,", 1)
    csv.write_text(text)
    with pytest.raises(DatasetError, match=r"line 2 \(image '0a1b\\x00'.*NUL character"):
        load_openimages(csv)
    ds = load_openimages(write_openimages(tmp_path), max_image_pixels=2000)
    with pytest.raises(DatasetError, match="image is 64x48 = 3,072 pixels, over the limit"):
        ds.load_image_and_masks(0)
