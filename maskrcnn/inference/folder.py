"""``detect_folder``: a model over files, folders and glob patterns, on top of the other
modules of this package (files, detector, state, run, shares).
"""
from __future__ import annotations

import os
import sys
import time

import pandas as pd

from ..errors import DatasetError
from ..progress import progress_bar
from .annotations import write_annotations
from .detector import (
    class_ids_of,
    class_names_of,
    device_scope,
    load_detector,
    operating_point,
)
from .files import IMAGE_EXTENSIONS, check_output, list_images
from .run import Run
from .shares import detections_file, format_summary, write_tables
from .state import RECORDS_FILE, load_state, plan, write_json


def detect_folder(model, inputs, output, min_confidence: float | None = None, classes=None,
                  batch_size: int | None = None, device: str | None = None,
                  save_masks: bool = False, resume: bool = False, config=None,
                  class_names=None, progress: bool = True,
                  annotations: str | None = None,
                  border_objects: str | None = None) -> pd.DataFrame:
    """Detect instances in every image ``inputs`` names; write the outputs to ``output``.

    Args:
        model: a MaskRCNN, or a checkpoint path (a matterport .h5 also needs ``config``:
            a Config, JSON text or a JSON file, and ``class_names``).
        inputs: a folder, file or glob pattern, or a list of them (see :func:`list_images`).
        output: the output folder (created); refused if it is an input folder or holds an
            input file. Earlier outputs of the same names are replaced.
        min_confidence: keep detections scoring at least this (default: the model's
            operating threshold, DETECTION_MIN_CONFIDENCE: calibrated in training).
        classes: class names to keep (default: all); also the classes of the CSV columns.
        batch_size: images per batch (default: the config's BATCH_SIZE).
        device: "cpu", "gpu", or None for TensorFlow's choice.
        save_masks: also write one PNG per instance.
        resume: skip images that an earlier run with the same settings finished.
        progress: show a progress bar, report unreadable files, print the summary.
        annotations: also write the kept detections as annotations to correct in a tool
            under ``output/annotations``: "via" (a VIA 2 project), "coco", "labelme" or
            "yolo" (:mod:`maskrcnn.inference.annotations`).
        border_objects: "count" or "drop" detections touching the image border (default:
            the config's DETECTION_BORDER_OBJECTS, learnt from the training annotations).

    Returns one row per image, as in images.csv (unreadable files have status "unreadable",
    the message in ``error`` and no counts); :func:`summarize` makes the per-class table.
    ``df.attrs`` holds the run's figures: images, processed (this run), detected (this
    run), resumed, unreadable, seconds, images_per_s, detect_seconds (in ``model.detect``).
    """
    output = os.path.abspath(os.fspath(output))
    files = list_images(inputs, exclude_dir=output)
    check_output(inputs, files, output)
    if not files:
        raise DatasetError(f"no image files found in {inputs} (extensions: "
                           f"{', '.join(sorted(IMAGE_EXTENSIONS))})")
    with device_scope(device):
        weights = None
        if not hasattr(model, "detect"):
            weights = os.path.abspath(os.fspath(model))
            model = load_detector(weights, config, class_names, min_confidence, batch_size)
        if border_objects is not None:
            model.config.DETECTION_BORDER_OBJECTS = border_objects
        names = class_names_of(model, class_names)
        if progress:
            print(operating_point(model, min_confidence))
        keep_ids = class_ids_of(classes, names)
        threshold = float(getattr(model.config, "DETECTION_MIN_CONFIDENCE", 0.0))
        if min_confidence is not None and weights is None and min_confidence < threshold:
            print(f"note: the model drops detections under DETECTION_MIN_CONFIDENCE = "
                  f"{threshold}; min_confidence {min_confidence} cannot bring them back",
                  file=sys.stderr)
        settings = {"weights": weights, "min_confidence": min_confidence,
                    "classes": None if keep_ids is None else [names[i] for i in keep_ids],
                    "masks": bool(save_masks), "class_names": names,
                    "border_objects": model.config.DETECTION_BORDER_OBJECTS}
        done = load_state(output, settings, resume)
        todo, resumed = plan(files, done)
        bar = progress_bar(total=len(files), initial=resumed, unit="img", desc="detect",
                           disable=not progress)
        run = Run(model, output, names, min_confidence, keep_ids, save_masks, files)
        start = time.perf_counter()
        with open(os.path.join(output, RECORDS_FILE), "a", encoding="utf-8") as f:
            stats = run.run(todo, int(batch_size or model.config.BATCH_SIZE), f, bar)
        seconds = time.perf_counter() - start
        bar.close()
    done.update({r["file"]: r for r in stats.pop("records")})
    df = write_tables(output, files, done, run.columns)
    detections = detections_file(files, done, names)
    write_json(os.path.join(output, "detections.json"), detections)
    if annotations:
        report = write_annotations(output, annotations, detections, names, progress)
        df.attrs["annotations"] = report
        if progress:
            print(report)
    detected = stats["detected"]
    df.attrs.update(images=len(files), resumed=resumed, seconds=seconds,
                    unreadable=int((df["status"] != "ok").sum()),
                    images_per_s=detected / seconds if detected and seconds > 0 else float("nan"),
                    **stats)
    if progress:
        print(format_summary(df))
    return df
