"""Files on disk: JSON with useful errors, image paths and sizes, atomic writes, and the
split helpers every reader's ``splits(path)`` shares (a file's own split, the
``NAME.<split>.json`` parts ``maskrcnn split`` writes). Zips: :mod:`maskrcnn.data.archives`.

The shared file primitives of the readers (:mod:`maskrcnn.data.readers`) and of
:mod:`maskrcnn.data.layout`.
"""
from __future__ import annotations

import codecs
import gc
import json
import os
import re
import threading
from contextlib import contextmanager, suppress
from typing import NamedTuple

from PIL import UnidentifiedImageError

from ..errors import DatasetError
from .image_io import open_image, shown
from .problems import ItemError

try:
    import orjson
except ImportError:  # optional
    orjson = None

#: Largest file (bytes) parsed with orjson where it is installed. With the collector paused
#: (:func:`gc_paused`) orjson is only about 1.3x faster than json, and it builds a document
#: tree of its own first, about 3x the file's size on top of the result (1 GB more at the
#: peak for COCO train2017's 318 MB, taking it over 3 GB); larger files go to json.
ORJSON_MAX_BYTES = 64 * 2 ** 20

_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


#: Young objects a settling pause must leave for a full collection to pay (see gc_paused).
SETTLE_MIN_OBJECTS = 1_000_000

_GC_LOCK = threading.Lock()
_gc_pauses = 0  # callers inside gc_paused() now
_gc_was_enabled = False


@contextmanager
def gc_paused(settle: bool = False):
    """Pause Python's cyclic garbage collector while building many objects at once.

    Parsing a large JSON file and indexing it creates millions of lists and dicts, none of them
    garbage; each collection would walk them all again (the generational collector runs every
    few hundred allocations), which roughly doubles the time to open COCO train2017. Nested
    and concurrent pauses are counted: the collector is enabled again, if it was enabled
    before the first, when the last one ends.

    ``settle``: then run one full collection if the pause left more than
    :data:`SETTLE_MIN_OBJECTS` new objects. Objects built while the collector was paused are
    all young to it, so the first collections after the pause would walk all of them three
    times (young, middle, then a full pass, because so many new objects survived: about 12 s
    after opening train2017, in whatever ran next); one collection here moves them to the
    oldest generation at once (about 5 s). For fewer objects the three walks cost less than
    one full collection of a process with TensorFlow loaded (0.4-1 s), so none is run."""
    global _gc_pauses, _gc_was_enabled
    with _GC_LOCK:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pauses -= 1
            resume = _gc_pauses == 0 and _gc_was_enabled
            if resume:
                gc.enable()
        if resume and settle and gc.get_count()[0] > SETTLE_MIN_OBJECTS:
            gc.collect()


def load_json(path) -> object:
    """Parse a JSON file; malformed JSON raises DatasetError with the file, line and column."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: annotation file not found")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        with gc_paused():
            if orjson is not None and len(raw) <= ORJSON_MAX_BYTES:
                body = memoryview(raw)[len(codecs.BOM_UTF8):] if raw.startswith(
                    codecs.BOM_UTF8) else raw
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError:
                    pass  # anything it refuses (or cannot say where), json decides
                del body
            text = raw.decode("utf-8-sig")
            del raw  # the text alone from here: one copy of the file in memory, not two
            return json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: line {err.lineno}, column {err.colno}: malformed JSON "
                           f"({err.msg})") from None
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except RecursionError:
        raise DatasetError(f"{path}: JSON nested too deeply") from None
    except ValueError as err:  # an integer literal of more digits than Python converts
        raise DatasetError(f"{path}: unusable JSON number ({err}); fix the file") from None


def json_format(data) -> str | None:
    """Which annotation format parsed JSON looks like: "labelme" (``shapes`` and
    ``imagePath``), "coco" (``images`` and ``annotations``), "via" (a VIA 2 project, or an
    object of entries with ``filename``), or None."""
    if not isinstance(data, dict):
        return None
    if "shapes" in data and "imagePath" in data:
        return "labelme"
    if "images" in data and "annotations" in data:
        return "coco"
    if "_via_img_metadata" in data or all(
            isinstance(v, dict) and "filename" in v for v in data.values()):
        return "via"
    return None


def check_writable(path, inputs=()) -> str:
    """Refuse, before anything is written, to write the file ``path`` where that would harm
    or fail: over one of ``inputs`` (the files the command read), onto a folder, or below a
    regular file. Returns the path."""
    path = os.fspath(path)
    if os.path.exists(path):
        for source in inputs:
            if os.path.exists(source) and os.path.samefile(path, source):
                raise DatasetError(f"{path}: is an input of this command; writing there would "
                                   "replace the annotations read; choose a different --output")
    if os.path.isdir(path):
        raise DatasetError(f"{path}: is a folder, so the file cannot be written there; choose "
                           "a different --output (or a folder to write into)")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise DatasetError(f"{path}: cannot be written, {parent} is a file, not a folder; "
                           "choose a different --output")
    return path


@contextmanager
def replacing(path, mode: str = "w"):
    """Write ``path`` atomically: yields a temporary file beside it, renamed to ``path``
    when the block ends, removed when it fails (nothing half-written is left). OS errors
    (permissions, a full disk) become DatasetError naming the file."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
        os.replace(tmp, path)
    except BaseException as err:
        with suppress(OSError):
            os.remove(tmp)
        if isinstance(err, OSError):
            raise DatasetError(f"{path}: cannot be written ({err.strerror or err}); nothing "
                               "was left there") from None
        raise


def write_json(path, data, indent: int | None = None, inputs=()) -> str:
    """Write ``data`` as JSON to ``path`` atomically (:func:`replacing`), making its folder,
    after :func:`check_writable` (never over one of ``inputs``); returns the path."""
    path = check_writable(path, inputs)
    with replacing(path) as f:
        json.dump(data, f, indent=indent)
    return path


def _checked_name(file_name: str) -> None:
    if "\x00" in file_name:
        raise DatasetError(f"file name {file_name!r} contains a NUL character, which no file "
                           "name can hold; fix the file name in the annotation file")
    try:
        os.fsencode(file_name)
    except UnicodeError:
        raise DatasetError(f"file name {file_name!r} cannot be encoded for this file system "
                           "(e.g. a lone surrogate escape); fix the file name in the "
                           "annotation file") from None


class ImageFolder:
    """Paths of image files named relative to one folder, as :func:`image_path_in_root`
    gives them, for many names at once (a COCO file names 118k images in one folder).

    The folder's real path is taken once, and its listing is read once to learn whether it
    holds any symbolic link: where it holds none (the usual case), a plain name (no
    separator, not ``.`` or ``..``) resolves to itself inside the real folder, which is what
    ``os.path.realpath`` would find, without the per-name system calls. Any other name, or
    any name where the folder holds a link (or cannot be listed, or off POSIX), is resolved
    with ``os.path.realpath`` and checked to stay inside the folder, as before. Made per
    reading, so that a folder changed between two readings is seen as it is now."""

    def __init__(self, root) -> None:
        self.root = os.fspath(root)
        self.real = os.path.realpath(self.root)
        self._plain: bool | None = None  # whether plain names resolve to themselves

    def _plain_names(self) -> bool:
        if self._plain is None:
            self._plain = os.name == "posix" and not _holds_links(self.real)
        return self._plain

    def path(self, file_name: str) -> str:
        """The real path of ``file_name``; DatasetError when it escapes the folder or no
        file can have the name (see :func:`image_path_in_root`)."""
        _checked_name(file_name)
        if (file_name and "/" not in file_name and file_name not in (".", "..")
                and self._plain_names()):
            return os.path.join(self.real, file_name)
        path = os.path.realpath(os.path.join(self.real, file_name))
        if os.path.commonpath([self.real, path]) != self.real:
            raise DatasetError(f"{file_name!r} points outside the dataset folder {self.root}")
        return path


def _holds_links(folder: str) -> bool:
    """Whether ``folder`` holds a symbolic link (or junction), or cannot be listed (then
    every name is resolved one by one). A folder that does not exist holds none."""
    try:
        with os.scandir(folder) as entries:
            return any(entry.is_symlink() or getattr(entry, "is_junction", bool)()
                       for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True


def image_path_in_root(root: str, file_name: str) -> str:
    """Join ``file_name`` to ``root``, refusing names that escape it (``../x``, ``/etc/x``,
    a link leading out) and names no file can have (a NUL character, text the file system
    cannot encode). For many names in one folder, :class:`ImageFolder` is faster."""
    _checked_name(file_name)
    root_real = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root_real, file_name))
    if os.path.commonpath([root_real, path]) != root_real:
        raise DatasetError(f"{file_name!r} points outside the dataset folder {root}")
    return path


def image_size(path: str, max_pixels: int | None = None) -> tuple[int, int]:
    """(width, height) of an image file as :func:`read_image` returns it (EXIF applied),
    from its header; ItemError when it is missing, unreadable or over ``max_pixels``
    (default ``image_io.MAX_IMAGE_PIXELS``)."""
    try:
        with open_image(path, max_pixels) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in _ROTATED:
                width, height = height, width
    except DatasetError as err:
        raise ItemError(str(err)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as err:
        raise ItemError(f"cannot read image {shown(path)} ({err})") from None
    return width, height


def register_image_file(image_dir: str, file_name: str, seen: set,
                        max_pixels: int | None = None) -> tuple[str, int, int]:
    """Path, width and height of an annotation's image, which must be named once, lie
    inside ``image_dir``, be readable and within the pixel limit (ItemError otherwise).
    Adds it to ``seen``."""
    if file_name in seen:
        raise ItemError("file name appears twice in the file")
    seen.add(file_name)
    try:
        image_path = image_path_in_root(image_dir, file_name)
    except DatasetError as err:
        raise ItemError(str(err)) from None
    width, height = image_size(image_path, max_pixels)
    return image_path, width, height


class SplitSource(NamedTuple):
    """Where one split lies, as a reader's ``splits(path)`` lists it and its ``load(source)``
    reads it: the annotations (a file, or a folder of files) and the image folder (None: the
    reader's default for those annotations). A path read as it is: ``SplitSource(path, None)``."""

    annotations: str
    images: str | None


#: The key of a path that names no split (a LabelMe file, a BDD100K or Open Images file, a
#: YOLO labels folder): it is read as it is, whatever split is asked for.
EVERY_SPLIT = "*"


def every_split(path) -> dict[str, SplitSource]:
    """The splits of a path that names none: the path itself, read whatever split is asked."""
    return {EVERY_SPLIT: SplitSource(os.fspath(path), None)}


def split_name(file_name: str) -> str:
    """The split an annotation file is for: ``instances_val2017.json`` -> ``val2017``,
    ``D2S_training.json`` -> ``train``."""
    stem = os.path.splitext(file_name)[0]
    for prefix in ("instances_", "D2S_", "d2s_"):
        stem = stem.removeprefix(prefix)
    return {"training": "train", "validation": "val"}.get(stem, stem)


def folder_split_name(folder: str) -> str:
    """The split a folder that is one split is named for (``balloon/val`` -> ``val``)."""
    return split_name(os.path.basename(os.path.abspath(folder)))


#: Names that say a file or folder holds one split (train, val2017, test, validation...).
SPLIT_WORD = re.compile(r"(train|val|valid|test|dev)[a-z]*\d*", re.IGNORECASE)


def visible_entries(folder: str) -> list[str]:
    """The names in ``folder``, sorted, without hidden ones and ``__MACOSX`` (what a zip made
    on a Mac adds); [] when it is not a folder."""
    if not os.path.isdir(folder):
        return []
    return sorted(e for e in os.listdir(folder) if not e.startswith((".", "__MACOSX")))


def json_files(folder: str) -> list[str]:
    """The ``*.json`` files of ``folder`` (hidden ones left out), sorted; [] when it is not a
    folder."""
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.lower().endswith(".json") and not f.startswith("."))


def split_parts(annotation_file: str) -> dict[str, str]:
    """The files that ``maskrcnn split`` wrote from, or beside, ``annotation_file``: for
    ``NAME.json`` or ``NAME.<part>.json``, every ``NAME.<part>.json`` in its folder as
    {part: file}; {} when there are none (one file of that name alone is no set)."""
    folder, base = os.path.split(os.path.abspath(os.fspath(annotation_file)))
    stem = os.path.splitext(base)[0]
    for name in ([stem.rsplit(".", 1)[0]] if "." in stem else []) + [stem]:
        parts = {}
        for entry in sorted(os.listdir(folder)):
            entry_stem, ext = os.path.splitext(entry)
            part = entry_stem[len(name) + 1:]
            if (ext.lower() == ".json" and entry_stem.startswith(name + ".") and part
                    and "." not in part):
                parts[part] = os.path.join(folder, entry)
        if len(parts) > 1 or (parts and os.path.isfile(os.path.join(folder, name + ".json"))):
            return parts
    return {}


def folder_parts(folder: str) -> dict[str, SplitSource]:
    """The parts ``maskrcnn split`` wrote into ``folder`` (:func:`split_parts` of its first
    JSON that has any), each with the folder's images: {part: SplitSource}; {} for none."""
    parts = next(filter(None, map(split_parts, json_files(folder))), {})
    return {part: SplitSource(file, folder) for part, file in parts.items()}


def file_splits(annotation_file) -> dict[str, SplitSource]:
    """The splits one COCO or VIA annotation file provides, {split: SplitSource(file, None)}:
    the parts ``maskrcnn split`` wrote (:func:`split_parts`), else the file alone, named for
    the split its name or its folder says (``instances_val2017.json``: val2017;
    ``val/via_region_data.json``: val), else ``train``: a file of no split trains."""
    path = os.fspath(annotation_file)
    parts = split_parts(path)
    if parts:
        return {part: SplitSource(file, None) for part, file in parts.items()}
    for name in (os.path.basename(path), os.path.basename(os.path.dirname(os.path.abspath(path)))):
        if SPLIT_WORD.fullmatch(split_name(name)):
            return {split_name(name): SplitSource(path, None)}
    return {"train": SplitSource(path, None)}


def pick_split(path, sources: dict, split: str | None, cut_hint: bool = False):
    """The source of ``split`` among ``sources`` (a reader's ``splits(path)``); None picks
    train if there is one, else the first. A path that names no split
    (:data:`EVERY_SPLIT`) serves any. Otherwise DatasetError naming the splits there are;
    ``cut_hint``: ``path`` is a COCO or VIA file, which ``maskrcnn split`` can cut."""
    if split is None:
        split = "train" if "train" in sources else next(iter(sources))
    if split in sources:
        return sources[split]
    if EVERY_SPLIT in sources:
        return sources[EVERY_SPLIT]
    if cut_hint:
        raise DatasetError(
            f"{path}: no split {split!r} in this file (it provides "
            f"{', '.join(sorted(sources))}); make train and val files from it with "
            f"`maskrcnn split {path}` and pass one of them, or a folder with {split}/")
    raise DatasetError(f"{path}: no split {split!r}; found {sorted(sources)}")


def guess_image_dir(annotation_file: str) -> str:
    """Image folder of a COCO annotation file: ``ROOT/<split>[year]`` or ``ROOT/images``
    for ``ROOT/annotations/instances_<split>[year].json``, else the JSON's folder."""
    folder = os.path.dirname(os.path.abspath(annotation_file))
    if os.path.basename(folder) != "annotations":
        return folder
    root = os.path.dirname(folder)
    stem = os.path.splitext(os.path.basename(annotation_file))[0]
    split = split_name(os.path.basename(annotation_file))
    for name in (stem.replace("instances_", ""), split, "images", split + "2017"):
        if name and os.path.isdir(os.path.join(root, name)):
            return os.path.join(root, name)
    return root
