"""VGG Image Annotator (VIA) JSON: 1.x exports, 2.x exports and VIA 2 project files.

A VIA JSON maps a key (file name + size) to ``{"filename", "size", "regions",
"file_attributes"}``. ``regions`` is a dict in VIA 1.x and a list in VIA 2.x; a VIA 2 project
file (saved with "Save project") nests the same mapping under ``_via_img_metadata``. Each
region has ``shape_attributes`` (``name``: polygon / polyline with ``all_points_x`` and
``all_points_y``; rect with ``x, y, width, height``; circle with ``cx, cy, r``; ellipse with
``cx, cy, rx, ry`` and, in 2.x, ``theta`` in radians) and ``region_attributes``.

Polygons, closed polylines and rectangles are rasterised with pycocotools (the same rule as
COCO, so conversion to COCO JSON keeps them exactly); circles and ellipses with scikit-image.
"""
from __future__ import annotations

import os

from ...errors import DatasetError
from ..files import (
    SplitSource,
    file_splits,
    folder_parts,
    folder_split_name,
    json_files,
    json_format,
    load_json,
    register_image_file,
    visible_entries,
)
from ..instances import InstanceDataset, clip_polygon, fill_dataset, number
from ..problems import ItemError

_NAMES = {"coco": "COCO (images, annotations)", "labelme": "a LabelMe file (shapes, imagePath)"}


def _entries(data, path: str) -> list:
    """The (key, entry) pairs of a VIA 1.x/2.x export or VIA 2 project file."""
    other = json_format(data)
    if other in ("coco", "labelme"):
        raise DatasetError(f"{path}: this looks like {_NAMES[other]}, not VIA: use --format "
                           f"{other}")
    if isinstance(data, dict) and "_via_img_metadata" in data:
        data = data["_via_img_metadata"]
    elif isinstance(data, dict) and {"project", "file", "metadata"} <= set(data):
        raise DatasetError(f"{path}: this is a VIA 3 project; export the annotations from VIA 2 "
                           "(Annotation > Export as JSON) or convert them to COCO")
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: a VIA file must hold a JSON object mapping image keys to "
                           f"entries, got a {type(data).__name__}")
    return list(data.items())


def _regions(entry) -> list:
    regions = entry.get("regions")
    if regions is None:
        raise ItemError("entry has no 'regions' key (is this a VIA file?)")
    if isinstance(regions, dict):  # VIA 1.x: {"0": region, "1": region, ...}
        return list(regions.values())
    if isinstance(regions, list):  # VIA 2.x
        return regions
    raise ItemError(f"'regions' must be a list or a dict, got {type(regions).__name__}")


def region_class(attributes, class_attribute, default_class):
    """Class name of a region from ``region_attributes[class_attribute]``: a string (text,
    dropdown, radio) or a checkbox dict with exactly one checked option."""
    value = None
    if class_attribute is not None:
        if not isinstance(attributes, dict):
            raise ItemError("'region_attributes' must be an object")
        value = attributes.get(class_attribute)
    if isinstance(value, dict):  # checkbox: {"option": true, ...}
        checked = [k for k, v in value.items() if v]
        if len(checked) > 1:
            raise ItemError(f"region attribute {class_attribute!r} has several options checked "
                            f"({checked}); a region needs one class")
        value = checked[0] if checked else None
    if isinstance(value, str):
        value = value.strip() or None
    if value is None:
        if default_class is None:
            raise ItemError(f"region has no class: attribute {class_attribute!r} is missing or "
                            "empty (pass default_class= to use one class for such regions)")
        return default_class
    if not isinstance(value, str):
        raise ItemError(f"region attribute {class_attribute!r} must be text, a dropdown/radio "
                        f"or a checkbox, got {value!r:.40}")
    return value


def region_shape(shape, width: int, height: int):
    """(kind, data, points outside) of a VIA ``shape_attributes`` dict, clipped to the image."""
    if not isinstance(shape, dict) or not isinstance(shape.get("name"), str):
        raise ItemError("'shape_attributes' must be an object with a 'name'")
    name = shape["name"]

    def get(key):
        if key not in shape:
            raise ItemError(f"{name} has no {key!r} key")
        return number(shape[key], f"{name} {key!r}")

    if name in ("polygon", "polyline"):
        xs, ys = shape.get("all_points_x"), shape.get("all_points_y")
        if not isinstance(xs, list) or not isinstance(ys, list):
            raise ItemError(f"{name} needs lists 'all_points_x' and 'all_points_y'")
        if len(xs) != len(ys):
            raise ItemError(f"{name} has {len(xs)} x but {len(ys)} y coordinates")
        flat, outside = clip_polygon([v for xy in zip(xs, ys) for v in xy], width, height)
        if flat is None:
            raise ItemError(f"{name} has {len(xs)} points; a region needs at least 3")
        return "polygon", [flat], outside
    if name == "rect":
        x, y, w, h = get("x"), get("y"), get("width"), get("height")
        if w <= 0 or h <= 0:
            raise ItemError(f"rect has no area (width {w}, height {h})")
        flat, outside = clip_polygon([x, y, x + w, y, x + w, y + h, x, y + h], width, height)
        return "polygon", [flat], outside
    if name in ("circle", "ellipse"):
        cx, cy = get("cx"), get("cy")
        if name == "circle":
            rx = ry = get("r")
            theta = 0.0
        else:
            rx, ry = get("rx"), get("ry")
            theta = number(shape.get("theta", 0.0), "ellipse 'theta'")
        if rx <= 0 or ry <= 0:
            raise ItemError(f"{name} has no area (radii {rx}, {ry})")
        r = max(rx, ry)
        outside = int(cx - r < 0 or cy - r < 0 or cx + r > width or cy + r > height)
        return "ellipse", (cx, cy, rx, ry, theta), outside
    if name == "point":
        raise ItemError("a point region has no area; use a polygon, rect, circle or ellipse")
    raise ItemError(f"unknown region shape {name!r}")


def load_via(annotation_file, image_dir=None, *, class_attribute: str | None = None,
             default_class: str | None = None, class_names=None, strict: bool = True,
             source: str = "via", max_image_pixels: int | None = None) -> InstanceDataset:
    """Read a VIA 1.x/2.x export or VIA 2 project file into a prepared InstanceDataset.

    ``image_dir``: folder of the images (default: the JSON's folder). ``class_attribute``: the
    region attribute holding the class name; without it every region gets ``default_class``
    (default ``"object"``: a one-class set such as balloons). With ``class_attribute``, a
    region without that attribute is an error naming the file, image and region, unless
    ``default_class`` is given explicitly (then such regions get it). ``class_names``: the
    classes in order (others are errors); default: the names found, sorted. Image ids are the
    file names; the image size is read from the file (EXIF orientation applied, as VIA's
    browser displays it). ``max_image_pixels``: images larger than this (width x height,
    default ``image_io.MAX_IMAGE_PIXELS``) are errors, refused before decoding.
    """
    path = os.fspath(annotation_file)
    image_dir = os.fspath(image_dir) if image_dir is not None else os.path.dirname(
        os.path.abspath(path))
    if class_attribute is None and default_class is None:
        default_class = "object"
    dataset = InstanceDataset(strict)
    problems = dataset.problems
    images, seen = [], set()
    for key, entry in _entries(load_json(path), path):
        item = f"image {key!r}"
        try:
            if not isinstance(entry, dict):
                raise ItemError("entry must be an object with 'filename' and 'regions'")
            file_name = entry.get("filename")
            if not isinstance(file_name, str) or not file_name:
                raise ItemError("entry has no 'filename'")
            item = f"image {file_name!r}"
            regions = _regions(entry)
            image_path, width, height = register_image_file(image_dir, file_name, seen,
                                                            max_image_pixels)
        except ItemError as err:
            problems.error(path, item, str(err))
            continue
        found = []
        for k, region in enumerate(regions):
            region_item = f"{item}, region {k}"
            try:
                if not isinstance(region, dict):
                    raise ItemError("region must be an object with 'shape_attributes'")
                name = region_class(region.get("region_attributes", {}), class_attribute,
                                    default_class)
                if class_names is not None and name not in class_names:
                    raise ItemError(f"unknown category {name!r}; expected one of "
                                    f"{list(class_names)}")
                kind, data, outside = region_shape(region.get("shape_attributes"), width,
                                                   height)
            except ItemError as err:
                problems.error(path, region_item, str(err))
                continue
            if outside:
                problems.warning(path, region_item, f"{outside} point(s) outside the "
                                 f"{width}x{height} image; the mask is clipped to the image")
            found.append((name, kind, data, region_item))
        images.append({"id": file_name, "via_key": key, "file_name": file_name,
                       "path": image_path, "width": width, "height": height, "found": found,
                       "file_attributes": entry.get("file_attributes", {})})
    return fill_dataset(dataset, images, class_names, source, path, max_image_pixels)


def via_file(folder: str) -> str | None:
    """The VIA annotation file of a split folder: ``via_region_data.json``, else its only
    JSON; None when it has neither."""
    files = json_files(folder)
    preferred = [f for f in files if os.path.basename(f) == "via_region_data.json"]
    return (preferred or files)[0] if preferred or len(files) == 1 else None


def splits(path) -> dict[str, SplitSource]:
    """The splits ``path`` offers, {split: SplitSource(annotation file, image folder)}.

    A file: its own split, or the parts ``maskrcnn split`` wrote from it
    (:func:`maskrcnn.data.files.file_splits`). A folder (matterport's balloon, the Colab
    zip): ``<split>/via_region_data.json`` (or one other JSON) beside the images; else the
    ``NAME.<split>.json`` parts beside the images; else the folder is itself one split
    (``balloon/train``, its JSON beside the images), named after it. DatasetError for any
    other folder."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return file_splits(path)
    found = {}
    for split in visible_entries(path):
        file = via_file(os.path.join(path, split))
        if file:
            found[split] = SplitSource(file, os.path.join(path, split))
    found = found or folder_parts(path)
    if not found and via_file(path):
        found = {folder_split_name(path): SplitSource(via_file(path), path)}
    if not found:
        raise DatasetError(f"{path}: not a VIA dataset folder: expected "
                           "<split>/via_region_data.json beside the images, or that file "
                           "(or one other JSON) in this folder")
    return found


def load(split_source: SplitSource, **options) -> InstanceDataset:
    """Read one split :func:`splits` listed (or ``SplitSource(path, None)``: a file as it is);
    ``options`` go to :func:`load_via`."""
    return load_via(split_source.annotations, split_source.images, **options)
