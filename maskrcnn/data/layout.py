"""Files on disk: JSON with useful errors, safe zip extraction, and the folder layouts users have.

Layouts recognised by :func:`find_layout` (``split`` is train, val, test...):

* COCO / MVTec D2S: ``ROOT/annotations/instances_<split>*.json`` (or any ``*.json`` there,
  e.g. ``D2S_training.json``) with images in ``ROOT/<split>*/`` or ``ROOT/images/``; or per
  split ``ROOT/<split>/annotations/*.json`` with images in ``ROOT/<split>/`` or
  ``ROOT/<split>/images/``.
* VIA (matterport's balloon, the Colab zip): ``ROOT/<split>/via_region_data.json`` (or one
  other ``*.json``) beside the images. A zip holding this (possibly under one top folder) is
  extracted next to it first (once: a marker records a complete extraction, and one killed
  half-way is redone).
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field

from ..errors import DatasetError

FORMATS = ("coco", "via", "bdd", "openimages")


def load_json(path) -> object:
    """Parse a JSON file; malformed JSON raises DatasetError with the file, line and column."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: annotation file not found")
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8-sig"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: line {err.lineno}, column {err.colno}: malformed JSON "
                           f"({err.msg})") from None
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except RecursionError:
        raise DatasetError(f"{path}: JSON nested too deeply") from None
    except ValueError as err:  # an integer literal of more digits than Python converts
        raise DatasetError(f"{path}: unusable JSON number ({err}); fix the file") from None


#: Written into a folder once a zip is fully extracted there; without it (a run killed
#: half-way) the extraction is redone.
EXTRACTED_MARKER = ".maskrcnn-extracted.json"


def _zip_stamp(zip_path: str) -> dict:
    stat = os.stat(zip_path)
    return {"zip": os.path.basename(zip_path), "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns}


def extraction_complete(zip_path, target_dir) -> bool:
    """Whether ``target_dir`` holds a finished extraction of this very zip (same name, size
    and modification time), as :func:`safe_extract_zip` marks it."""
    marker = os.path.join(os.fspath(target_dir), EXTRACTED_MARKER)
    try:
        with open(marker, encoding="utf-8") as f:
            return json.load(f) == _zip_stamp(os.fspath(zip_path))
    except (OSError, ValueError):
        return False


def safe_extract_zip(zip_path, target_dir) -> str:
    """Extract a zip into ``target_dir``; refuses (before writing anything) members with an
    absolute path, a drive, ``..`` escaping the target, or a symlink. Returns ``target_dir``.

    A new folder is filled under the name ``<target_dir>.partial`` and renamed when complete,
    so a run killed half-way never leaves a ``target_dir`` that looks finished; an existing
    folder is extracted into again. Either way a marker file (:data:`EXTRACTED_MARKER`) is
    written last; :func:`extraction_complete` checks it, and a folder that already holds a
    complete extraction of this zip is left as it is."""
    zip_path, target_dir = os.fspath(zip_path), os.fspath(target_dir)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DatasetError(f"{zip_path}: not a readable zip file ({err})") from None
    with archive:
        if extraction_complete(zip_path, target_dir):
            return target_dir
        fresh = not os.path.exists(target_dir)
        work = target_dir.rstrip("/\\") + ".partial" if fresh else target_dir
        work_real = os.path.realpath(work)
        for member in archive.infolist():
            name = member.filename
            mode = member.external_attr >> 16
            if (name.startswith(("/", "\\")) or ":" in name.split("/")[0]
                    or (mode & 0o170000) == 0o120000):
                raise DatasetError(f"{zip_path}: member {name!r} is an absolute path, a drive "
                                   "or a link; refusing to extract")
            dest = os.path.realpath(os.path.join(work_real, name.replace("\\", "/")))
            if os.path.commonpath([work_real, dest]) != work_real:
                raise DatasetError(f"{zip_path}: member {name!r} would be written outside "
                                   f"{target_dir}; refusing to extract")
        try:
            if fresh and os.path.exists(work):
                shutil.rmtree(work)  # left by a run that was killed
            os.makedirs(work, exist_ok=True)
            marker = os.path.join(work, EXTRACTED_MARKER)
            if os.path.exists(marker):
                os.remove(marker)  # a stale marker (of another zip) must not survive a kill
            archive.extractall(work_real)
            with open(marker + ".tmp", "w", encoding="utf-8") as f:
                json.dump(_zip_stamp(zip_path), f)
            os.replace(marker + ".tmp", marker)
            if fresh:
                os.replace(work, target_dir)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise DatasetError(f"{zip_path}: extraction into {target_dir} failed ({err}); "
                               "it is redone on the next call") from None
    return target_dir


@dataclass
class DatasetLayout:
    """A recognised folder: its ``format`` and per split (annotation file, image folder)."""

    root: str
    format: str
    splits: dict = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.format} dataset in {self.root}:"]
        lines += [f"  {s}: {a} (images in {i})" for s, (a, i) in self.splits.items()]
        return "\n".join(lines)


def _split_name(file_name: str) -> str:
    stem = os.path.splitext(file_name)[0]
    for prefix in ("instances_", "D2S_", "d2s_"):
        stem = stem.removeprefix(prefix)
    return {"training": "train", "validation": "val"}.get(stem, stem)


def guess_image_dir(annotation_file: str) -> str:
    """Image folder of a COCO annotation file: ``ROOT/<split>[year]`` or ``ROOT/images``
    for ``ROOT/annotations/instances_<split>[year].json``, else the JSON's folder."""
    folder = os.path.dirname(os.path.abspath(annotation_file))
    if os.path.basename(folder) != "annotations":
        return folder
    root = os.path.dirname(folder)
    stem = os.path.splitext(os.path.basename(annotation_file))[0]
    split = _split_name(os.path.basename(annotation_file))
    for name in (stem.replace("instances_", ""), split, "images", split + "2017"):
        if name and os.path.isdir(os.path.join(root, name)):
            return os.path.join(root, name)
    return root


def _json_files(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.lower().endswith(".json") and not f.startswith("."))


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
        splits[_split_name(os.path.basename(file))] = (file, guess_image_dir(file))
    if splits:
        return DatasetLayout(path, "coco", splits)
    via = {}
    for split in sorted(entries):
        folder = os.path.join(path, split)
        for file in _json_files(os.path.join(folder, "annotations")):
            images = os.path.join(folder, "images")
            splits[split] = (file, images if os.path.isdir(images) else folder)
            break
        files = _json_files(folder)
        preferred = [f for f in files if os.path.basename(f) == "via_region_data.json"]
        if preferred or len(files) == 1:
            via[split] = ((preferred or files)[0], folder)
    if splits:
        return DatasetLayout(path, "coco", splits)
    if via:
        return DatasetLayout(path, "via", via)
    raise DatasetError(
        f"{path}: not a dataset folder this package knows. Expected either "
        "annotations/instances_<split>.json (COCO, D2S) with images in <split>/ or images/, "
        "<split>/annotations/*.json, or <split>/via_region_data.json beside the images (VIA); "
        f"found {sorted(entries)[:10]}")


def open_dataset(path, format: str, images=None, split: str | None = None,
                 strict: bool = True, **options):
    """Read ``path`` (an annotation file, or a folder/zip in a known layout) with the reader
    of ``format`` (coco, via, bdd, openimages). ``images``: the image folder when it is not
    the default. ``split`` picks one split of a folder (default: train, else the first).
    For ``bdd``, a folder is read as bitmask PNGs. ``options`` go to the reader."""
    if format not in FORMATS:
        raise DatasetError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    path = os.fspath(path)
    if format in ("coco", "via") and (os.path.isdir(path) or path.lower().endswith(".zip")):
        layout = find_layout(path)
        if layout.format != format:
            raise DatasetError(f"{path}: looks like a {layout.format} dataset, not {format}")
        split = split or ("train" if "train" in layout.splits else next(iter(layout.splits)))
        if split not in layout.splits:
            raise DatasetError(f"{path}: no split {split!r}; found {sorted(layout.splits)}")
        path, default_images = layout.splits[split]
        images = images or default_images
    if format == "coco":
        from .coco import load_coco
        return load_coco(path, images, strict=strict, **options)
    if format == "via":
        from .via import load_via
        return load_via(path, images, strict=strict, **options)
    if format == "bdd":
        from .bdd import load_bdd, load_bdd_bitmasks
        if os.path.isdir(path):
            if images is None:
                raise DatasetError(f"{path}: BDD100K bitmasks need the image folder (images=)")
            return load_bdd_bitmasks(path, images, strict=strict, **options)
        return load_bdd(path, images, strict=strict, **options)
    from .openimages import load_openimages
    return load_openimages(path, images, strict=strict, **options)

