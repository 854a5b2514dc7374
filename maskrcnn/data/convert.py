"""Conversion of any Dataset to COCO JSON, the interchange format pycocotools reads."""
from __future__ import annotations

import os

import numpy as np
from pycocotools import mask as mask_utils


def encode_rle(mask: np.ndarray) -> dict:
    """(H, W) bool mask -> COCO compressed RLE with a str ``counts`` (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def dataset_to_coco(dataset, image_ids=None) -> dict:
    """A COCO instances dict (images, annotations, categories) of a prepared Dataset.

    COCO image ids are 1-based positions (``image_ids`` order); each image record keeps the
    dataset's own id as ``source_id`` and the file name. Category ids are the dataset's class
    ids (1..num_classes-1). Masks become RLE; negative class ids (crowd) become ``iscrowd=1``.
    """
    image_ids = dataset.image_ids if image_ids is None else image_ids
    images, annotations = [], []
    for position, image_id in enumerate(image_ids, start=1):
        image, masks, class_ids = dataset.load_image_and_masks(int(image_id))
        h, w = image.shape[:2]
        info = dataset.image_info[int(image_id)]
        name = info.get("path") or f"{info['id']}.png"
        images.append({"id": position, "file_name": os.path.basename(str(name)), "height": h,
                       "width": w, "source_id": str(info["id"])})
        for i in range(masks.shape[-1]):
            rle = encode_rle(masks[..., i])
            x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
            annotations.append({
                "id": len(annotations) + 1, "image_id": position,
                "category_id": int(abs(class_ids[i])), "segmentation": rle,
                "area": float(mask_utils.area(rle)), "bbox": [x, y, bw, bh],
                "iscrowd": int(class_ids[i] < 0)})
    categories = [{"id": i, "name": dataset.class_names[i],
                   "supercategory": str(dataset.class_info[i]["source"])}
                  for i in range(1, dataset.num_classes)]
    return {"images": images, "annotations": annotations, "categories": categories}
