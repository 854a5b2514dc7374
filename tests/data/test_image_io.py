"""maskrcnn.data.image_io: reading any image file as RGB uint8."""
import numpy as np
import pytest
from PIL import Image

from maskrcnn.data.image_io import read_image
from maskrcnn.errors import DatasetError

GRADIENT_8 = np.arange(42, dtype=np.uint8).reshape(6, 7) * 6
GRADIENT_16 = np.linspace(0, 65535, 42).round().astype(np.uint16).reshape(6, 7)
RGBA = np.random.default_rng(0).integers(0, 256, (6, 7, 4)).astype(np.uint8)


@pytest.mark.parametrize("name, array, expected", [
    ("gray8", GRADIENT_8, np.stack([GRADIENT_8] * 3, axis=-1)),
    ("rgba", RGBA, RGBA[..., :3]),
    # 16-bit: scaled by the dtype's range, 0..65535 -> 0..255 (v * 255 / 65535, rounded)
    ("gray16", GRADIENT_16,
     np.stack([(GRADIENT_16 * (255 / 65535)).round().astype(np.uint8)] * 3, axis=-1)),
    # 16-bit whose values all fit in 8 bits: kept as they are, not darkened 257 times
    ("gray16_low", GRADIENT_8.astype(np.uint16), np.stack([GRADIENT_8] * 3, axis=-1)),
])
def test_read_image_always_gives_rgb_uint8(tmp_path, name, array, expected):
    path = tmp_path / f"{name}.png"
    Image.fromarray(array).save(path)  # uint16 gray -> a 16-bit PNG
    if array.dtype == np.uint16:
        with Image.open(path) as img:
            assert img.mode.startswith("I")  # really a 16-bit file
    image = read_image(path)
    assert image.shape == (6, 7, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, expected)


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
