import numpy as np
import pytest
from PIL import Image

from maskrcnn.data.dataset import Dataset, image_path_in_root
from maskrcnn.data.image_io import read_image
from maskrcnn.data.shapes import ShapesDataset
from maskrcnn.errors import DatasetError


class Handmade(Dataset):
    def __init__(self, masks, class_ids, ids=("a1b2c3",)):
        super().__init__()
        self.add_class("hand", 1, "cat")
        self.add_class("hand", 2, "dog,canine")
        for image_id in ids:
            self.add_image("hand", image_id, None, masks=masks, class_ids=class_ids, note="x")
        self.prepare()

    def load_image(self, image_id):
        h, w = self.image_info[image_id]["masks"].shape[:2]
        return np.zeros((h, w, 3), dtype=np.uint8)

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        return info["masks"], info["class_ids"]


def test_matterport_surface_and_string_ids():
    masks = np.zeros((10, 12, 2), dtype=bool)
    masks[2:5, 2:5, 0] = masks[6:9, 6:9, 1] = True
    ds = Handmade(masks, np.array([1, 2]), ids=("img-001", "f00d"))
    assert ds.num_classes == 3 and ds.class_names == ["BG", "cat", "dog"]
    assert list(ds.image_ids) == [0, 1]
    assert ds.image_info[1]["id"] == "f00d" and ds.image_info[1]["note"] == "x"
    assert ds.map_source_class_id("hand.2") == 2
    assert ds.get_source_class_id(2, "hand") == 2
    image, m, ids = ds.load_image_and_masks(1)
    assert image.shape == (10, 12, 3) and m.dtype == bool and ids.dtype == np.int32


def test_mask_count_not_matching_class_ids_names_the_image():
    ds = Handmade(np.zeros((8, 8, 2), dtype=bool), np.array([1]), ids=("photo_7",))
    with pytest.raises(DatasetError, match="hand:photo_7.*2 masks but 1 class ids"):
        ds.load_image_and_masks(0)


def test_class_id_out_of_range_is_reported():
    ds = Handmade(np.ones((8, 8, 1), dtype=bool), np.array([7]))
    with pytest.raises(DatasetError, match="class id 7"):
        ds.load_image_and_masks(0)


def test_unprepared_dataset_says_to_prepare():
    ds = Dataset()
    ds.add_class("x", 1, "thing")
    with pytest.raises(DatasetError, match="prepare"):
        ds.load_image_and_masks(0)


@pytest.mark.parametrize("mode,array", [
    ("L", np.full((6, 7), 100, np.uint8)),
    ("RGBA", np.full((6, 7, 4), 100, np.uint8)),
    ("I;16", np.full((6, 7), 65535, np.uint16)),
])
def test_read_image_always_gives_rgb_uint8(tmp_path, mode, array):
    path = tmp_path / f"img_{mode.replace(';', '')}.png"
    Image.fromarray(array).save(path)  # uint16 gray -> a 16-bit PNG
    image = read_image(path)
    assert image.shape == (6, 7, 3) and image.dtype == np.uint8
    assert image.max() in (100, 255)


def test_read_palette_image(tmp_path):
    img = Image.fromarray(np.arange(42, dtype=np.uint8).reshape(6, 7), mode="L").convert("P")
    img.save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (6, 7, 3)


def test_missing_and_corrupt_images_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        read_image(tmp_path / "nope.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(DatasetError, match="bad.jpg"):
        read_image(bad)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(np.zeros((4, 10, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert read_image(tmp_path / "rot.jpg").shape == (10, 4, 3)


def test_paths_escaping_the_root_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="outside"):
        image_path_in_root(str(tmp_path), "../etc/passwd")


def test_shapes_dataset_is_seeded_and_consistent():
    a, b = ShapesDataset(4, 64, 80, seed=5), ShapesDataset(4, 64, 80, seed=5)
    for i in a.image_ids:
        ia, ma, ca = a.load_image_and_masks(i)
        ib, mb, cb = b.load_image_and_masks(i)
        assert np.array_equal(ia, ib) and np.array_equal(ma, mb) and np.array_equal(ca, cb)
        assert ia.shape == (64, 80, 3) and ma.shape[:2] == (64, 80)
        assert ma.reshape(-1, ma.shape[-1]).any(axis=0).all()  # every instance visible
    assert a.class_names == ["BG", "square", "circle", "triangle"]


def test_readers_are_importable_from_the_data_package():
    import maskrcnn.data as data
    from maskrcnn.data import bdd, coco, openimages, via

    assert data.load_coco is coco.load_coco and data.load_via is via.load_via
    assert data.load_bdd is bdd.load_bdd and data.load_openimages is openimages.load_openimages
    for name in data.__all__:
        assert callable(getattr(data, name)), name
    with pytest.raises(AttributeError, match="load_pascal"):
        data.load_pascal


def test_read_image_pixel_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    """Issue 14 case 2: an image over the limit is refused from its header with DatasetError
    saying how to raise the limit; PIL's own (global) limit neither decides nor changes."""
    import PIL.Image

    from maskrcnn.data import image_io

    Image.new("RGB", (40, 30)).save(tmp_path / "big.png")
    decoded = []
    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load",
                        lambda self, real=PIL.ImageFile.ImageFile.load: decoded.append(1)
                        or real(self))
    with pytest.raises(DatasetError, match=r"big.png: image is 40x30 = 1,200 pixels, over the "
                                           r"limit of 1,000 .*max_pixels= of read_image"):
        read_image(tmp_path / "big.png", max_pixels=1000)
    assert not decoded
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(DatasetError, match="over the limit of 1,000"):
        read_image(tmp_path / "big.png")
    assert read_image(tmp_path / "big.png", max_pixels=1200).shape == (30, 40, 3)
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", None)  # None: no limit
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 100)  # PIL would call this a bomb
    assert read_image(tmp_path / "big.png").shape == (30, 40, 3)
    assert PIL.Image.MAX_IMAGE_PIXELS == 100


@pytest.mark.parametrize("name, message", [("a\x00.jpg", "NUL character"),
                                           ("\udcff\ud800", "cannot be encoded")])
def test_impossible_file_names_are_refused(tmp_path, name, message):
    with pytest.raises(DatasetError, match=message):
        image_path_in_root(str(tmp_path), name)
