"""Conversion of any Dataset to COCO JSON, the interchange format pycocotools reads."""
from __future__ import annotations

import os

import numpy as np
from pycocotools import mask as mask_utils

from .files import check_writable, write_json


def encode_rle(mask: np.ndarray) -> dict:
    """(H, W) bool mask -> COCO compressed RLE with a str ``counts`` (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def dataset_to_coco(dataset, image_ids=None) -> dict:
    """A COCO instances dict (images, annotations, categories) of a prepared Dataset.

    COCO image ids are 1-based positions (``image_ids`` order); each image record keeps the
    dataset's own id as ``source_id`` and the file name (``image_info["file_name"]`` when the
    reader stored one, else the base name of the path). Category ids are the dataset's class
    ids (1..num_classes-1). Negative class ids (crowd) become ``iscrowd=1``.

    Masks become RLE, except polygons, which are kept: a dataset that has a method
    ``load_polygons(image_id)`` returning, parallel to ``load_mask``'s instances, a COCO
    polygon list (``[[x1, y1, x2, y2, ...], ...]`` in pixels) or None per instance, gets
    those polygons as ``segmentation`` for its non-crowd instances (the COCO, VIA and BDD
    readers have it). Area and bbox always come from the mask.
    """
    image_ids = dataset.image_ids if image_ids is None else image_ids
    load_polygons = getattr(dataset, "load_polygons", None)
    images, annotations = [], []
    for position, image_id in enumerate(image_ids, start=1):
        image, masks, class_ids = dataset.load_image_and_masks(int(image_id))
        h, w = image.shape[:2]
        info = dataset.image_info[int(image_id)]
        name = info.get("file_name") or os.path.basename(
            str(info.get("path") or f"{info['id']}.png"))
        images.append({"id": position, "file_name": str(name), "height": h,
                       "width": w, "source_id": str(info["id"])})
        polygons = load_polygons(int(image_id)) if load_polygons else [None] * masks.shape[-1]
        if len(polygons) != masks.shape[-1]:
            polygons = [None] * masks.shape[-1]
        for i in range(masks.shape[-1]):
            rle = encode_rle(masks[..., i])
            x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
            crowd = bool(class_ids[i] < 0)
            segmentation = polygons[i] if polygons[i] is not None and not crowd else rle
            annotations.append({
                "id": len(annotations) + 1, "image_id": position,
                "category_id": int(abs(class_ids[i])), "segmentation": segmentation,
                "area": float(mask_utils.area(rle)), "bbox": [x, y, bw, bh],
                "iscrowd": int(crowd)})
    categories = [{"id": i, "name": dataset.class_names[i],
                   "supercategory": str(dataset.class_info[i]["source"])}
                  for i in range(1, dataset.num_classes)]
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco_json(dataset, output, image_ids=None, inputs=()) -> dict:
    """Write :func:`dataset_to_coco` to ``output`` (atomically: temporary file, then rename;
    never over one of ``inputs``, checked first); returns the dict."""
    check_writable(output, inputs)
    coco = dataset_to_coco(dataset, image_ids)
    write_json(output, coco, inputs=inputs)
    return coco
