"""Writing annotations: a Dataset, or a model's predictions, as files annotation tools open.

Formats (``FORMATS``) and what each carries:

* ``coco``: one COCO instances JSON (``images``, ``annotations``, ``categories``; CVAT and
  Label Studio import it). A Dataset keeps its polygons and writes other masks as RLE (see
  :func:`maskrcnn.data.convert.dataset_to_coco`); predictions are polygons (a list of parts,
  holes joined by keyhole cuts) with a ``score`` on each annotation.
* ``via``: a VIA 2 project (``_via_settings``, ``_via_img_metadata``, ``_via_attributes``,
  ``_via_data_format_version``, ``_via_image_id_list``; open it with Project > Load). One
  polygon region per instance (several parts joined by zero-width bridges), the class in the
  region attribute ``class`` (a dropdown of all classes) and, for predictions, the score in
  the text attribute ``score``. Read it back with ``load_via(file, images,
  class_attribute="class")``.
* ``labelme``: one LabelMe JSON per image (``<image stem>.json``), one polygon shape per part,
  the parts of one instance sharing a ``group_id``; predictions carry the score in each
  shape's ``description`` (and a ``score`` key, which LabelMe keeps).
* ``yolo``: ultralytics segmentation labels (``labels/<stem>.txt``, one line ``class x1 y1
  ...`` per instance, parts joined by bridges as ultralytics does), the images copied (hard
  links where possible) to ``images/``, and ``data.yaml`` with ``names``; no scores (the
  format has none).

What is lost: VIA and YOLO have no crowd flag (crowd regions are left out and counted);
LabelMe writes them as its ``__ignore__`` shapes, which hold for every class (a crowd region
of some classes only is counted); none of the three has holes (keyhole cuts keep the pixels,
not the topology); masks become polygons simplified within ``tolerance`` pixels, and parts
or holes under ``min_area`` pixels are dropped or filled (counted in the report). COCO from a
Dataset loses nothing.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from pycocotools import mask as mask_utils

from ..errors import DatasetError
from .files import check_writable, replacing, write_json
from .instances import IGNORE
from .polygons import MIN_AREA, TOLERANCE, join_parts, mask_to_polygons

FORMATS = ("coco", "via", "labelme", "yolo")
#: Default file of the formats written as one JSON, when the output is a folder.
DEFAULT_FILES = {"coco": "annotations.json", "via": "via_project.json"}
VIA_VERSION = "2.0.10"
LABELME_VERSION = "5.5.0"


@dataclass
class WriteReport:
    """What a writer wrote: ``images``, ``instances``, mask parts dropped below the area
    threshold (``fragments_dropped``), holes filled (``holes_filled``), instances left with no
    polygon at all (``instances_dropped``), other things left out (``skipped``) and the
    ``files`` written."""

    format: str
    output: str
    images: int = 0
    instances: int = 0
    fragments_dropped: int = 0
    holes_filled: int = 0
    instances_dropped: int = 0
    skipped: dict = field(default_factory=dict)
    files: list = field(default_factory=list)

    def skip(self, what: str, count: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + count

    def __str__(self) -> str:
        text = (f"{self.images} images, {self.instances} instances written as {self.format} "
                f"to {self.output}")
        extra = [f"{n} {what}" for what, n in (
            ("mask fragments dropped (under the area threshold)", self.fragments_dropped),
            ("holes filled (under the area threshold)", self.holes_filled),
            ("instances with no polygon left, dropped", self.instances_dropped))
            if n] + [f"{n} {what}" for what, n in self.skipped.items()]
        return text + "".join(f"\n  {e}" for e in extra)


class _Shape(NamedTuple):
    """One instance to write: class name, flat pixel polygons (parts), score or None."""

    name: str
    parts: list
    score: float | None


class _Image(NamedTuple):
    file_name: str
    path: str | None
    width: int
    height: int
    shapes: list


def _traced(mask, report: WriteReport, tolerance: float, min_area: int) -> list:
    result = mask_to_polygons(mask, tolerance, min_area)
    report.fragments_dropped += result.dropped
    report.holes_filled += result.holes_filled
    if not result.parts:
        report.instances_dropped += 1
    return result.parts


# ---------------------------------------------------------------------------- inputs
def _dataset_images(dataset, image_ids, report, tolerance, min_area, fmt) -> list:
    load_polygons = getattr(dataset, "load_polygons", None)
    images = []
    for image_id in dataset.image_ids if image_ids is None else image_ids:
        info = dataset.image_info[int(image_id)]
        masks, class_ids = dataset.load_mask(int(image_id))
        height, width = masks.shape[:2]
        polygons = load_polygons(int(image_id)) if load_polygons else None
        if polygons is None or len(polygons) != masks.shape[-1]:
            polygons = [None] * masks.shape[-1]
        shapes, ignored = [], {}
        for i, class_id in enumerate(class_ids.tolist()):
            if class_id < 0 and fmt != "labelme":
                report.skip(f"crowd regions left out ({fmt} has no crowd flag)")
                continue
            if class_id < 0:  # one __ignore__ shape per region, however many classes it has
                ignored.setdefault(masks[..., i].tobytes(), []).append(i)
                if len(ignored[masks[..., i].tobytes()]) > 1:
                    continue
            parts = [p for p in polygons[i] or [] if len(p) >= 6]
            parts = parts or _traced(masks[..., i], report, tolerance, min_area)
            if parts:
                shapes.append(_Shape(IGNORE if class_id < 0 else dataset.class_names[class_id],
                                     parts, None))
        for group in ignored.values():
            if len(group) < dataset.num_classes - 1:
                report.skip("crowd regions of some classes only, written as __ignore__ "
                            "(LabelMe ignores a region for every class)")
        name = info.get("file_name") or os.path.basename(
            str(info.get("path") or f"{info['id']}.png"))
        images.append(_Image(str(name), info.get("path"), width, height, shapes))
    return images


def _prediction_images(records, class_names, image_dir, report, tolerance, min_area) -> list:
    images = []
    for n, record in enumerate(records):
        where = f"prediction record {n}"
        if not isinstance(record, dict) or not isinstance(record.get("file_name"), str):
            raise DatasetError(f"{where}: needs a dict with 'file_name' (and 'result' or "
                               "rois/class_ids/scores/masks)")
        where = f"prediction record {n} ({record['file_name']})"
        result = record.get("result", record)
        masks = np.asarray(result.get("masks"))
        class_ids = np.asarray(result.get("class_ids", []), dtype=np.int64).reshape(-1)
        scores = np.asarray(result.get("scores", np.ones(len(class_ids))),
                            dtype=np.float64).reshape(-1)
        if masks.ndim != 3 or masks.shape[-1] != len(class_ids) or len(scores) != len(
                class_ids):
            raise DatasetError(f"{where}: masks must be (H, W, N) with N class_ids and scores, "
                               f"got masks {masks.shape}, {len(class_ids)} class ids, "
                               f"{len(scores)} scores")
        height = int(record.get("height", masks.shape[0]))
        width = int(record.get("width", masks.shape[1]))
        if (height, width) != masks.shape[:2]:
            raise DatasetError(f"{where}: the image is {width}x{height} but the masks are "
                               f"{masks.shape[1]}x{masks.shape[0]}; pass masks at the size of "
                               "the original image (as detect returns them)")
        shapes = []
        for i, class_id in enumerate(class_ids.tolist()):
            if not 0 < class_id < len(class_names):
                raise DatasetError(f"{where}: instance {i}: class id {class_id} is not in "
                                   f"class_names (1..{len(class_names) - 1}; 0 is BG)")
            parts = _traced(masks[..., i], report, tolerance, min_area)
            if parts:
                shapes.append(_Shape(str(class_names[class_id]), parts, float(scores[i])))
        path = record.get("path") or (os.path.join(image_dir, record["file_name"])
                                      if image_dir is not None else None)
        images.append(_Image(record["file_name"], path, width, height, shapes))
    return images


# ---------------------------------------------------------------------------- formats
def _json_output(output: str, fmt: str) -> str:
    return output if output.lower().endswith(".json") else os.path.join(
        output, DEFAULT_FILES[fmt])


def _rle_of(parts: list, height: int, width: int) -> dict:
    return mask_utils.merge(mask_utils.frPyObjects(parts, height, width))


def _write_coco(images, classes, output, report) -> None:
    coco_images, annotations = [], []
    ids = {name: i for i, name in enumerate(classes, start=1)}
    for position, image in enumerate(images, start=1):
        coco_images.append({"id": position, "file_name": image.file_name,
                            "width": image.width, "height": image.height})
        for shape in image.shapes:
            rle = _rle_of(shape.parts, image.height, image.width)
            annotation = {"id": len(annotations) + 1, "image_id": position,
                          "category_id": ids[shape.name], "segmentation": shape.parts,
                          "area": float(mask_utils.area(rle)),
                          "bbox": [float(v) for v in mask_utils.toBbox(rle)], "iscrowd": 0}
            if shape.score is not None:
                annotation["score"] = round(shape.score, 5)
            annotations.append(annotation)
    categories = [{"id": i, "name": name, "supercategory": ""} for name, i in ids.items()]
    report.files.append(write_json(output, {
        "info": {"description": "written by maskrcnn"}, "licenses": [], "images": coco_images,
        "annotations": annotations, "categories": categories}))
    report.instances += len(annotations)


def _common_folder(images) -> str:
    folders = {os.path.dirname(os.path.abspath(i.path)) for i in images if i.path}
    return next(iter(folders)) + os.sep if len(folders) == 1 else ""


def via_project(images, classes, class_attribute: str = "class", name: str = "maskrcnn"):
    """A VIA 2 project dict of ``_Image`` records (see the module docstring)."""
    metadata = {}
    with_scores = any(s.score is not None for i in images for s in i.shapes)
    for image in images:
        size = os.path.getsize(image.path) if image.path and os.path.isfile(image.path) else -1
        regions = []
        for shape in image.shapes:
            xy = np.asarray(join_parts(shape.parts)).reshape(-1, 2)
            attributes = {class_attribute: shape.name}
            if shape.score is not None:
                attributes["score"] = f"{shape.score:.3f}"
            regions.append({"shape_attributes": {
                "name": "polygon", "all_points_x": xy[:, 0].round(1).tolist(),
                "all_points_y": xy[:, 1].round(1).tolist()}, "region_attributes": attributes})
        metadata[f"{image.file_name}{size}"] = {"filename": image.file_name, "size": size,
                                                "regions": regions, "file_attributes": {}}
    region_attributes = {class_attribute: {
        "type": "dropdown", "description": "class", "options": {c: "" for c in classes},
        "default_options": {}}}
    if with_scores:
        region_attributes["score"] = {"type": "text", "description": "model score",
                                      "default_value": ""}
    settings = {
        "ui": {"annotation_editor_height": 25, "annotation_editor_fontsize": 0.8,
               "leftsidebar_width": 18,
               "image_grid": {"img_height": 80, "rshape_fill": "none",
                              "rshape_fill_opacity": 0.3, "rshape_stroke": "yellow",
                              "rshape_stroke_width": 2, "show_region_shape": True,
                              "show_image_policy": "all"},
               "image": {"region_label": class_attribute, "region_color": class_attribute,
                         "region_label_font": "10px Sans",
                         "on_image_annotation_editor_placement": "NEAR_REGION"}},
        "core": {"buffer_size": 18, "filepath": {}, "default_filepath": _common_folder(images)},
        "project": {"name": name}}
    return {"_via_settings": settings, "_via_img_metadata": metadata,
            "_via_attributes": {"region": region_attributes, "file": {}},
            "_via_data_format_version": VIA_VERSION, "_via_image_id_list": list(metadata)}


def _write_via(images, classes, output, report, class_attribute) -> None:
    project = via_project(images, classes, class_attribute,
                          os.path.splitext(os.path.basename(output))[0])
    report.files.append(write_json(output, project))
    report.instances += sum(len(i.shapes) for i in images)


def _stem(file_name: str) -> str:
    return os.path.splitext(file_name.replace("\\", "/"))[0].replace("/", "__")


def _unique_stems(images) -> None:
    seen = {}
    for image in images:
        stem = _stem(image.file_name)
        if stem in seen:
            raise DatasetError(f"images {seen[stem]!r} and {image.file_name!r} would write the "
                               f"same file {stem}; rename one")
        seen[stem] = image.file_name


def _write_labelme(images, output, report) -> None:
    for image in images:
        json_path = os.path.join(output, _stem(image.file_name) + ".json")
        image_path = (os.path.relpath(os.path.abspath(image.path), os.path.abspath(output))
                      if image.path else image.file_name)
        shapes = []
        for k, shape in enumerate(image.shapes):
            group = k if len(shape.parts) > 1 else None
            for part in shape.parts:
                entry = {"label": shape.name,
                         "points": np.asarray(part).reshape(-1, 2).round(2).tolist(),
                         "group_id": group, "description": "", "shape_type": "polygon",
                         "flags": {}, "mask": None}
                if shape.score is not None:
                    entry["description"] = f"score {shape.score:.3f}"
                    entry["score"] = round(shape.score, 5)
                shapes.append(entry)
        report.files.append(write_json(json_path, {
            "version": LABELME_VERSION, "flags": {}, "shapes": shapes,
            "imagePath": image_path.replace(os.sep, "/"), "imageData": None,
            "imageHeight": image.height, "imageWidth": image.width}, indent=2))
        report.instances += len(image.shapes)


def _place_image(source: str | None, target: str, report) -> None:
    if not source or not os.path.isfile(source):
        report.skip("images not copied (file not found; copy them to images/ yourself)")
        return
    if os.path.exists(target) and os.path.samefile(source, target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.exists(target):
        os.remove(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _yolo_yaml(path: str, classes, split: str | None, overwrite: bool) -> dict:
    """The data.yaml to write at ``path``: the existing one with this split and ``classes``;
    refused (before anything is written) where it names other classes, unless ``overwrite``."""
    import yaml

    data = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        old = data.get("names")
        old = [old[i] for i in sorted(old)] if isinstance(old, dict) else old
        if old is not None and list(old) != list(classes) and not overwrite:
            raise DatasetError(f"{path}: already names the classes {list(old)}, not "
                               f"{list(classes)}; write to another folder (--output), or "
                               "pass --overwrite to replace them")
    folder = "images" if split is None else f"images/{split}"
    for key in ("train", "val") if split is None else (split,):
        data[key] = folder
    data.setdefault("train", folder)
    data.setdefault("val", folder)
    data["names"] = dict(enumerate(classes))
    return data


def _yolo_label(output: str, split: str | None, image) -> str:
    return os.path.join(output, "labels", *([] if split is None else [split]),
                        _stem(image.file_name) + ".txt")


def _write_yolo(images, classes, output, report, split, overwrite) -> None:
    import yaml

    yaml_path = os.path.join(output, "data.yaml")
    data = _yolo_yaml(yaml_path, classes, split, overwrite)
    index = {name: i for i, name in enumerate(classes)}
    sub = [] if split is None else [split]
    for image in images:
        stem = _stem(image.file_name)
        lines = []
        for shape in image.shapes:
            xy = np.asarray(join_parts(shape.parts)).reshape(-1, 2) / [image.width, image.height]
            lines.append(" ".join([str(index[shape.name])] + [f"{v:.6f}" for v in xy.ravel()]))
        label = _yolo_label(output, split, image)
        with replacing(label) as f:
            f.write("".join(line + "\n" for line in lines))
        report.files.append(label)
        extension = os.path.splitext(image.file_name)[1] or ".png"
        _place_image(image.path, os.path.join(output, "images", *sub, stem + extension), report)
        report.instances += len(lines)
    with replacing(yaml_path) as f:
        yaml.safe_dump(data, f, sort_keys=False, allow_unicode=True)
    report.files.append(yaml_path)


def _planned(images, fmt: str, output: str, split: str | None) -> list[str]:
    """The annotation files a writer will write (images that YOLO copies aside)."""
    if fmt in DEFAULT_FILES:
        return [output]
    if fmt == "labelme":
        return [os.path.join(output, _stem(i.file_name) + ".json") for i in images]
    return [_yolo_label(output, split, i) for i in images] + [
        os.path.join(output, "data.yaml")]


def annotation_files(*datasets) -> list[str]:
    """The annotation files the ``datasets`` were read from (a writer never replaces them)."""
    files = set()
    for dataset in datasets:
        files.add(getattr(dataset, "annotation_file", None))
        files.update(info.get(key) for info in dataset.image_info
                     for key in ("labelme_file", "label_file"))
    return sorted(f for f in files if isinstance(f, str) and os.path.isfile(f))


def _write(images, classes, fmt, output, report, class_attribute, split, inputs=(),
           overwrite=False) -> WriteReport:
    if fmt in ("labelme", "yolo"):
        _unique_stems(images)
    for path in _planned(images, fmt, output, split):
        check_writable(path, inputs)
    report.images = len(images)
    if fmt == "coco":
        _write_coco(images, classes, output, report)
    elif fmt == "via":
        _write_via(images, classes, output, report, class_attribute)
    elif fmt == "labelme":
        _write_labelme(images, output, report)
    else:
        _write_yolo(images, classes, output, report, split, overwrite)
    return report


def _output(fmt: str, output) -> str:
    if fmt not in FORMATS:
        raise DatasetError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    output = os.fspath(output)
    return _json_output(output, fmt) if fmt in DEFAULT_FILES else output


# ---------------------------------------------------------------------------- public
def write_dataset(dataset, format: str, output, *, image_ids=None,
                  tolerance: float = TOLERANCE, min_area: int = MIN_AREA,
                  class_attribute: str = "class", split: str | None = None,
                  inputs=None, overwrite: bool = False) -> WriteReport:
    """Write a prepared Dataset as ``format`` (coco, via, labelme, yolo) to ``output``.

    ``output``: for coco and via a ``.json`` file, or a folder (then ``annotations.json`` /
    ``via_project.json`` in it); for labelme and yolo a folder. Polygons the reader kept are
    written as they are; other masks are traced (``tolerance``, ``min_area``: see
    :func:`maskrcnn.data.polygons.mask_to_polygons`). ``class_attribute``: VIA's region
    attribute for the class. ``split``: yolo only, write ``images/<split>`` and
    ``labels/<split>`` and add the split to an existing ``data.yaml``.
    ``inputs``: files never to write over (default: the dataset's own,
    :func:`annotation_files`); everything is checked before the first file is written, and
    a refusal (DatasetError) leaves nothing behind. ``overwrite``: yolo, replace the class
    names of an existing ``data.yaml`` instead of refusing.
    Returns a :class:`WriteReport`.
    """
    output = _output(format, output)
    report = WriteReport(format, output)
    inputs = annotation_files(dataset) if inputs is None else list(inputs)
    if format == "coco":
        from .convert import write_coco_json

        coco = write_coco_json(dataset, output, image_ids, inputs=inputs)
        report.images, report.instances = len(coco["images"]), len(coco["annotations"])
        report.files.append(output)
        return report
    images = _dataset_images(dataset, image_ids, report, tolerance, min_area, format)
    return _write(images, list(dataset.class_names[1:]), format, output, report,
                  class_attribute, split, inputs, overwrite)


def write_predictions(records, format: str, output_dir, class_names, *, image_dir=None,
                      tolerance: float = TOLERANCE, min_area: int = MIN_AREA,
                      class_attribute: str = "class") -> WriteReport:
    """Write model predictions as annotations to correct in a tool (VIA, LabelMe, CVAT...).

    ``records``: an iterable of dicts, one per image::

        {"file_name": "photo1.jpg",       # relative to image_dir; written as the image name
         "height": H, "width": W,         # optional: default the masks' size
         "path": "/data/new/photo1.jpg",  # optional: default image_dir/file_name
         "result": r}                     # detect()'s dict: rois (N, 4) y1 x1 y2 x2,
                                          # class_ids (N,), scores (N,), masks (H, W, N) bool

    (the result's keys may also sit in the record itself). ``format``: coco, via, labelme or
    yolo. ``output_dir``: the folder to write (coco: ``annotations.json``, via:
    ``via_project.json``, a ``.json`` path also works for those; labelme: one JSON per image;
    yolo: labels/, images/, data.yaml). ``class_names``: matterport's list, indexed by class
    id, ``class_names[0]`` the background (never written). ``image_dir``: the images'
    folder (VIA's default path, LabelMe's relative imagePath, what YOLO copies).
    Masks are traced with ``tolerance`` pixels; parts under ``min_area`` pixels are dropped.
    Returns a :class:`WriteReport`: ``images``, ``instances`` written, ``fragments_dropped``,
    ``instances_dropped`` (nothing left after dropping), ``files``.
    """
    output = _output(format, output_dir)
    report = WriteReport(format, output)
    class_names = list(class_names)
    images = _prediction_images(records, class_names, image_dir, report, tolerance, min_area)
    return _write(images, [str(c) for c in class_names[1:]], format, output, report,
                  class_attribute, None)
