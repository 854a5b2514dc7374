"""Reading images from disk and normalising arrays to RGB uint8."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DatasetError


def to_rgb_uint8(image: np.ndarray, source: str = "image") -> np.ndarray:
    """Any (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array -> (H, W, 3) uint8.

    Integer images wider than 8 bits are scaled by their dtype's range (16-bit PNGs: / 257);
    float images are taken as 0..1 when their maximum is at most 1, else as 0..255. The alpha
    channel of RGBA images is dropped.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise DatasetError(f"{source}: expected an (H, W), (H, W, 3) or (H, W, 4) image, "
                           f"got shape {image.shape}")
    image = image[..., :3]
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise DatasetError(f"{source}: image is empty (shape {image.shape})")
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        top = info.max if image.max(initial=0) > 255 else 255
        return np.clip(image.astype(np.float64) * (255.0 / top), 0, 255).round().astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise DatasetError(f"{source}: image has NaN or infinite values")
        scale = 255.0 if image.max(initial=0) <= 1.0 else 1.0
        return np.clip(image * scale, 0, 255).round().astype(np.uint8)
    raise DatasetError(f"{source}: unsupported image dtype {image.dtype}")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, with its EXIF orientation applied.

    Grayscale, RGBA, palette and 16-bit files are converted. A missing or unreadable file
    raises DatasetError naming it.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: image file not found")
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif img.mode in ("1", "L", "LA", "CMYK", "YCbCr", "HSV"):
                img = img.convert("RGB")
            elif img.mode in ("I;16", "I;16B", "I;16L"):
                img = img.convert("I")
            array = np.asarray(img)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DatasetError(f"{path}: cannot read image ({err})") from None
    if array.dtype == np.int32:  # 16-bit grayscale read through mode "I"
        array = np.clip(array, 0, 65535).astype(np.uint16)
    return to_rgb_uint8(array, source=path)
