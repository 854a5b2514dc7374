"""Dataset zips, extracted safely and once, and the folders a dataset path may be in.

A zip (matterport's balloon, a Colab download) is read as the folder it is extracted into,
beside it; a marker records a complete extraction, and one killed half-way is redone.
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile

from ..errors import DatasetError
from .files import visible_entries

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


def dataset_folders(path) -> list[str]:
    """Where a dataset path's layout may be, innermost first, ``path`` itself (a folder, a
    file, or a zip as the folder it is extracted into beside it, once: see
    :func:`safe_extract_zip`) last; before it the one folder it holds, if it holds only
    one (a zip's top folder), and so on down."""
    path = os.fspath(path)
    if os.path.isfile(path) and path.lower().endswith(".zip"):
        target = os.path.splitext(path)[0]
        if not extraction_complete(path, target):
            safe_extract_zip(path, target)
        path = target
    folders, entries = [path], visible_entries(path)
    while len(entries) == 1 and os.path.isdir(os.path.join(folders[0], entries[0])):
        inner = os.path.join(folders[0], entries[0])
        if os.path.realpath(inner) in map(os.path.realpath, folders):
            break  # a link back up: no deeper
        folders.insert(0, inner)
        entries = visible_entries(inner)
    return folders
