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
from ..files import guess_image_dir, image_path_in_root, load_json
from ..image_io import check_image_pixels, shown
from ..instances import MAX_SIDE, Instance, InstanceDataset, clip_polygon, number, shown_int
from ..problems import ItemError


def polygons_instance(segmentation, width, height, problems, ref, item) -> list | None:
    """Clean a COCO polygon list; parts below 3 points are dropped (warning), a polygon with
    no part left is an error. Returns the clipped parts or None when nothing is left."""
    if not isinstance(segmentation, list):
        raise ItemError("segmentation must be a list of polygons or an RLE dict")
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
    """What makes two annotations the same: the id, else (no id) the whole record."""
    if "id" not in ann:
        return ("record", json.dumps(ann, sort_keys=True, default=repr))
    value = ann["id"]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ItemError(f"annotation 'id' must be a number or a string, got "
                        f"{type(value).__name__}")
    return ("id", str(value))


def load_coco(annotation_file, image_dir=None, *, class_names=None, keep_empty: bool = True,
              strict: bool = True, source: str = "coco",
              max_image_pixels: int | None = None) -> InstanceDataset:
    """Read a COCO instances JSON into a prepared :class:`InstanceDataset`.

    ``image_dir``: folder of the images (default: guessed, see ``files.guess_image_dir``).
    ``class_names``: keep only these categories (others are counted in ``skipped``).
    ``keep_empty``: keep images without (kept) annotations. Category ids stay the source ids
    (``class_info[i]["id"]``) and map to contiguous class ids 1..K in category-id order;
    ``iscrowd`` annotations get negative class ids. Image ids are COCO's.
    ``max_image_pixels``: images larger than this (width x height, default
    ``image_io.MAX_IMAGE_PIXELS``) are errors, refused before decoding.

    Refused as errors: two categories with one id or one name, two images with one id (also
    ``1`` and ``"1"``) or one file name, two annotations with one id (or one annotation listed
    twice), annotations of an image id not in ``images`` (saying when only the type differs).
    """
    path = os.fspath(annotation_file)
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
    wanted = set(names_by_id)
    if class_names is not None:
        unknown = set(class_names) - set(names_by_id.values())
        if unknown:
            raise DatasetError(f"{path}: no categories named {sorted(unknown)}; the file has "
                               f"{sorted(set(names_by_id.values()))}")
        wanted = {i for i, n in names_by_id.items() if n in set(class_names)}
    for cat_id in sorted(wanted):
        dataset.add_class(source, cat_id, names_by_id[cat_id])

    image_dir = os.fspath(image_dir) if image_dir is not None else guess_image_dir(path)
    records, seen_names, dropped = {}, {}, set()
    id_by_text = {}  # str(image id) -> image id: 1 and "1" must not be two images
    for k, record in enumerate(images):
        item, image_id = f"image record {k}", None
        try:
            image_id = _require(record, "id", (int, str), item)
            item = f"image {image_id!r}"
            file_name = _require(record, "file_name", str, item)
            item = f"image {image_id!r} ({shown(file_name)})"
            width = int(number(_require(record, "width", (int, float), item), "width"))
            height = int(number(_require(record, "height", (int, float), item), "height"))
            if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
                raise ItemError(f"image size {width}x{height} is not between 1 and {MAX_SIDE}")
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
                image_path = image_path_in_root(image_dir, file_name)
            except DatasetError as err:
                raise ItemError(str(err)) from None
        except ItemError as err:
            if image_id is not None and image_id not in records:
                dropped.add(image_id)
            problems.error(path, item, str(err))
            continue
        seen_names[file_name] = image_id
        id_by_text[str(image_id)] = image_id
        extras = {k2: v for k2, v in record.items()
                  if k2 not in ("id", "file_name", "width", "height", "path", "source")}
        records[image_id] = dict(path=image_path, file_name=file_name, width=width,
                                 height=height, instances=[], **extras)

    seen_annotations = {}  # annotation id (or, without one, its JSON) -> index
    for k, ann in enumerate(annotations):
        item = f"annotation {k}"
        try:
            if isinstance(ann, dict) and "id" in ann:
                item = f"annotation {k} (id {_shown_id(ann['id'])})"
            image_id = _require(ann, "image_id", (int, str), item)
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
            item = f"image {image_id!r} ({shown(record['file_name'])}), {item}"
            key = _annotation_key(ann)
            if key in seen_annotations:
                raise ItemError(
                    f"same {'id' if 'id' in ann else 'annotation'} as annotation "
                    f"{seen_annotations[key]}: an annotation listed twice would give a "
                    "duplicate instance; remove one (or give each annotation its own id)")
            seen_annotations[key] = k
            if category_id not in names_by_id:
                raise ItemError(f"unknown category id {category_id}; the file defines "
                                f"{sorted(names_by_id)}")
            if category_id not in wanted:
                dataset.skip("annotations of other classes")
                continue
            crowd = ann.get("iscrowd", 0)
            if crowd not in (0, 1, True, False):
                raise ItemError(f"iscrowd must be 0 or 1, got {crowd!r:.20}")
            segmentation = ann.get("segmentation")
            if segmentation is None or segmentation == []:
                raise ItemError("no segmentation (a box-only annotation has no mask)")
            w, h = record["width"], record["height"]
            if isinstance(segmentation, dict):
                check_size = segmentation.get("size")
                if not isinstance(segmentation.get("counts"), (str, list)):
                    raise ItemError("an RLE segmentation needs 'counts' (a string or a list)")
                if check_size != [h, w]:
                    raise ItemError(f"RLE size {check_size!r:.40} does not match the image "
                                    f"size [height, width] = [{h}, {w}]")
                instance = Instance(f"{source}.{category_id}", bool(crowd), "rle",
                                    segmentation, item)
            else:
                parts = polygons_instance(segmentation, w, h, problems, path, item)
                instance = Instance(f"{source}.{category_id}", bool(crowd), "polygon", parts,
                                    item)
        except ItemError as err:
            problems.error(path, item, str(err))
            continue
        record["instances"].append(instance)

    for image_id, record in records.items():
        if not record["instances"] and not keep_empty:
            dataset.skip("images without annotations")
            continue
        dataset.add_image(source, image_id, **record)
    dataset.max_image_pixels = max_image_pixels
    dataset.prepare()
    dataset.annotation_file = path
    return dataset
