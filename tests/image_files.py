"""A folder of mixed image files for the detection tests (tests/inference, tests/cli)."""
import numpy as np
from PIL import Image

from maskrcnn.data import ShapesDataset


def write_mixed_images(folder):
    """png, jpg, grayscale, RGBA, 16-bit PNG, EXIF-rotated JPEG, a corrupt file and a text
    file into ``folder``; returns it."""
    shapes = ShapesDataset(4, 64, 64, seed=5)
    rgb = [shapes.load_image(i) for i in range(4)]
    Image.fromarray(rgb[0]).save(folder / "a_color.png")
    Image.fromarray(rgb[1]).save(folder / "b_color.jpg", quality=95)
    Image.fromarray(rgb[2]).convert("L").save(folder / "c_gray.png")
    alpha = np.full((64, 64), 200, np.uint8)
    Image.fromarray(np.dstack([rgb[3], alpha])).save(folder / "d_rgba.png")
    deep = (rgb[0][..., 0].astype(np.uint16) * 257)
    Image.fromarray(deep).save(folder / "e_16bit.png")
    rotated = Image.fromarray(rgb[1][:, :48])  # 64 x 48 stored; orientation 6 shows 48 x 64
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated.save(folder / "f_exif.jpg", exif=exif.tobytes())
    (folder / "g_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder
