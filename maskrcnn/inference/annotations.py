"""A detect run's detections as annotations to correct in a tool (``detect --annotations``).

Reads the run's ``detections.json`` back one image at a time (its masks are COCO RLE) and
writes them with :func:`maskrcnn.data.writers.write_predictions` under
``OUTPUT/annotations/``: a VIA 2 project, COCO JSON (CVAT, Label Studio), LabelMe JSON per
image or YOLO labels. Only the detections the run kept (``min_confidence``, ``classes``) are
written, each with its score where the format has a place for it.
"""
from __future__ import annotations

import os

import numpy as np
from pycocotools import mask as mask_utils

from ..data.writers import FORMATS, write_predictions
from ..progress import progress_bar

ANNOTATIONS_FOLDER = "annotations"


def prediction_records(detections: dict):
    """Yield :func:`write_predictions` records from a detections.json dict, one image at a
    time (masks decoded from RLE to (H, W, N) bool; never the whole run at once)."""
    by_image: dict = {}
    for annotation in detections["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    for image in detections["images"]:
        found = by_image.get(image["id"], [])
        h, w = int(image["height"]), int(image["width"])
        masks = (np.stack([mask_utils.decode(a["segmentation"]).astype(bool) for a in found],
                          axis=-1) if found else np.zeros((h, w, 0), bool))
        yield {"file_name": image["file_name"], "path": image["path"], "height": h, "width": w,
               "result": {"class_ids": np.array([a["category_id"] for a in found], np.int64),
                          "scores": np.array([a.get("score", 1.0) for a in found]),
                          "masks": masks}}


def write_annotations(output: str, format: str, detections: dict, class_names,
                      progress: bool = True):
    """Write ``detections`` (a detections.json dict of a run into ``output``) as ``format``
    (coco, via, labelme, yolo) under ``output/annotations``; returns the WriteReport.
    ``progress``: a bar over the images, shown once the writing has taken 2 s."""
    if format not in FORMATS:
        raise ValueError(f"annotations format {format!r}: use one of {', '.join(FORMATS)}")
    paths = [image["path"] for image in detections["images"]]
    image_dir = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else None
    records = progress_bar(prediction_records(detections), total=len(paths), delay=2,
                           desc=f"writing {format} annotations", unit="image",
                           disable=not progress, leave=False)
    return write_predictions(records, format,
                             os.path.join(output, ANNOTATIONS_FOLDER), class_names,
                             image_dir=image_dir)
