"""Reading images from disk and normalising arrays to RGB uint8."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DatasetError

#: Largest image (width x height, in pixels) read by default: PIL's own decompression-bomb
#: error threshold (about 13,377 x 13,377). Larger files are refused from their header, before
#: anything is decoded. Raise it per call (``max_pixels=`` of :func:`read_image`,
#: ``max_image_pixels=`` of the readers) or for the whole session by assigning this name;
#: ``None`` turns the check off.
MAX_IMAGE_PIXELS: int | None = 178_956_970

_PIL_LIMIT_LOCK = threading.Lock()
_OPEN_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError)


def shown(name: str) -> str:
    """A file name as messages print it: quoted with escapes when it holds NUL or other
    control characters (which would otherwise vanish or garble the terminal)."""
    return name if name.isprintable() else repr(name)


def pixel_limit(max_pixels: int | None = None) -> int | None:
    """The limit in force: ``max_pixels`` if given, else the module's MAX_IMAGE_PIXELS."""
    return MAX_IMAGE_PIXELS if max_pixels is None else max_pixels


def check_image_pixels(source: str, width: int, height: int,
                       max_pixels: int | None = None) -> None:
    """DatasetError naming ``source`` when ``width * height`` is over the pixel limit."""
    limit = pixel_limit(max_pixels)
    if limit is not None and width * height > limit:
        raise DatasetError(
            f"{shown(source)}: image is {width}x{height} = {width * height:,} pixels, over "
            f"the limit of {limit:,} pixels (a guard against decompression bombs); refused before "
            "decoding. If the file is genuine, raise the limit: max_image_pixels= of the "
            "reader, max_pixels= of read_image, or maskrcnn.data.image_io.MAX_IMAGE_PIXELS")


def _pil_open(path: str):
    try:
        return Image.open(path)
    except Image.DecompressionBombError:
        # Over PIL's own limit, which is global: lift it for this one open (our own limit,
        # checked by the caller, is the one in force).
        with _PIL_LIMIT_LOCK:
            saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                return Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved


@contextmanager
def open_image(path, max_pixels: int | None = None):
    """A PIL image with only its header read; DatasetError naming ``path`` when it is
    missing, unreadable or over the pixel limit (:data:`MAX_IMAGE_PIXELS`)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"{shown(path)}: image file not found")
    try:
        img = _pil_open(path)
    except _OPEN_ERRORS as err:
        raise DatasetError(f"{shown(path)}: cannot read image ({err})") from None
    with img:
        check_image_pixels(path, img.size[0], img.size[1], max_pixels)
        yield img


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


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, with its EXIF orientation applied.

    Grayscale, RGBA, palette and 16-bit files are converted. A missing or unreadable file,
    or one over ``max_pixels`` (default :data:`MAX_IMAGE_PIXELS`; checked from the header,
    before decoding), raises DatasetError naming it.
    """
    path = os.fspath(path)
    with open_image(path, max_pixels) as img:
        try:
            # In place: without it, an image needing no turn is copied (4 bytes a pixel).
            ImageOps.exif_transpose(img, in_place=True)
            if img.mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif img.mode in ("1", "L", "LA", "CMYK", "YCbCr", "HSV"):
                img = img.convert("RGB")
            elif img.mode in ("I;16", "I;16B", "I;16L"):
                img = img.convert("I")
            array = np.asarray(img)
        except _OPEN_ERRORS as err:
            raise DatasetError(f"{path}: cannot read image ({err})") from None
    if array.dtype == np.int32:  # 16-bit grayscale read through mode "I"
        array = np.clip(array, 0, 65535).astype(np.uint16)
    return to_rgb_uint8(array, source=path)
