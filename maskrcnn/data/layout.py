"""Which reader a dataset path is for, and the one entry point that reads any format.

Each reader (:mod:`maskrcnn.data.readers`) has one way to list the splits a path offers,
``splits(path) -> {split: source}``, where the layouts it knows are described, and one way
to read one, ``load(source, **options)``. This module only finds the reader and
asks it:

* a ``.zip`` is read as the folder it is extracted into, beside it (once: a marker records a
  complete extraction, and one killed half-way is redone; see
  :func:`maskrcnn.data.archives.safe_extract_zip`); a folder that holds only one folder (a
  zip's top folder) is looked into first;
* :func:`dataset_layout`: the splits the reader of a format lists for a path;
  :func:`find_layout`: which of the COCO and VIA readers a folder is for;
* :func:`open_dataset`: picks the split asked for (default: train, else the first; a file
  read without a split is read as it is) and has the reader load it. A split that a path
  cannot provide is an error naming the splits it has.
"""
from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field

from ..errors import DatasetError
from .archives import (  # noqa: F401  (safe_extract_zip...: their old home, kept)
    EXTRACTED_MARKER,
    dataset_folders,
    extraction_complete,
    safe_extract_zip,
)
from .files import (  # noqa: F401  (load_json: its old home, kept)
    EVERY_SPLIT,
    SplitSource,
    load_json,
    pick_split,
    visible_entries,
)
from .readers import bdd, coco, labelme, openimages, via, yolo

#: The reader of each format: a module with ``splits(path)`` and ``load(source, **options)``.
READERS = {"coco": coco, "via": via, "bdd": bdd, "openimages": openimages,
           "labelme": labelme, "yolo": yolo}
FORMATS = tuple(READERS)
#: The formats :func:`find_layout` recognises a folder of, in the order it asks them.
FOLDER_FORMATS = ("coco", "via")
#: The formats of the files ``maskrcnn split`` cuts into ``NAME.<split>.json`` parts.
CUT_FORMATS = ("coco", "via")


@dataclass
class DatasetLayout:
    """A dataset path as its reader lists it: the folder (``root``), the ``format`` and per
    split where it lies (``splits``: {split: source}, a
    :class:`~maskrcnn.data.files.SplitSource` (annotations, images) or the reader's own)."""

    root: str
    format: str
    splits: dict = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.format} dataset in {self.root}:"]
        lines += [f"  {split}: {source[0]} (images in {source[1] or 'the default folder'})"
                  for split, source in self.splits.items()]
        return "\n".join(lines)


def _reader(format: str):
    if format not in READERS:
        raise DatasetError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    return READERS[format]


def _first_listed(folders: list[str], formats: tuple) -> DatasetLayout:
    """The layout of the first of ``folders`` (innermost first: see
    :func:`maskrcnn.data.archives.dataset_folders`) for which the reader of one of ``formats``
    (asked in this order) lists splits; in the inner folders only splits with names count.
    DatasetError of the last reader asked when none does."""
    for folder in folders[:-1]:
        for format in formats:
            with suppress(DatasetError):
                splits = READERS[format].splits(folder)
                if EVERY_SPLIT not in splits:
                    return DatasetLayout(folder, format, splits)
    path = folders[-1]
    for format in formats[:-1]:
        with suppress(DatasetError):
            return DatasetLayout(path, format, READERS[format].splits(path))
    return DatasetLayout(path, formats[-1], READERS[formats[-1]].splits(path))


def _folder_layout(folders: list[str]) -> DatasetLayout:
    """The COCO or VIA layout of a folder (see :func:`find_layout`)."""
    path = folders[-1]
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: no such folder")
    try:
        return _first_listed(folders, FOLDER_FORMATS)
    except DatasetError:
        raise DatasetError(
            f"{path}: not a dataset folder this package knows. Expected either "
            "annotations/instances_<split>.json (COCO, D2S) with images in <split>/ or "
            "images/, <split>/annotations/*.json, or <split>/via_region_data.json beside the "
            f"images (VIA); found {visible_entries(path)[:10]}") from None


def find_layout(path) -> DatasetLayout:
    """Which reader a dataset folder (or zip, extracted beside it) is for: the first of the
    COCO and VIA readers whose ``splits`` lists any (:func:`maskrcnn.data.readers.coco.splits`,
    :func:`maskrcnn.data.readers.via.splits`), in the one folder it holds first;
    DatasetError saying what was looked for when neither does."""
    return _folder_layout(dataset_folders(path))


def _listed(folders: list[str], format: str, shown) -> DatasetLayout:
    """The layout the reader of ``format`` lists for ``folders`` (see :func:`_first_listed`);
    for a COCO or VIA folder it does not know, DatasetError naming ``shown`` (the path as
    given) and the format it looks like instead."""
    try:
        return _first_listed(folders, (format,))
    except DatasetError:
        if format not in FOLDER_FORMATS or not os.path.isdir(folders[-1]):
            raise
        other = _folder_layout(folders).format  # or DatasetError: a folder no reader knows
        raise DatasetError(f"{shown}: looks like a {other} dataset, not {format}") from None


def dataset_layout(path, format: str) -> DatasetLayout:
    """The splits the reader of ``format`` lists for ``path`` (a file, a folder or a zip; in
    the one folder it holds first). DatasetError when it lists none; for a COCO or VIA
    folder, saying which of the two it looks like instead, or what was looked for."""
    _reader(format)
    return _listed(dataset_folders(path), format, path)


def labelme_yolo_layout(path, format: str) -> DatasetLayout:
    """The splits of a LabelMe or YOLO dataset (see :func:`maskrcnn.data.readers.labelme.splits`
    and :func:`maskrcnn.data.readers.yolo.splits`)."""
    if format not in ("labelme", "yolo"):
        raise DatasetError(f"{format!r} is not labelme or yolo")
    return dataset_layout(path, format)


def open_dataset(path, format: str, images=None, split: str | None = None,
                 strict: bool = True, **options):
    """Read ``path`` (an annotation file, or a folder/zip in a layout its reader knows) with
    the reader of ``format`` (coco, via, bdd, openimages, labelme, yolo). ``images``: the
    image folder when it is not the default (for ``yolo`` given a labels folder, the images;
    for a ``bdd`` bitmask folder, required). ``split`` picks one of the splits the reader
    lists (:func:`dataset_layout`; default: train, else the first); without it a file is read
    as it is. A COCO or VIA file provides its own split or the parts ``maskrcnn split`` wrote
    from it (:func:`maskrcnn.data.files.file_splits`); any other split is an error. A file of
    the other formats names no split and is read for any. ``options`` go to the reader."""
    reader = _reader(format)
    folders = dataset_folders(path)
    where = folders[-1]  # a zip: the folder it was extracted into
    if split is None and not os.path.isdir(where):
        source = SplitSource(where, None)  # a file as it is
    else:
        source = pick_split(path, _listed(folders, format, path).splits, split,
                            cut_hint=format in CUT_FORMATS and not os.path.isdir(where))
    if images is not None:
        source = source._replace(images=os.fspath(images))
    return reader.load(source, strict=strict, **options)
