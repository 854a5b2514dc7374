"""COCO instances JSON (COCO 2017 ``instances_*.json``, MVTec D2S): parsing and checking.

Images, categories and annotations are checked record by record; each annotation becomes an
:class:`~maskrcnn.data.instances.Instance` (a polygon list or RLE) in an
:class:`~maskrcnn.data.instances.InstanceDataset`, rasterised only in ``load_mask``. Writing
COCO JSON from any dataset is :mod:`maskrcnn.data.convert`.
"""
from __future__ import annotations

import json
import os

from ...errors import DatasetError
from ..files import (
    ImageFolder,
    SplitSource,
    file_splits,
    folder_parts,
    gc_paused,
    guess_image_dir,
    json_files,
    load_json,
    split_name,
    visible_entries,
)
from ..image_io import check_image_pixels, pixel_limit, shown
from ..instances import (
    BACKGROUND,
    MAX_SIDE,
    Instance,
    InstanceDataset,
    clip_polygon,
    number,
    shown_int,
)
from ..problems import ItemError

_FLOATS = {float}


def _as_parsed(part, width, height) -> bool:
    """Whether a polygon part is kept exactly as parsed: a list of 3 or more points, every
    coordinate a float (as JSON writes them), finite and inside the image. That is what
    ``clip_polygon`` would return for it, in a fresh list; keeping the parsed list instead
    saves the copy (a few hundred MB for COCO train2017) and the time."""
    if type(part) is not list or len(part) < 6 or len(part) % 2 or set(map(type, part)) != _FLOATS:
        return False
    xs, ys = part[0::2], part[1::2]
    if not (0 <= min(xs) and max(xs) <= width and 0 <= min(ys) and max(ys) <= height):
        return False
    total = sum(part)  # NaN if any is: min and max can step over a NaN
    return total == total


def polygons_instance(segmentation, width, height, problems, ref, item) -> list | None:
    """Clean a COCO polygon list; parts below 3 points are dropped (warning), a polygon with
    no part left is an error. Returns the clipped parts or None when nothing is left; a
    polygon whose parts all lie inside the image is returned as it is (not copied)."""
    if not isinstance(segmentation, list):
        raise ItemError("segmentation must be a list of polygons or an RLE dict")
    for part in segmentation:
        if not _as_parsed(part, width, height):
            break
    else:
        if segmentation:
            return segmentation
    parts, outside, short = [], 0, 0
    for part in segmentation:
        clipped, n_out = clip_polygon(part, width, height)
        outside += n_out
        if clipped is None:
            short += 1
        else:
            parts.append(clipped)
    if outside:
        problems.warning(ref, item, f"{outside} polygon point(s) outside the {width}x{height} "
                                    "image; the mask is clipped to the image")
    if not parts:
        raise ItemError("polygon has fewer than 3 points" if segmentation
                        else "segmentation is empty (no polygon)")
    if short:
        problems.warning(ref, item, f"{short} polygon part(s) with fewer than 3 points dropped")
    return parts


# ---------------------------------------------------------------------------- COCO reader
def _require(record, key, types, where):
    if not isinstance(record, dict):
        raise ItemError(f"{where} must be a JSON object, got {type(record).__name__}")
    if key not in record:
        raise ItemError(f"{where} has no {key!r} key")
    value = record[key]
    if not isinstance(value, types) or isinstance(value, bool):
        raise ItemError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _kind(image_id) -> str:
    return "a string" if isinstance(image_id, str) else "a number"


def _shown_id(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return shown_int(value)
    return f"{value!r:.30}"


def _annotation_key(ann: dict):
    """What makes two annotations the same: the id, else (no id) the whole record. Ids
    ``1`` and ``"1"`` are the same (the key is ``str(id)``, given as an int where that text
    is an int's, so that most keys are the parsed ints themselves)."""
    if "id" not in ann:
        return ("record", json.dumps(ann, sort_keys=True, default=repr))
    value = ann["id"]
    if type(value) is int:
        return value
    if not isinstance(value, str):
        raise ItemError(f"annotation 'id' must be a number or a string, got "
                        f"{type(value).__name__}")
    try:
        number = int(value)
    except ValueError:
        return value
    return number if str(number) == value else value  # " 1", "01", "1_0": not the int's text


def _annotation_item(k: int, ann, image: str | None = None) -> str:
    """How messages name annotation ``k``: with its id, after its image once that is known."""
    item = f"annotation {k}"
    if isinstance(ann, dict) and "id" in ann:
        item = f"{item} (id {_shown_id(ann['id'])})"
    return item if image is None else f"{image}, {item}"


def _image_item(k: int, image_id, file_name) -> str:
    """How messages name image record ``k``, by what of it is known to be valid."""
    if image_id is None:
        return f"image record {k}"
    if file_name is None:
        return f"image {image_id!r}"
    return f"image {image_id!r} ({shown(file_name)})"


_ID_TYPES = (int, str)
#: Keys of an image record that are not copied into ``image_info`` (the reader sets them).
_RESERVED = frozenset(("id", "file_name", "width", "height", "path", "source", "instances"))


def load_coco(annotation_file, image_dir=None, *, class_names=None, keep_empty: bool = True,
              strict: bool = True, source: str = "coco",
              max_image_pixels: int | None = None) -> InstanceDataset:
    """Read a COCO instances JSON into a prepared :class:`InstanceDataset`.

    ``image_dir``: folder of the images (default: guessed, see ``files.guess_image_dir``).
    ``class_names``: keep only these categories (others are counted in ``skipped``).
    ``keep_empty``: keep images without (kept) annotations. A category named ``_background_``
    (labelme2coco writes one, with id 0) is not a class. Category ids stay the source ids
    (``class_info[i]["id"]``) and map to contiguous class ids 1..K in category-id order;
    ``iscrowd`` annotations get negative class ids. Image ids are COCO's.
    ``max_image_pixels``: images larger than this (width x height, default
    ``image_io.MAX_IMAGE_PIXELS``) are errors, refused before decoding.

    Refused as errors: two categories with one id or one name, two images with one id (also
    ``1`` and ``"1"``) or one file name, two annotations with one id (or one annotation listed
    twice), annotations of an image id not in ``images`` (saying when only the type differs).

    Polygons inside the image are kept as the parsed lists (not copied), RLE as the parsed
    dicts; the cyclic garbage collector is paused while the file is read and runs once at
    the end (see ``files.gc_paused``). A file the size of COCO train2017 (118k images, 860k
    instances, 318 MB) opens in about 13.5 s on 2 cores, at a peak RSS of about 2.1 GB
    (``benchmarks/bench_coco_scale.py --open-only``).
    """
    path = os.fspath(annotation_file)
    with gc_paused(settle=True):
        return _load_coco(path, image_dir, class_names, keep_empty, strict, source,
                          max_image_pixels)


def _load_coco(path, image_dir, class_names, keep_empty, strict, source,
               max_image_pixels) -> InstanceDataset:
    data = load_json(path)
    dataset = InstanceDataset(strict)
    problems = dataset.problems

    def fatal(err):
        raise DatasetError(f"{path}: {err}") from None

    try:
        if not isinstance(data, dict):
            raise ItemError("a COCO file must hold a JSON object with 'images', 'annotations' "
                            "and 'categories'")
        images = _require(data, "images", list, "the file")
        categories = _require(data, "categories", list, "the file")
        annotations = data.get("annotations", [])
        if not isinstance(annotations, list):
            raise ItemError("'annotations' must be a list")
        names_by_id, ids_by_name = {}, {}
        for k, cat in enumerate(categories):
            cat_id = _require(cat, "id", int, f"category {k}")
            name = _require(cat, "name", str, f"category {k}")
            if cat_id in names_by_id:
                raise ItemError(f"category {k}: id {shown_int(cat_id)} is used twice")
            if name in ids_by_name:
                raise ItemError(f"category {k}: name {name!r} is used twice (ids "
                                f"{shown_int(ids_by_name[name])} and {shown_int(cat_id)}); give "
                                "each category its own name, or merge the two ids into one")
            names_by_id[cat_id] = name
            ids_by_name[name] = cat_id
    except ItemError as err:
        fatal(err)
    del data  # the lists below are emptied as they are read: their records are not kept
    background = {i for i, n in names_by_id.items() if n == BACKGROUND}  # labelme2coco's id 0
    wanted = set(names_by_id) - background
    if class_names is not None:
        unknown = set(class_names) - set(names_by_id.values())
        if unknown:
            raise DatasetError(f"{path}: no categories named {sorted(unknown)}; the file has "
                               f"{sorted(set(names_by_id.values()))}")
        wanted = {i for i, n in names_by_id.items() if n in set(class_names)} - background
    for cat_id in sorted(wanted):
        dataset.add_class(source, cat_id, names_by_id[cat_id])
    class_keys = {cat_id: f"{source}.{cat_id}" for cat_id in wanted}  # one string per class

    folder = ImageFolder(image_dir if image_dir is not None else guess_image_dir(path))
    limit = pixel_limit(max_image_pixels)
    records, labels, seen_names, dropped = {}, {}, {}, set()
    id_by_text = {}  # str(image id) -> image id: 1 and "1" must not be two images
    for k, record in enumerate(images):
        images[k] = None
        image_id = file_name = None
        try:
            # The usual record passes the checks inline; anything else goes through
            # _require and number, which say what is wrong.
            image_id = record.get("id") if type(record) is dict else None
            if type(image_id) not in _ID_TYPES:
                image_id = None
                image_id = _require(record, "id", _ID_TYPES, f"image record {k}")
            file_name = record.get("file_name")
            if type(file_name) is not str:
                file_name = None
                file_name = _require(record, "file_name", str, f"image {image_id!r}")
            width, height = record.get("width"), record.get("height")
            if not (type(width) is int and type(height) is int and 1 <= width <= MAX_SIDE
                    and 1 <= height <= MAX_SIDE):
                item = _image_item(k, image_id, file_name)
                width = int(number(_require(record, "width", (int, float), item), "width"))
                height = int(number(_require(record, "height", (int, float), item), "height"))
                if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
                    raise ItemError(f"image size {width}x{height} is not between 1 and "
                                    f"{MAX_SIDE}")
            if limit is not None and width * height > limit:
                try:
                    check_image_pixels(file_name, width, height, max_image_pixels)
                except DatasetError as err:
                    raise ItemError(str(err)) from None
            if image_id in records:
                raise ItemError(f"image id {image_id!r} is used twice")
            other = id_by_text.get(str(image_id))
            if other is not None:
                raise ItemError(f"image id {image_id!r} ({_kind(image_id)}) and image id "
                                f"{other!r} ({_kind(other)}) name the same image; write every "
                                "image id the same way (all numbers or all strings)")
            if file_name in seen_names:
                raise ItemError(f"file name also used by image {seen_names[file_name]!r}")
            try:
                image_path = folder.path(file_name)
            except DatasetError as err:
                raise ItemError(str(err)) from None
        except ItemError as err:
            if image_id is not None and image_id not in records:
                dropped.add(image_id)
            problems.error(path, _image_item(k, image_id, file_name), str(err))
            continue
        seen_names[file_name] = image_id
        id_by_text[str(image_id)] = image_id
        info = {"path": image_path, "file_name": file_name, "width": width, "height": height,
                "instances": []}
        if len(record) > 4:
            info.update((key, value) for key, value in record.items() if key not in _RESERVED)
        records[image_id] = info
        labels[image_id] = f"image {image_id!r} ({shown(file_name)})"
    del seen_names

    seen_annotations = {}  # annotation id (or, without one, its JSON) -> index
    for k, ann in enumerate(annotations):
        annotations[k] = None
        label = None
        try:
            if type(ann) is dict:
                image_id, category_id = ann.get("image_id"), ann.get("category_id")
            else:
                image_id = category_id = None
            if type(image_id) not in _ID_TYPES or type(category_id) is not int:
                item = _annotation_item(k, ann)
                image_id = _require(ann, "image_id", _ID_TYPES, item)
                category_id = _require(ann, "category_id", int, item)
            record = records.get(image_id)
            if record is None:
                if image_id in dropped:
                    dataset.skip("annotations of images left out")
                    continue
                other = id_by_text.get(str(image_id))
                if other is not None:
                    raise ItemError(f"image_id {image_id!r} ({_kind(image_id)}) is not in "
                                    f"'images', which has image id {other!r} ({_kind(other)}): "
                                    "the types differ; write image ids the same way in "
                                    "'images' and 'annotations'")
                raise ItemError(f"image_id {_shown_id(image_id)} is not in 'images'")
            label = labels[image_id]
            key = _annotation_key(ann)
            first = seen_annotations.setdefault(key, k)
            if first != k:
                raise ItemError(
                    f"same {'id' if 'id' in ann else 'annotation'} as annotation "
                    f"{first}: an annotation listed twice would give a "
                    "duplicate instance; remove one (or give each annotation its own id)")
            if category_id not in wanted:
                if category_id not in names_by_id:
                    raise ItemError(f"unknown category id {category_id}; the file defines "
                                    f"{sorted(names_by_id)}")
                dataset.skip(f"annotations of {BACKGROUND} (background, not a class)"
                             if category_id in background else "annotations of other classes")
                continue
            crowd = ann.get("iscrowd", 0)
            if crowd not in (0, 1, True, False):
                raise ItemError(f"iscrowd must be 0 or 1, got {crowd!r:.20}")
            segmentation = ann.get("segmentation")
            if segmentation is None or segmentation == []:
                raise ItemError("no segmentation (a box-only annotation has no mask)")
            w, h = record["width"], record["height"]
            item = _annotation_item(k, ann, label)
            if isinstance(segmentation, dict):
                check_size = segmentation.get("size")
                if not isinstance(segmentation.get("counts"), (str, list)):
                    raise ItemError("an RLE segmentation needs 'counts' (a string or a list)")
                if check_size != [h, w]:
                    raise ItemError(f"RLE size {check_size!r:.40} does not match the image "
                                    f"size [height, width] = [{h}, {w}]")
                instance = Instance(class_keys[category_id], bool(crowd), "rle", segmentation,
                                    item)
            else:
                parts = polygons_instance(segmentation, w, h, problems, path, item)
                instance = Instance(class_keys[category_id], bool(crowd), "polygon", parts,
                                    item)
        except ItemError as err:
            problems.error(path, _annotation_item(k, ann, label), str(err))
            continue
        record["instances"].append(instance)
    del seen_annotations, labels

    for image_id, record in records.items():
        if not record["instances"] and not keep_empty:
            dataset.skip("images without annotations")
            continue
        dataset.add_image(source, image_id, **record)
    dataset.max_image_pixels = max_image_pixels
    dataset.prepare()
    dataset.annotation_file = path
    return dataset


def splits(path) -> dict[str, SplitSource]:
    """The splits ``path`` offers, {split: SplitSource(annotation file, image folder)}.

    A file: its own split, or the parts ``maskrcnn split`` wrote from it
    (:func:`maskrcnn.data.files.file_splits`). A folder (COCO 2017, MVTec D2S):
    ``annotations/*.json`` (``instances_val2017.json``: val2017; ``D2S_training.json``:
    train) with images in ``<split>[year]/`` or ``images/``; else per split
    ``<split>/annotations/*.json`` with images in ``<split>/images/`` or ``<split>/``; else
    the ``NAME.<split>.json`` parts beside the images. DatasetError for any other folder."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return file_splits(path)
    found = {split_name(os.path.basename(file)): SplitSource(file, guess_image_dir(file))
             for file in json_files(os.path.join(path, "annotations"))}
    if found:
        return found
    for split in visible_entries(path):
        files = json_files(os.path.join(path, split, "annotations"))
        if files:
            images = os.path.join(path, split, "images")
            found[split] = SplitSource(files[0], images if os.path.isdir(images)
                                       else os.path.join(path, split))
    if found:
        return found
    parts = folder_parts(path)
    if parts:
        return parts
    raise DatasetError(f"{path}: not a COCO dataset folder: expected "
                       "annotations/instances_<split>.json with images in <split>/ or "
                       "images/, or <split>/annotations/*.json")


def load(split_source: SplitSource, **options) -> InstanceDataset:
    """Read one split :func:`splits` listed (or ``SplitSource(path, None)``: a file as it is);
    ``options`` go to :func:`load_coco`."""
    return load_coco(split_source.annotations, split_source.images, **options)
