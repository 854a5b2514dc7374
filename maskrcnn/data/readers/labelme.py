"""LabelMe JSON: one file per image, as the LabelMe annotation tool saves it.

A file holds ``imagePath`` (relative to the JSON's folder), ``imageHeight``, ``imageWidth``,
optionally ``imageData`` (the image itself, base64; not read: the image file is) and
``shapes``: each with ``label``, ``points`` (``[[x, y], ...]`` in pixels), ``shape_type``
(``polygon``, the default; ``rectangle``: two corners; ``circle``: the centre and a point on
the circle; ``mask``: a base64 PNG of the box given by two ``points``) and ``group_id``:
shapes with one label and one ``group_id`` are parts of one instance. Shapes without area
(``point``, ``line``, ``linestrip``, ``points``) are left out and counted in ``skipped``.

LabelMe's own conventions (its ``labels.txt``, labelme2voc, labelme2coco): a shape labelled
``__ignore__`` is a region to ignore, read as a crowd region of every class (negative class
ids: left out of the training losses and of evaluation, as COCO's ``iscrowd``);
``_background_`` is the background, not a class (its shapes are counted in ``skipped``).

Polygons and rectangles are rasterised with pycocotools, like COCO's; a circle becomes a
polygon of many vertices (within a small fraction of a pixel of the circle).
"""
from __future__ import annotations

import base64
import binascii
import io
import math
import os

import numpy as np
from PIL import Image, UnidentifiedImageError
from pycocotools import mask as mask_utils

from ...errors import DatasetError
from ..files import (
    SplitSource,
    every_split,
    folder_split_name,
    json_files,
    json_format,
    load_json,
    register_image_file,
)
from ..instances import (
    BACKGROUND,
    IGNORE,
    Instance,
    InstanceDataset,
    check_wanted,
    clip_polygon,
    decode_instance,
    fill_dataset,
    number,
)
from ..problems import ItemError

#: Shape types without area: left out and counted.
NO_AREA = ("point", "points", "line", "linestrip")


def is_labelme(data) -> bool:
    """Whether parsed JSON looks like a LabelMe file."""
    return json_format(data) == "labelme"


def labelme_files(path) -> list[str]:
    """The LabelMe JSON files of ``path``: the file itself, or a folder's ``*.json``."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: no such file or folder")
    return json_files(path)


def _holds_labelme(folder: str) -> bool:
    files = labelme_files(folder)
    if not files:
        return False
    try:
        return is_labelme(load_json(files[0]))
    except DatasetError:
        return False


def splits(path) -> dict[str, SplitSource]:
    """The splits ``path`` offers, {split: SplitSource(file or folder of LabelMe JSONs, None)}
    (images: where each file's ``imagePath`` says). A folder of LabelMe JSONs is one split,
    named after the folder; a folder whose sub-folders hold them has one split per
    sub-folder. One file names no split: it is read whatever split is asked
    (:func:`~maskrcnn.data.files.every_split`)."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return every_split(path)
    if _holds_labelme(path):
        return {folder_split_name(path): SplitSource(path, None)}
    found = {}
    for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
        folder = os.path.join(path, name)
        if not name.startswith(".") and os.path.isdir(folder) and _holds_labelme(folder):
            found[name] = SplitSource(folder, None)
    if not found:
        raise DatasetError(f"{path}: no LabelMe JSON files (with 'shapes' and 'imagePath') here "
                           "or in its sub-folders")
    return found


def load(split_source: SplitSource, **options) -> InstanceDataset:
    """Read one split :func:`splits` listed (or ``SplitSource(path, None)``: a file or
    folder as it is); ``options`` go to :func:`load_labelme`."""
    return load_labelme(split_source.annotations, split_source.images, **options)


def _points(shape) -> list[float]:
    points = shape.get("points")
    if not isinstance(points, list):
        raise ItemError("'points' must be a list of [x, y]")
    flat = []
    for p in points:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ItemError(f"a point must be [x, y], got {p!r:.40}")
        flat += [number(p[0], "a point's x"), number(p[1], "a point's y")]
    return flat


def circle_polygon(cx: float, cy: float, r: float) -> list[float]:
    """A circle as a flat polygon, its vertices about every 2 pixels of arc (16 to 720)."""
    n = int(min(max(math.ceil(math.pi * r), 16), 720))
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1).ravel().tolist()


def _mask_shape(shape, flat, width: int, height: int) -> dict:
    """RLE of a ``mask`` shape: a base64 PNG placed at the box's top-left point."""
    if len(flat) != 4:
        raise ItemError("a mask shape needs two points (its box)")
    try:
        data = base64.b64decode(shape.get("mask") or "", validate=True)
        with Image.open(io.BytesIO(data)) as img:
            patch = np.asarray(img.convert("L")) > 0
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError, TypeError) as err:
        raise ItemError(f"'mask' is not a base64 PNG ({err})") from None
    x0, y0 = int(round(min(flat[0], flat[2]))), int(round(min(flat[1], flat[3])))
    full = np.zeros((height, width), dtype=np.uint8)
    ys, xs = slice(max(y0, 0), max(min(y0 + patch.shape[0], height), 0)), slice(
        max(x0, 0), max(min(x0 + patch.shape[1], width), 0))
    full[ys, xs] = patch[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return mask_utils.encode(np.asfortranarray(full))


def shape_geometry(shape, width: int, height: int):
    """(kind, one polygon or an RLE, points outside) of a LabelMe shape with area; None for
    shape types without area (:data:`NO_AREA`)."""
    shape_type = shape.get("shape_type") or "polygon"
    if shape_type in NO_AREA:
        return None
    flat = _points(shape)
    if shape_type == "polygon":
        polygon, outside = clip_polygon(flat, width, height)
        if polygon is None:
            raise ItemError(f"polygon has {len(flat) // 2} points; a region needs at least 3")
        return "polygon", polygon, outside
    if shape_type == "rectangle":
        if len(flat) != 4:
            raise ItemError(f"a rectangle needs two points (corners), got {len(flat) // 2}")
        x0, x1 = sorted(flat[0::2])
        y0, y1 = sorted(flat[1::2])
        if x1 <= x0 or y1 <= y0:
            raise ItemError(f"rectangle has no area ({x1 - x0} x {y1 - y0})")
        polygon, outside = clip_polygon([x0, y0, x1, y0, x1, y1, x0, y1], width, height)
        return "polygon", polygon, outside
    if shape_type == "circle":
        if len(flat) != 4:
            raise ItemError(f"a circle needs two points (centre, edge), got {len(flat) // 2}")
        r = math.hypot(flat[2] - flat[0], flat[3] - flat[1])
        if r <= 0:
            raise ItemError("circle has no area (radius 0)")
        polygon, outside = clip_polygon(circle_polygon(flat[0], flat[1], r), width, height)
        return "polygon", polygon, min(outside, 1)
    if shape_type == "mask":
        return "rle", _mask_shape(shape, flat, width, height), 0
    raise ItemError(f"unknown shape_type {shape_type!r}; expected polygon, rectangle, circle, "
                    f"mask (or {', '.join(NO_AREA)}, which have no area)")


def _instance(parts: list, width: int, height: int):
    """(kind, data) of a group of (kind, data) parts: polygons stay polygons; with a mask
    among them, the union becomes one RLE."""
    if all(kind == "polygon" for kind, _ in parts):
        return "polygon", [data for _, data in parts]
    union = np.zeros((height, width), dtype=bool)
    for kind, data in parts:
        part = Instance("", False, kind, [data] if kind == "polygon" else data, "")
        union |= decode_instance(part, height, width)
    return "rle", mask_utils.encode(np.asfortranarray(union.astype(np.uint8)))


def _image_file(data, json_path: str, root: str, image_dir: str | None) -> str:
    image_path = data.get("imagePath")
    if not isinstance(image_path, str) or not image_path:
        raise ItemError("no 'imagePath'; LabelMe files name their image there")
    image_path = image_path.replace("\\", "/")
    if image_dir is not None:
        return os.path.basename(image_path)
    folder = os.path.relpath(os.path.dirname(os.path.abspath(json_path)), os.path.abspath(root))
    name = os.path.normpath(os.path.join(folder, image_path)).replace(os.sep, "/")
    if name.startswith("../"):
        raise ItemError(f"imagePath {image_path!r} lies outside {root}; pass the image folder "
                        "(image_dir=, --images) to find the images there by name")
    return name


def _check_size(data, width: int, height: int) -> None:
    for key, actual in (("imageWidth", width), ("imageHeight", height)):
        value = data.get(key)
        if value is not None and number(value, key) != actual:
            raise ItemError(f"{key} is {value} but the image file is {width}x{height}; the "
                            "annotation was drawn on another version of the image (resized or "
                            "rotated?); annotate the file that is there, or put that one back")


def load_labelme(path, image_dir=None, *, class_names=None, strict: bool = True,
                 source: str = "labelme", max_image_pixels: int | None = None) -> InstanceDataset:
    """Read LabelMe JSON files (``path``: one file, or a folder of them) into a prepared
    InstanceDataset.

    Images are found by each file's ``imagePath``, relative to the JSON's folder and inside
    ``path`` (a folder) or the JSON's folder; with ``image_dir``, by the base name of
    ``imagePath`` in ``image_dir``. The size is read from the image file (EXIF applied, as
    LabelMe shows it) and must match ``imageWidth`` / ``imageHeight``. ``class_names``: keep
    only these labels, in this order (shapes of other labels are counted in ``skipped``);
    default: every label found, sorted. Image ids are the image paths relative to the folder.
    """
    path = os.fspath(path)
    files = labelme_files(path)
    if image_dir is not None:
        root = os.fspath(image_dir)
    else:
        root = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    wanted = None if class_names is None else list(class_names)
    dataset = InstanceDataset(strict)
    problems = dataset.problems
    images, seen, labels = [], set(), set()
    for json_path in files:
        data = load_json(json_path)
        item = f"image of {os.path.basename(json_path)}"
        try:
            if not is_labelme(data):
                raise ItemError("not a LabelMe file: no 'shapes' and 'imagePath' keys")
            if not isinstance(data["shapes"], list):
                raise ItemError("'shapes' must be a list")
            file_name = _image_file(data, json_path, root, image_dir)
            item = f"image {file_name!r}"
            image_path, width, height = register_image_file(root, file_name, seen,
                                                            max_image_pixels)
            _check_size(data, width, height)
        except ItemError as err:
            problems.error(json_path, item, str(err))
            continue
        groups: dict = {}
        for k, shape in enumerate(data["shapes"]):
            shape_item = f"{item}, shape {k}"
            try:
                if not isinstance(shape, dict):
                    raise ItemError("a shape must be an object with 'label' and 'points'")
                label = shape.get("label")
                if not isinstance(label, str) or not label.strip():
                    raise ItemError("shape has no 'label'")
                label = label.strip()
                shape_item += f" ({label!r})"
                labels.add(label)
                if label == BACKGROUND:
                    dataset.skip(f"{BACKGROUND} shapes (background, not a class)")
                    continue
                group = shape.get("group_id")
                if group is not None and (isinstance(group, bool)
                                          or not isinstance(group, (int, str))):
                    raise ItemError(f"group_id must be a number, got {group!r:.30}")
                if wanted is not None and label not in wanted and label != IGNORE:
                    dataset.skip("shapes of other classes")
                    continue
                geometry = shape_geometry(shape, width, height)
            except ItemError as err:
                problems.error(json_path, shape_item, str(err))
                continue
            if geometry is None:
                dataset.skip("shapes without area (point, line, linestrip)")
                continue
            kind, shape_data, outside = geometry
            if outside:
                problems.warning(json_path, shape_item, f"{outside} point(s) outside the "
                                 f"{width}x{height} image; the mask is clipped to the image")
            key = (label, k) if group is None else (label, "group", str(group))
            if key not in groups:
                groups[key] = (shape_item if group is None
                               else f"{item}, group {group} ({label!r})", [])
            groups[key][1].append((kind, shape_data))
        found = [(key[0], *_instance(parts, width, height), group_item)
                 for key, (group_item, parts) in groups.items()]
        images.append({"id": file_name, "file_name": file_name, "path": image_path,
                       "width": width, "height": height, "found": found,
                       "labelme_file": json_path})
    if wanted is not None:
        check_wanted(path, wanted, labels - {IGNORE, BACKGROUND}, "shape is labelled")
    return fill_dataset(dataset, images, wanted, source, path, max_image_pixels)
