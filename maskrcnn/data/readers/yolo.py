"""YOLO segmentation labels (ultralytics' convention): one text file per image.

Each line of ``labels/<name>.txt`` is one instance: ``class x1 y1 x2 y2 ...``, the class a
0-based index into the ``names`` of ``data.yaml`` (a list, or a dict ``{0: name, ...}``) and
the polygon's points as fractions of the image width and height. The label file of
``.../images/<sub>/<name>.jpg`` is ``.../labels/<sub>/<name>.txt``; an image without one has no
instances (a background image, as in ultralytics).

``data.yaml`` names the splits: ``train: images/train``, ``val: ...`` (folders relative to its
``path`` key, else to its own folder; Roboflow's ``../train/images`` is found too). Without a
yaml, a folder with ``images/`` and ``labels/`` is the dataset (one split per sub-folder of
``images/`` when the images are in sub-folders).

Not supported (an error says so): detection boxes (``class cx cy w h``; no mask) and split
lists given as text files of image paths.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from ...errors import DatasetError
from ..files import EVERY_SPLIT, SplitSource, folder_split_name, image_size, pick_split
from ..instances import InstanceDataset, clip_polygon, fill_dataset, number
from ..problems import ItemError

#: Image file extensions looked for in images/ folders.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".mpo")
#: How far outside [0, 1] a coordinate may be and still be read as a fraction (then clipped).
NORMALISED_SLACK = 0.01
SPLIT_KEYS = ("train", "val", "test")


class YoloSplit(NamedTuple):
    """One split of a YOLO dataset: its labels folder, its images folder (None: to be given)
    and the data.yaml naming its classes (None: none found)."""

    annotations: str
    images: str | None
    data_yaml: str | None


def read_data_yaml(path: str) -> dict:
    """A data.yaml as a dict; DatasetError naming the line when it is not valid YAML."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise DatasetError(f"{path}: {where}not valid YAML ({getattr(err, 'problem', err)})"
                           ) from None
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not UTF-8 text ({err.reason})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: a data.yaml must be a mapping with 'names' (and 'train', "
                           "'val'...)")
    return data


def yaml_names(data: dict, path: str) -> list[str]:
    """The class names of a data.yaml, in class-index order."""
    names = data.get("names")
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise DatasetError(f"{path}: 'names' must map 0, 1, 2... to names, got keys "
                               f"{sorted(names, key=str)[:10]}")
        names = [names[i] for i in range(len(names))]
    if not isinstance(names, list) or not names:
        raise DatasetError(f"{path}: 'names' must be a non-empty list or a dict {{0: name, ...}}")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise DatasetError(f"{path}: 'names' lists a class twice: {names}")
    nc = data.get("nc")
    if nc is not None and nc != len(names):
        raise DatasetError(f"{path}: nc is {nc} but 'names' has {len(names)} classes")
    return names


def labels_folder(images_dir: str) -> str:
    """The labels folder of an images folder: its last ``images`` component -> ``labels``."""
    parts = os.path.normpath(os.path.abspath(images_dir)).split(os.sep)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return os.sep.join(parts)
    return os.path.join(os.path.dirname(os.path.abspath(images_dir)), "labels")


def _find_yaml(path: str) -> str | None:
    """The data.yaml (or the one yaml) in ``path`` or its parent folder."""
    path = os.path.abspath(path)
    for folder in (path, os.path.dirname(path)):
        if not os.path.isdir(folder):
            continue
        yamls = sorted(f for f in os.listdir(folder) if f.lower().endswith((".yaml", ".yml"))
                       and not f.startswith("."))
        preferred = [f for f in yamls if os.path.splitext(f)[0] in ("data", "dataset")]
        if preferred or len(yamls) == 1:
            return os.path.join(folder, (preferred or yamls)[0])
    return None


def _yaml_splits(yaml_path: str, data: dict) -> dict[str, YoloSplit]:
    folder = os.path.dirname(os.path.abspath(yaml_path))
    base = data.get("path")
    base = folder if not isinstance(base, str) or not base else os.path.join(folder, base)
    splits = {}
    for key in SPLIT_KEYS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or value.lower().endswith(".txt"):
            raise DatasetError(f"{yaml_path}: {key}: {value!r:.60} is not a folder; only image "
                               "folders are supported (not lists or .txt files of paths)")
        images = os.path.normpath(os.path.join(base, value))
        if not os.path.isdir(images) and value.startswith("../"):
            images = os.path.normpath(os.path.join(base, value[3:]))  # Roboflow's exports
        splits[key] = YoloSplit(labels_folder(images), images, yaml_path)
    return splits


def splits(path) -> dict[str, YoloSplit]:
    """The splits ``path`` offers, {split: YoloSplit(labels, images, data.yaml)}: those a
    data.yaml names (the file, or one in the folder), else a folder's ``images/<split>/``
    with ``labels/<split>/`` (or ``images/`` and ``labels/``: one split named after the
    folder; a data.yaml beside it or one level up gives only the class names). Any other
    folder is a labels folder, read whatever split is asked
    (:data:`~maskrcnn.data.files.EVERY_SPLIT`), its images to be given."""
    path = os.fspath(path)
    if os.path.isfile(path):
        if not path.lower().endswith((".yaml", ".yml")):
            raise DatasetError(f"{path}: a YOLO dataset is a data.yaml or a folder")
        found = _yaml_splits(path, read_data_yaml(path))
        if not found:
            raise DatasetError(f"{path}: names no image folder ({', '.join(SPLIT_KEYS)})")
        return found
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: no such file or folder")
    path = os.path.abspath(path)
    yaml_path = _find_yaml(path)
    if yaml_path is not None and os.path.dirname(yaml_path) == path:
        found = _yaml_splits(yaml_path, read_data_yaml(yaml_path))
        if found:
            return found
    images, labels = os.path.join(path, "images"), os.path.join(path, "labels")
    if os.path.isdir(images) and os.path.isdir(labels):
        subs = sorted(d for d in os.listdir(images)
                      if os.path.isdir(os.path.join(images, d)) and not d.startswith("."))
        loose = [f for f in os.listdir(images) if f.lower().endswith(IMAGE_SUFFIXES)]
        if subs and not loose:
            return {s: YoloSplit(os.path.join(labels, s), os.path.join(images, s), yaml_path)
                    for s in subs}
        return {folder_split_name(path): YoloSplit(labels, images, yaml_path)}
    return {EVERY_SPLIT: YoloSplit(path, None, yaml_path)}


def load(split_source: YoloSplit | SplitSource, **options) -> InstanceDataset:
    """Read one split :func:`splits` listed (or ``SplitSource(path, images)``: a data.yaml or
    dataset folder as it is, its default split; a labels folder with its images);
    ``options`` go to :func:`load_yolo`."""
    if isinstance(split_source, YoloSplit):
        return _read_split(split_source, **options)
    return load_yolo(split_source.annotations, split_source.images, **options)


def _files(folder: str, suffixes) -> list[str]:
    """Paths relative to ``folder`` of the files with these suffixes, sorted (recursive)."""
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(top, folder)
        found += [os.path.normpath(os.path.join(rel, f)) for f in files
                  if f.lower().endswith(suffixes) and not f.startswith(".")]
    return sorted(found)


def parse_line(line: str, num_classes: int, width: int, height: int):
    """(class index, flat pixel polygon, points outside) of one label line."""
    tokens = line.split()
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        raise ItemError(f"not numbers: {line.strip()!r:.60}") from None
    cls = number(values[0], "the class index")
    if cls != int(cls) or not 0 <= cls < num_classes:
        raise ItemError(f"class {tokens[0]} is not a class index 0..{num_classes - 1} "
                        f"(data.yaml names {num_classes} classes)")
    coords = values[1:]
    if len(coords) == 4:
        raise ItemError("4 values after the class: a detection box (class cx cy w h), which "
                        "has no mask; segmentation labels are 'class x1 y1 x2 y2 ...'")
    if len(coords) % 2:
        raise ItemError(f"{len(coords)} coordinates after the class; x and y come in pairs")
    if len(coords) < 6:
        raise ItemError(f"{len(coords) // 2} points; a polygon needs at least 3")
    for v in coords:
        number(v, "a coordinate")
    low, high = min(coords), max(coords)
    if low < -NORMALISED_SLACK or high > 1 + NORMALISED_SLACK:
        raise ItemError(f"coordinates from {low:g} to {high:g}: YOLO labels are fractions of "
                        "the image width and height (0 to 1), not pixels; divide x by the "
                        "width and y by the height")
    pixels = [v * (width if i % 2 == 0 else height) for i, v in enumerate(coords)]
    polygon, outside = clip_polygon(pixels, width, height)
    return int(cls), polygon, outside


def _label_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ItemError(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise ItemError(f"cannot read ({err})") from None


def load_yolo(path, image_dir=None, *, split: str | None = None, names=None,
              class_names=None, strict: bool = True, source: str = "yolo",
              max_image_pixels: int | None = None) -> InstanceDataset:
    """Read YOLO segmentation labels into a prepared InstanceDataset.

    ``path``: a data.yaml, a dataset folder (with a data.yaml, or with images/ and labels/),
    or, with ``image_dir`` (the images), a labels folder. ``split``: which split (default:
    train if there is one, else the first). ``names``: the class names in index order
    (default: the data.yaml's ``names``, looked for beside the folder and one level up).
    ``class_names``: keep only these classes (others are counted in ``skipped``). Class ids
    follow the order of ``names`` (the YOLO index + 1 when all are kept); image ids are the
    image paths relative to the images folder.
    """
    path = os.fspath(path)
    if image_dir is not None:
        chosen = YoloSplit(path, os.fspath(image_dir), _find_yaml(path))
    else:
        chosen = pick_split(path, splits(path), split)
    return _read_split(chosen, names=names, class_names=class_names, strict=strict,
                       source=source, max_image_pixels=max_image_pixels)


def _read_split(chosen: YoloSplit, *, names=None, class_names=None, strict: bool = True,
                source: str = "yolo", max_image_pixels: int | None = None) -> InstanceDataset:
    """The images and labels of one split, as :func:`load_yolo` describes them."""
    labels, images, yaml_path = chosen
    if images is None:
        raise DatasetError(f"{labels}: not a YOLO dataset: expected a data.yaml naming "
                           "train/val image folders, or a folder with images/ and labels/")
    if names is None:
        if yaml_path is None:
            raise DatasetError(f"{labels}: no data.yaml with the class names found; write one "
                               "('names: [cat, dog]') or pass names=[...]")
        names = yaml_names(read_data_yaml(yaml_path), yaml_path)
    names = [str(n) for n in names]
    keep = names if class_names is None else list(class_names)
    unknown = sorted(set(keep) - set(names))
    if unknown:
        raise DatasetError(f"{yaml_path or labels}: no classes named {unknown}; the classes are "
                           f"{names}")
    if not os.path.isdir(images):
        raise DatasetError(f"{images}: image folder not found")
    dataset = InstanceDataset(strict)
    problems = dataset.problems
    records, used = [], set()
    for rel in _files(images, IMAGE_SUFFIXES):
        file_name = rel.replace(os.sep, "/")
        item = f"image {file_name!r}"
        label_rel = os.path.splitext(rel)[0] + ".txt"
        label_path = os.path.join(labels, label_rel)
        image_path = os.path.join(images, rel)
        try:
            if label_rel in used:
                raise ItemError(f"another image already uses the label file {label_rel}; give "
                                "each image its own name (without the extension)")
            used.add(label_rel)
            width, height = image_size(image_path, max_image_pixels)
            text = _label_text(label_path) if os.path.isfile(label_path) else ""
        except ItemError as err:
            problems.error(label_path, item, str(err))
            continue
        found = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            line_item = f"{item}, line {n}"
            try:
                cls, polygon, outside = parse_line(line, len(names), width, height)
            except ItemError as err:
                problems.error(label_path, line_item, str(err))
                continue
            if names[cls] not in keep:
                dataset.skip("instances of other classes")
                continue
            if outside:
                problems.warning(label_path, line_item, f"{outside} point(s) outside the image; "
                                 "the mask is clipped to the image")
            found.append((names[cls], "polygon", [polygon], line_item))
        records.append({"id": file_name, "file_name": file_name, "path": image_path,
                        "width": width, "height": height, "found": found,
                        "label_file": label_path})
    if os.path.isdir(labels):
        for rel in _files(labels, (".txt",)):
            if rel not in used and os.path.basename(rel) != "classes.txt":
                problems.warning(os.path.join(labels, rel), "label file",
                                 f"no image for it in {images}; left out")
                dataset.skip("label files without an image")
    order = [n for n in names if n in keep]
    return fill_dataset(dataset, records, order, source, labels, max_image_pixels)
