"""BDD100K instance segmentation: the Scalabel-format JSON (``poly2d`` or ``rle``) and bitmasks.

The JSON is a list of frames (or ``{"frames": [...]}``), each ``{"name": file name,
"labels": [...]}``; a label has ``category``, ``attributes`` (``crowd``, ``ignore``...) and
its shape: ``poly2d`` (a list of ``{"vertices": [[x, y], ...], "types": "LLCC...",
"closed": true}``, where each pair of ``C`` vertices are the control points of a cubic Bézier
curve from the vertex before them to the vertex after them), ``rle`` (COCO RLE, ``size`` =
[height, width]) or only ``box2d`` (a detection label: no mask).

Bitmasks are RGBA PNGs per image: R = category id (0 = background), G = attribute bits
(truncated << 3 | occluded << 2 | crowd << 1 | ignore), instance id = (B << 8) + A.
Crowd and ignore regions get negative class ids (kept out of training, kept for evaluation).
"""
from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ...errors import DatasetError
from ..files import SplitSource, every_split, load_json, register_image_file
from ..image_io import open_image, shown
from ..instances import Instance, InstanceDataset, clip_polygon, number
from ..problems import ItemError, ReportingDataset

#: BDD100K category ids of instance segmentation (1..8) and detection (9, 10).
BDD_CATEGORIES = {1: "pedestrian", 2: "rider", 3: "car", 4: "truck", 5: "bus", 6: "train",
                  7: "motorcycle", 8: "bicycle", 9: "traffic light", 10: "traffic sign"}
_ORDER = {name: i for i, name in BDD_CATEGORIES.items()}


def flatten_poly2d(vertices, types, steps: int = 8) -> list[float]:
    """Vertices with ``L`` (corner) and ``C`` (Bézier control point) types -> flat
    ``[x1, y1, ...]``, each cubic curve sampled at ``steps`` segments. Closed shapes wrap."""
    if not isinstance(vertices, list) or not vertices:
        raise ItemError("poly2d 'vertices' must be a non-empty list of [x, y]")
    points = []
    for v in vertices:
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ItemError(f"a poly2d vertex must be [x, y], got {v!r:.40}")
        points.append((number(v[0], "vertex x"), number(v[1], "vertex y")))
    if types is None:
        types = "L" * len(points)
    if not isinstance(types, str) or len(types) != len(points) or set(types) - {"L", "C"}:
        raise ItemError(f"poly2d 'types' must be a string of L and C, one per vertex "
                        f"({len(points)}), got {types!r:.40}")
    out, i, n = [], 0, len(points)
    t = np.linspace(0.0, 1.0, steps + 1)[1:-1, None]
    while i < n:
        if types[i] == "L":
            out.append(points[i])
            i += 1
            continue
        if not out or i + 1 >= n or types[i + 1] != "C":
            raise ItemError(f"poly2d vertex {i}: Bézier control points must come in pairs "
                            "after an L vertex")
        p0, p1, p2 = (np.array(p) for p in (out[-1], points[i], points[i + 1]))
        p3 = np.array(points[i + 2] if i + 2 < n else points[0])
        curve = ((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2
                 + t ** 3 * p3)
        out.extend(map(tuple, curve))
        i += 2
    return [c for p in out for c in p]


def _crowd(attributes) -> bool:
    if attributes is None:
        return False
    if not isinstance(attributes, dict):
        raise ItemError("'attributes' must be an object")
    return bool(attributes.get("crowd")) or bool(attributes.get("ignore"))


def _label_instance(label, width, height, box_masks):
    """(kind, data, points outside) of one label; ItemError when it has no usable mask."""
    if label.get("poly2d"):
        polys = label["poly2d"]
        if not isinstance(polys, list):
            raise ItemError("'poly2d' must be a list")
        parts, outside = [], 0
        for k, poly in enumerate(polys):
            if not isinstance(poly, dict):
                raise ItemError(f"poly2d {k} must be an object with 'vertices'")
            if poly.get("closed") is False:
                raise ItemError(f"poly2d {k} is an open polyline (closed: false) and has no "
                                "area")
            flat, n_out = clip_polygon(flatten_poly2d(poly.get("vertices"), poly.get("types")),
                                       width, height)
            if flat is None:
                raise ItemError(f"poly2d {k} has fewer than 3 points")
            parts.append(flat)
            outside += n_out
        return "polygon", parts, outside
    if label.get("rle") is not None:
        rle = label["rle"]
        if not isinstance(rle, dict) or not isinstance(rle.get("counts"), (str, list)):
            raise ItemError("'rle' must be an object with 'counts' and 'size'")
        if rle.get("size") != [height, width]:
            raise ItemError(f"RLE size {rle.get('size')!r:.40} does not match the image "
                            f"[{height}, {width}]")
        return "rle", rle, 0
    box = label.get("box2d")
    if box is not None and box_masks:
        if not isinstance(box, dict):
            raise ItemError("'box2d' must be an object with x1, y1, x2, y2")
        x1, y1, x2, y2 = (number(box.get(k), f"box2d {k}") for k in ("x1", "y1", "x2", "y2"))
        flat, outside = clip_polygon([x1, y1, x2, y1, x2, y2, x1, y2], width, height)
        return "polygon", [flat], outside
    if box is not None:
        raise ItemError("label has only a box2d and no mask; pass box_masks=True to use the "
                        "box rectangle as its mask")
    raise ItemError("label has no poly2d, rle or box2d")


def load_bdd(label_file, image_dir=None, *, categories=None, box_masks: bool = False,
             strict: bool = True, source: str = "bdd",
             max_image_pixels: int | None = None) -> InstanceDataset:
    """Read a BDD100K ins_seg JSON (poly2d or RLE labels) into a prepared InstanceDataset.

    ``image_dir``: folder of the images (default: the JSON's folder). ``categories``: names to
    keep (e.g. ``["car", "traffic sign", "bicycle"]``), in class order; labels of other
    categories are counted in ``skipped``. Default: every category found, in BDD's order.
    ``box_masks``: use box2d rectangles as masks (only when asked: they are not masks).
    Image ids are the frame names; sizes are read from the image files.
    ``max_image_pixels``: images larger than this (width x height, default
    ``image_io.MAX_IMAGE_PIXELS``) are errors, refused before decoding.
    """
    path = os.fspath(label_file)
    image_dir = os.fspath(image_dir) if image_dir is not None else os.path.dirname(
        os.path.abspath(path))
    data = load_json(path)
    frames = data.get("frames") if isinstance(data, dict) else data
    if not isinstance(frames, list):
        raise DatasetError(f"{path}: a BDD100K label file holds a list of frames (or "
                           "{'frames': [...]}) with 'name' and 'labels'")
    has_masks = has_boxes = False
    for frame in frames:
        labels = frame.get("labels") if isinstance(frame, dict) else None
        for label in labels if isinstance(labels, list) else []:
            if isinstance(label, dict):
                has_masks |= bool(label.get("poly2d")) or label.get("rle") is not None
                has_boxes |= label.get("box2d") is not None
    if has_boxes and not has_masks and not box_masks:
        raise DatasetError(f"{path}: the labels carry only boxes (box2d), no masks: this is a "
                           "detection label file. Use the ins_seg polygons, RLE or bitmasks, or "
                           "pass box_masks=True to use rectangles as masks")
    dataset = InstanceDataset(strict)
    problems = dataset.problems
    wanted = None if categories is None else list(categories)
    images, seen = [], set()
    for f, frame in enumerate(frames):
        item = f"frame {f}"
        try:
            if not isinstance(frame, dict) or not isinstance(frame.get("name"), str):
                raise ItemError("a frame must be an object with a 'name'")
            name = frame["name"]
            item = f"frame {f} ({shown(name)})"
            labels = frame.get("labels") or []
            if not isinstance(labels, list):
                raise ItemError("'labels' must be a list")
            image_path, width, height = register_image_file(image_dir, name, seen,
                                                            max_image_pixels)
        except ItemError as err:
            problems.error(path, item, str(err))
            continue
        found = []
        for k, label in enumerate(labels):
            label_item = f"{item}, label {k}"
            try:
                if not isinstance(label, dict) or not isinstance(label.get("category"), str):
                    raise ItemError("a label must be an object with a 'category'")
                category = label["category"]
                if wanted is not None and category not in wanted:
                    dataset.skip("labels of other categories")
                    continue
                crowd = _crowd(label.get("attributes"))
                kind, data, outside = _label_instance(label, width, height, box_masks)
            except ItemError as err:
                problems.error(path, label_item, str(err))
                continue
            if outside:
                problems.warning(path, label_item, f"{outside} point(s) outside the "
                                 f"{width}x{height} image; the mask is clipped to the image")
            found.append((category, crowd, kind, data, label_item))
        images.append({"id": name, "path": image_path, "file_name": name, "width": width,
                       "height": height, "found": found,
                       "attributes": frame.get("attributes") or {}})

    names = wanted if wanted is not None else sorted(
        {x[0] for image in images for x in image["found"]},
        key=lambda n: (_ORDER.get(n, 99), n))
    ids = {name: i for i, name in enumerate(names, start=1)}
    for name in names:
        dataset.add_class(source, ids[name], name)
    for image in images:
        image["instances"] = [Instance(f"{source}.{ids[c]}", crowd, kind, data, item)
                              for c, crowd, kind, data, item in image.pop("found")]
        dataset.add_image(source, image.pop("id"), **image)
    dataset.max_image_pixels = max_image_pixels
    dataset.prepare()
    dataset.annotation_file = path
    return dataset


class BddBitmaskDataset(ReportingDataset):
    """BDD100K ins_seg bitmasks: one RGBA PNG per image, decoded in ``load_mask``."""

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, N) bool and (N,) int32 class ids (negative for crowd / ignore)."""
        info = self.image_info[image_id]
        png = info["bitmask"]
        try:
            with open_image(png, getattr(self, "max_image_pixels", None)) as img:
                if img.mode != "RGBA":
                    raise DatasetError(f"{png}: a BDD100K bitmask must be an RGBA PNG, got mode "
                                       f"{img.mode}")
                rgba = np.asarray(img).astype(np.int32)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
                Image.DecompressionBombError) as err:
            raise DatasetError(f"{png}: cannot read bitmask ({err})") from None
        category, attrs = rgba[..., 0], rgba[..., 1]
        instance = (rgba[..., 2] << 8) + rgba[..., 3]
        masks, class_ids = [], []
        for iid in np.unique(instance[category > 0]):
            mask = (instance == iid) & (category > 0)
            cats = np.unique(category[mask])
            if len(cats) != 1:
                raise DatasetError(f"{png}: instance {iid} has pixels of several categories "
                                   f"{cats.tolist()}")
            key = f"{self.source_name}.{int(cats[0])}"
            if key not in self.class_from_source_map:
                if int(cats[0]) in info["other_categories"]:
                    continue  # left out by the category filter
                raise DatasetError(f"{png}: instance {iid} has unknown category id "
                                   f"{int(cats[0])}; known: {sorted(self.categories)}")
            crowd = bool(np.any(attrs[mask] & 0b11))
            class_id = self.class_from_source_map[key]
            masks.append(mask)
            class_ids.append(-class_id if crowd else class_id)
        h, w = category.shape
        if not masks:
            return np.zeros((h, w, 0), dtype=bool), np.zeros((0,), dtype=np.int32)
        return np.stack(masks, axis=-1), np.array(class_ids, dtype=np.int32)


def load_bdd_bitmasks(bitmask_dir, image_dir, *, categories=None, category_names=None,
                      image_ext: str = ".jpg", strict: bool = True, source: str = "bdd",
                      max_image_pixels: int | None = None) -> BddBitmaskDataset:
    """Read a folder of BDD100K ins_seg bitmask PNGs (``<name>.png`` for ``<name><image_ext>``).

    ``category_names``: id -> name of the R channel (default: BDD's ins_seg table, 1..8).
    ``categories``: names to keep. Missing images are errors (strict) or reported.
    ``max_image_pixels``: pixel limit of images and bitmasks (default
    ``image_io.MAX_IMAGE_PIXELS``), checked before decoding.
    """
    bitmask_dir, image_dir = os.fspath(bitmask_dir), os.fspath(image_dir)
    if not os.path.isdir(bitmask_dir):
        raise DatasetError(f"{bitmask_dir}: bitmask folder not found")
    table = dict(category_names or {i: BDD_CATEGORIES[i] for i in range(1, 9)})
    if categories is not None:
        unknown = set(categories) - set(table.values())
        if unknown:
            raise DatasetError(f"unknown BDD100K categories {sorted(unknown)}; the bitmasks "
                               f"have {sorted(table.values())}")
    dataset = BddBitmaskDataset(strict)
    dataset.source_name, dataset.categories = source, table
    dataset.max_image_pixels = max_image_pixels
    for cid in sorted(table):
        if categories is None or table[cid] in categories:
            dataset.add_class(source, cid, table[cid])
    others = {cid for cid in table if categories is not None and table[cid] not in categories}
    for file in sorted(os.listdir(bitmask_dir)):
        if not file.lower().endswith(".png"):
            continue
        stem = os.path.splitext(file)[0]
        image_path = os.path.join(image_dir, stem + image_ext)
        if not os.path.isfile(image_path):
            dataset.problems.error(os.path.join(bitmask_dir, file), f"image {stem!r}",
                                   f"no image {image_path} for this bitmask")
            continue
        dataset.add_image(source, stem, image_path, bitmask=os.path.join(bitmask_dir, file),
                          file_name=stem + image_ext, other_categories=others)
    dataset.prepare()
    return dataset


def splits(path) -> dict[str, SplitSource]:
    """The splits ``path`` offers: a label JSON or a bitmask folder names none, so it is read
    whatever split is asked (:func:`maskrcnn.data.files.every_split`)."""
    return every_split(path)


def load(split_source: SplitSource, **options):
    """Read a label JSON (:func:`load_bdd`) or a bitmask folder (:func:`load_bdd_bitmasks`,
    which needs the image folder); ``options`` go to the reader."""
    path, images = split_source
    if not os.path.isdir(path):
        return load_bdd(path, images, **options)
    if images is None:
        raise DatasetError(f"{path}: BDD100K bitmasks need the image folder (images=)")
    return load_bdd_bitmasks(path, images, **options)
