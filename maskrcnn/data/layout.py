"""The folder layouts users have, and the one entry point that reads any format.

Layouts recognised by :func:`find_layout` (``split`` is train, val, test...):

* COCO / MVTec D2S: ``ROOT/annotations/instances_<split>*.json`` (or any ``*.json`` there,
  e.g. ``D2S_training.json``) with images in ``ROOT/<split>*/`` or ``ROOT/images/``; or per
  split ``ROOT/<split>/annotations/*.json`` with images in ``ROOT/<split>/`` or
  ``ROOT/<split>/images/``.
* VIA (matterport's balloon, the Colab zip): ``ROOT/<split>/via_region_data.json`` (or one
  other ``*.json``) beside the images. A zip holding this (possibly under one top folder) is
  extracted next to it first (once: a marker records a complete extraction, and one killed
  half-way is redone; see :func:`maskrcnn.data.files.safe_extract_zip`). The split folder
  itself (``ROOT/<split>``, holding the JSON beside the images) is a layout of one split,
  named after the folder. The files ``maskrcnn split`` writes, ``NAME.<split>.json``
  beside the images, are the splits of their folder (COCO or VIA alike).
* One annotation file provides the split its name or folder says (``val/x.json``: val; a
  file of no split: train), or, beside the parts ``maskrcnn split`` wrote from it, those
  parts (see :func:`maskrcnn.data.files.file_splits`); any other split is an error.
* LabelMe and YOLO (:func:`labelme_yolo_layout`): ``ROOT/<split>/*.json`` beside the images,
  or the folder of JSONs itself; a YOLO ``data.yaml`` naming image folders, or ``images/``
  and ``labels/`` (with one sub-folder per split, or none).

:func:`open_dataset` hands a file or folder to the reader of its format
(:mod:`maskrcnn.data.readers`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import DatasetError
from .files import (  # noqa: F401  (load_json, safe_extract_zip...: their old home, kept)
    EXTRACTED_MARKER,
    extraction_complete,
    file_splits,
    guess_image_dir,
    load_json,
    safe_extract_zip,
    split_name,
    split_parts,
)
from .readers.bdd import load_bdd, load_bdd_bitmasks
from .readers.coco import load_coco
from .readers.labelme import labelme_splits, load_labelme
from .readers.openimages import load_openimages
from .readers.via import load_via
from .readers.yolo import load_yolo, yolo_splits

FORMATS = ("coco", "via", "bdd", "openimages", "labelme", "yolo")


@dataclass
class DatasetLayout:
    """A recognised folder: its ``format`` and per split (annotation file, image folder)."""

    root: str
    format: str
    splits: dict = field(default_factory=dict)
    #: the splits are files ``maskrcnn split`` wrote (COCO or VIA, whichever was split)
    split_files: bool = False

    def __str__(self) -> str:
        lines = [f"{self.format} dataset in {self.root}:"]
        lines += [f"  {s}: {a} (images in {i})" for s, (a, i) in self.splits.items()]
        return "\n".join(lines)



def _json_files(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.lower().endswith(".json") and not f.startswith("."))


def _via_file(folder: str) -> str | None:
    """The VIA annotation file of a split folder: via_region_data.json, or its one JSON."""
    files = _json_files(folder)
    preferred = [f for f in files if os.path.basename(f) == "via_region_data.json"]
    return (preferred or files)[0] if preferred or len(files) == 1 else None


def find_layout(path) -> DatasetLayout:
    """Recognise a dataset folder (or a zip, extracted beside it); DatasetError if neither
    layout of the module docstring is found, saying what was looked for."""
    path = os.fspath(path)
    if os.path.isfile(path) and path.lower().endswith(".zip"):
        target = os.path.splitext(path)[0]
        if not extraction_complete(path, target):
            safe_extract_zip(path, target)
        path = target
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: no such folder")
    entries = [e for e in os.listdir(path) if not e.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and os.path.isdir(os.path.join(path, entries[0])):
        try:
            return find_layout(os.path.join(path, entries[0]))
        except DatasetError:
            pass
    splits = {}
    for file in _json_files(os.path.join(path, "annotations")):
        splits[split_name(os.path.basename(file))] = (file, guess_image_dir(file))
    if splits:
        return DatasetLayout(path, "coco", splits)
    via = {}
    for split in sorted(entries):
        folder = os.path.join(path, split)
        for file in _json_files(os.path.join(folder, "annotations")):
            images = os.path.join(folder, "images")
            splits[split] = (file, images if os.path.isdir(images) else folder)
            break
        if _via_file(folder):
            via[split] = (_via_file(folder), folder)
    if splits:
        return DatasetLayout(path, "coco", splits)
    if via:
        return DatasetLayout(path, "via", via)
    parts = next(filter(None, map(split_parts, _json_files(path))), None)
    if parts:  # the files `maskrcnn split` wrote, beside the images
        return DatasetLayout(path, "via", {s: (f, path) for s, f in parts.items()}, True)
    if _via_file(path):  # a split folder itself (matterport's dataset/train)
        return DatasetLayout(path, "via", {split_name(os.path.basename(os.path.abspath(path))):
                                           (_via_file(path), path)})
    raise DatasetError(
        f"{path}: not a dataset folder this package knows. Expected either "
        "annotations/instances_<split>.json (COCO, D2S) with images in <split>/ or images/, "
        "<split>/annotations/*.json, or <split>/via_region_data.json beside the images (VIA); "
        f"found {sorted(entries)[:10]}")


def labelme_yolo_layout(path, format: str) -> DatasetLayout:
    """The splits of a LabelMe folder (``ROOT/<split>/*.json`` beside the images, or the
    split folder itself) or of a YOLO dataset (``data.yaml`` naming image folders, or
    ``images/[<split>/]`` with ``labels/[<split>/]``): ``{split: (annotations, images)}``,
    the annotations being the LabelMe folder or the YOLO labels folder."""
    if format == "labelme":
        return DatasetLayout(os.fspath(path), "labelme", {
            s: (folder, folder) for s, folder in labelme_splits(path).items()})
    if format == "yolo":
        return DatasetLayout(os.fspath(path), "yolo", yolo_splits(path)[1])
    raise DatasetError(f"{format!r} is not labelme or yolo")


def open_dataset(path, format: str, images=None, split: str | None = None,
                 strict: bool = True, **options):
    """Read ``path`` (an annotation file, or a folder/zip in a known layout) with the reader
    of ``format`` (coco, via, bdd, openimages, labelme, yolo). ``images``: the image folder
    when it is not the default. ``split`` picks one split of a folder (default: train, else
    the first) or of a COCO or VIA file (default: the file as it is; see
    :func:`maskrcnn.data.files.file_splits`). For ``bdd``, a folder is read as bitmask
    PNGs; for ``labelme`` and ``yolo`` see :func:`labelme_yolo_layout` (for ``yolo`` with
    ``images``, ``path`` is the labels folder). ``options`` go to the reader."""
    if format not in FORMATS:
        raise DatasetError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    path = os.fspath(path)
    if format in ("coco", "via") and (os.path.isdir(path) or path.lower().endswith(".zip")):
        layout = find_layout(path)
        if layout.format != format and not layout.split_files:
            raise DatasetError(f"{path}: looks like a {layout.format} dataset, not {format}")
        split = split or ("train" if "train" in layout.splits else next(iter(layout.splits)))
        if split not in layout.splits:
            raise DatasetError(f"{path}: no split {split!r}; found {sorted(layout.splits)}")
        path, default_images = layout.splits[split]
        images = images or default_images
    elif format in ("coco", "via") and split is not None:
        splits = file_splits(path)
        if split not in splits:
            raise DatasetError(
                f"{path}: no split {split!r} in this file (it provides "
                f"{', '.join(sorted(splits))}); make train and val files from it with "
                f"`maskrcnn split {path}` and pass one of them, or a folder with {split}/")
        path = splits[split]
    if format == "coco":
        return load_coco(path, images, strict=strict, **options)
    if format == "via":
        return load_via(path, images, strict=strict, **options)
    if format == "labelme":
        if os.path.isdir(path):
            splits = labelme_splits(path)
            split = split or ("train" if "train" in splits else next(iter(splits)))
            if split not in splits:
                raise DatasetError(f"{path}: no split {split!r}; found {sorted(splits)}")
            path = splits[split]
        return load_labelme(path, images, strict=strict, **options)
    if format == "yolo":  # with images, path is the labels folder
        return load_yolo(path, images, split=None if images else split, strict=strict,
                         **options)
    if format == "bdd":
        if os.path.isdir(path):
            if images is None:
                raise DatasetError(f"{path}: BDD100K bitmasks need the image folder (images=)")
            return load_bdd_bitmasks(path, images, strict=strict, **options)
        return load_bdd(path, images, strict=strict, **options)
    return load_openimages(path, images, strict=strict, **options)

