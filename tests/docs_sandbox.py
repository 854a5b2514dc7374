"""The folder the README's and docs' examples run in (tests/test_docs_examples.py): tiny
datasets of synthetic shapes, 64 px, under the names the examples use, in each annotation
tool's own layout, and a tiny checkpoint where the examples' CKPT points."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
from PIL import Image

# The checkpoint path the examples write after train (train prints its own).
CHECKPOINT = "logs/custom20260101T1200/mask_rcnn_custom_0012.h5"


def _render(root, split: str, count: int, seed: int):
    """``count`` shapes images as PNGs in ``root/split``, and their COCO dict (RLE masks)."""
    from pycocotools import mask as mask_util

    from maskrcnn.data import ShapesDataset

    data = ShapesDataset(count, 64, 64, seed=seed)
    folder = os.path.join(root, split)
    os.makedirs(folder, exist_ok=True)
    images, annotations = [], []
    for k in range(count):
        name = f"{split}_{k:03d}.png"
        Image.fromarray(data.load_image(k)).save(os.path.join(folder, name))
        images.append({"id": k + 1, "file_name": name, "width": 64, "height": 64})
        masks, class_ids = data.load_mask(k)
        for i, class_id in enumerate(class_ids.tolist()):
            rle = mask_util.encode(np.asfortranarray(masks[..., i].astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            annotations.append({"id": len(annotations) + 1, "image_id": k + 1,
                                "category_id": int(class_id), "segmentation": rle,
                                "area": int(masks[..., i].sum()), "iscrowd": 0,
                                "bbox": [float(v) for v in mask_util.toBbox(rle)]})
    categories = [{"id": i, "name": n} for i, n in enumerate(data.class_names[1:], start=1)]
    return {"images": images, "annotations": annotations, "categories": categories}


def build(root, checkpoint: str) -> None:
    """The sandbox in ``root``: the COCO export of a tool (``cvat_export/``), the same images
    as a VIA dataset (``balloon/``), a LabelMe folder (``labelme_data/``), a YOLO dataset
    (``yolo_data/``), new photos (``new_photos/``) and ``checkpoint`` at :data:`CHECKPOINT`."""
    from maskrcnn.data import load_coco, write_dataset

    root = str(root)
    export = os.path.join(root, "cvat_export")
    coco = {"images": [], "annotations": [], "categories": None}
    for split, count, seed in (("train", 6, 0), ("val", 4, 1)):
        part = _render(os.path.join(export, "images"), split, count, seed)
        # per split, for the other tools' layouts
        os.makedirs(os.path.join(root, "parts"), exist_ok=True)
        with open(os.path.join(root, "parts", f"{split}.json"), "w") as f:
            json.dump(part, f)
        for image in part["images"]:
            image["id"] += len(coco["images"]) + 100 * (split == "val")
            image["file_name"] = f"{split}/{image['file_name']}"
        for ann in part["annotations"]:
            ann["image_id"] += len(coco["images"]) + 100 * (split == "val")
            ann["id"] += len(coco["annotations"])
        coco["images"] += part["images"]
        coco["annotations"] += part["annotations"]
        coco["categories"] = part["categories"]
    os.makedirs(os.path.join(export, "annotations"), exist_ok=True)
    with open(os.path.join(export, "annotations", "instances_default.json"), "w") as f:
        json.dump(coco, f)
    for split in ("train", "val"):
        part = load_coco(os.path.join(root, "parts", f"{split}.json"),
                         os.path.join(export, "images", split))
        via = os.path.join(root, "balloon", split)
        shutil.copytree(os.path.join(export, "images", split), via)
        write_dataset(part, "via", os.path.join(via, "via_region_data.json"))
        labelme = os.path.join(root, "labelme_data", split)
        shutil.copytree(os.path.join(export, "images", split), labelme)
        write_dataset(load_coco(os.path.join(root, "parts", f"{split}.json"), labelme),
                      "labelme", labelme)
        write_dataset(part, "yolo", os.path.join(root, "yolo_data"), split=split)
    shutil.copytree(os.path.join(export, "images", "val"), os.path.join(root, "new_photos"))
    shutil.rmtree(os.path.join(root, "parts"))
    os.makedirs(os.path.dirname(os.path.join(root, CHECKPOINT)))
    shutil.copy(checkpoint, os.path.join(root, CHECKPOINT))
