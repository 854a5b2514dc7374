"""Input and output paths of a folder run: which files are images, and where results may go.

Nothing here reads an image or loads a model; :mod:`.folder` calls these before it starts.
"""
from __future__ import annotations

import glob
import os
import re

from ..errors import ConfigError, DatasetError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif",
                              ".tiff", ".gif", ".webp", ".ppm", ".pgm"})


def as_list(inputs) -> list[str]:
    """One path or pattern, or a list of them, as a list of strings."""
    return [os.fspath(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike))
                                   else inputs)]


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_image_name(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def safe_name(name: str) -> str:
    """``name`` with every run of characters other than letters, digits, ``.`` and ``-``
    replaced by ``_``: a file name that is safe on every file system."""
    return re.sub(r"[^\w.-]+", "_", str(name)).strip("_") or "image"


def list_images(inputs, exclude_dir: str | None = None) -> list[str]:
    """Absolute paths of the image files that ``inputs`` name: one or a list of folders (their
    files with an image extension, not recursive), files (any extension) and glob patterns
    (``**`` recurses). Sorted per input, duplicates dropped; files that a folder or pattern
    finds under ``exclude_dir`` (the output folder) are left out."""
    found, seen = [], set()
    for spec in as_list(inputs):
        if os.path.isdir(spec):
            files = [os.path.join(spec, n) for n in os.listdir(spec)]
        elif os.path.isfile(spec):
            files = [spec]
        elif glob.has_magic(spec):
            files = glob.glob(spec, recursive=True)
        else:
            raise DatasetError(f"{spec}: no such file or folder, and not a glob pattern")
        if not os.path.isfile(spec):
            files = [p for p in files if os.path.isfile(p) and is_image_name(p)
                     and not (exclude_dir and inside(p, exclude_dir))]
        for path in sorted(os.path.abspath(p) for p in files):
            if os.path.realpath(path) not in seen:
                seen.add(os.path.realpath(path))
                found.append(path)
    return found


def check_output(inputs, files: list[str], output: str) -> None:
    """Refuse an output folder that is an input folder, a file, or that holds an input."""
    for spec in as_list(inputs):
        if os.path.isdir(spec) and os.path.realpath(spec) == os.path.realpath(output):
            raise ConfigError(f"the output folder {output} is the input folder; write the "
                              f"results elsewhere, e.g. {os.path.join(spec, 'detections')}")
    if os.path.exists(output) and not os.path.isdir(output):
        raise ConfigError(f"the output {output} exists and is not a folder")
    for path in files:
        if inside(path, output):
            raise ConfigError(f"the input {path} lies inside the output folder {output}, where "
                              "it could be overwritten; move it or choose another output folder")
