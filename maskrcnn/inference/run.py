"""The batched loop of a folder run: decodes images ahead of the model in threads, detects a
batch at a time, and shares, encodes and draws each image in writer threads.
"""
from __future__ import annotations

import inspect
import json
import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np
from PIL import Image

from ..data.box_masks import BoxMasks
from ..data.image_io import read_image
from ..errors import ConfigError, DatasetError
from ..evaluation.coco import results_to_coco
from ..visualize import draw_instances, random_colors
from .files import safe_name
from .shares import share_row

#: Annotated pictures of images larger than this (pixels, longer side) are drawn shrunk to it.
PICTURE_MAX_SIDE = 4096


def select(result: dict, min_confidence, keep_ids) -> dict:
    """The detections at or above ``min_confidence`` whose class is in ``keep_ids``."""
    keep = np.ones(len(result["class_ids"]), bool)
    if min_confidence is not None:
        keep &= result["scores"] >= min_confidence
    if keep_ids is not None:
        keep &= np.isin(result["class_ids"], keep_ids)
    if keep.all():
        return result
    out = {k: result[k][keep] for k in ("rois", "class_ids", "scores")}
    return {**result, **out, "masks": result["masks"][..., keep]}


def picture_inputs(image: np.ndarray, result: dict):
    """The image, boxes and masks to draw: as they are, or shrunk to PICTURE_MAX_SIDE pixels
    on the longer side for a larger image (masks as box crops then, never the full array)."""
    h, w = image.shape[:2]
    scale = PICTURE_MAX_SIDE / max(h, w)
    if scale >= 1:
        return image, result["rois"], result["masks"]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    masks = result["masks"]
    if not isinstance(masks, BoxMasks):
        masks = BoxMasks.from_full(masks)
    small = cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA)
    sy, sx = size[0] / h, size[1] / w
    return small, np.asarray(result["rois"]) * [sy, sx, sy, sx], masks.resized(*size)


def _load(path: str):
    """(image, None) or (None, message) for one file; never raises."""
    try:
        return read_image(path), None
    except DatasetError as err:
        return None, str(err)
    except Exception as err:  # e.g. PIL's DecompressionBombError, MemoryError
        return None, f"{path}: cannot read image ({type(err).__name__}: {err})"


def _ready(item) -> bool:
    return not isinstance(item, Future) or item.done()


class Run:
    """One run: decodes two batches ahead of the model (threads), detects a batch at a time,
    and shares, encodes and draws each image in writer threads while the next batch runs."""

    def __init__(self, model, output, class_names, min_confidence, keep_ids, save_masks,
                 inputs):
        self.model, self.output, self.class_names = model, output, class_names
        self.inputs = {os.path.realpath(p) for p in inputs}
        self.min_confidence, self.keep_ids, self.save_masks = min_confidence, keep_ids, save_masks
        ids = keep_ids if keep_ids is not None else range(1, len(class_names))
        self.columns = [class_names[i] for i in ids]
        self.colors = random_colors(len(class_names), seed=0)  # one colour per class

    def finish_image(self, item: dict, image: np.ndarray, result: dict) -> dict:
        """Shares, COCO records and pictures of one image; returns its record."""
        result = select(result, self.min_confidence, self.keep_ids)
        item.update(status="ok", height=int(image.shape[0]), width=int(image.shape[1]),
                    row=share_row(result, self.class_names, self.columns),
                    detections=results_to_coco([item["image_id"]], [result]))
        picture = draw_instances(*picture_inputs(image, result), result["class_ids"],
                                 self.class_names, result["scores"],
                                 colors=[self.colors[c] for c in result["class_ids"]])
        Image.fromarray(picture).save(
            self._target("annotated", item["name"] + ".jpg"), quality=92)
        if self.save_masks:
            os.makedirs(os.path.join(self.output, "masks", item["name"]), exist_ok=True)
            for k, class_id in enumerate(result["class_ids"]):
                name = f"{k:03d}_{safe_name(self.class_names[class_id])}.png"
                Image.fromarray(result["masks"][..., k].astype(np.uint8) * 255).save(
                    self._target("masks", item["name"], name))
        return item

    def detect(self, images: list) -> list[dict]:
        """``model.detect``, with its masks as box crops where it offers them (the full
        (H, W, N) array of a 12000 x 9000 photo with 100 detections takes 10.8 GB)."""
        if "masks" in inspect.signature(self.model.detect).parameters:
            return self.model.detect(images, masks="crops")
        return self.model.detect(images)

    def _target(self, *parts: str) -> str:
        """A path in the output folder, refused if it is an input (e.g. through a link)."""
        path = os.path.join(self.output, *parts)
        if os.path.realpath(path) in self.inputs:
            raise ConfigError(f"refusing to write {path}: it is the input image "
                              f"{os.path.realpath(path)}")
        return path

    def run(self, items: list[dict], batch_size: int, records_file, bar) -> dict:
        """Process ``items``, appending each record to ``records_file`` once it is written."""
        os.makedirs(os.path.join(self.output, "annotated"), exist_ok=True)
        stats = {"processed": 0, "detected": 0, "detect_seconds": 0.0, "records": []}
        chunks = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
        with ThreadPoolExecutor(min(4, os.cpu_count() or 2)) as loaders, \
                ThreadPoolExecutor(2) as writers:
            def load(chunk):
                return chunk, [loaders.submit(_load, it["file"]) for it in chunk]

            loading, writing = deque(load(c) for c in chunks[:2]), deque()
            for k in range(len(chunks)):
                chunk, futures = loading.popleft()
                if k + 2 < len(chunks):
                    loading.append(load(chunks[k + 2]))
                good = []
                for item, (image, error) in zip(chunk, (f.result() for f in futures)):
                    if image is not None:
                        good.append((item, image))
                        continue
                    item.update(status="unreadable", error=error)
                    writing.append(item)
                    if not bar.disable:
                        bar.write(f"unreadable: {error}", file=sys.stderr)
                if good:
                    start = time.perf_counter()
                    results = self.detect([image for _, image in good])
                    stats["detect_seconds"] += time.perf_counter() - start
                    writing.extend(writers.submit(self.finish_image, it, image, r)
                                   for (it, image), r in zip(good, results))
                while writing and (len(writing) > 2 * batch_size or _ready(writing[0])):
                    self._record(writing.popleft(), records_file, stats, bar)
            while writing:
                self._record(writing.popleft(), records_file, stats, bar)
        return stats

    @staticmethod
    def _record(item, records_file, stats, bar) -> None:
        record = item.result() if isinstance(item, Future) else item
        records_file.write(json.dumps(record) + "\n")
        records_file.flush()
        stats["records"].append(record)
        stats["processed"] += 1
        stats["detected"] += record["status"] == "ok"
        bar.update(1)
