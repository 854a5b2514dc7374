"""COCO evaluation ("bbox" and "segm") through pycocotools' COCOeval.

Ground truth is a COCO instances dict, e.g. ``maskrcnn.data.convert.dataset_to_coco(dataset)``
(its category ids are the dataset's class ids and its image ids the 1-based positions of the
images). Detections are the dicts ``model.detect`` returns, turned into COCO result records by
:func:`results_to_coco`. Numbers are reported in percent, as detectron2 prints them; a value
COCO leaves undefined (-1, e.g. APs when there is no small object) is reported as NaN.
"""
from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ..data.box_masks import BoxMasks

SUMMARY_COLUMNS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs",
                   "ARm", "ARl")
TABLE_COLUMNS = ("AP", "AP50", "AP75", "APs", "APm", "APl")
IOU_TYPES = ("bbox", "segm")


def _encode_mask(mask: np.ndarray) -> dict:
    """(H, W) bool -> compressed RLE with str counts (JSON-ready)."""
    return _compressed(mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8)))


def _compressed(rle: dict) -> dict:
    """pycocotools' compressed RLE with its counts as str."""
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def results_to_coco(image_coco_ids, results, class_id_to_category=None) -> list[dict]:
    """COCO result records of ``model.detect`` outputs.

    Args:
        image_coco_ids: the COCO image id of each result (same length as ``results``).
        results: dicts with ``rois`` (N, 4) y1, x1, y2, x2 pixels (exclusive ends),
            ``class_ids`` (N,), ``scores`` (N,) and optionally ``masks`` (H, W, N) bool.
        class_id_to_category: dict or callable from the model's class id to the COCO category
            id; by default the class id itself (what ``dataset_to_coco`` uses).

    Returns a list of ``{"image_id", "category_id", "bbox": [x, y, w, h], "score",
    "segmentation": RLE}`` (no ``segmentation`` when a result has no masks).
    """
    image_coco_ids = list(image_coco_ids)
    results = list(results)
    if len(image_coco_ids) != len(results):
        raise ValueError(f"got {len(image_coco_ids)} image ids but {len(results)} results; "
                         "give one image id per result")
    if class_id_to_category is None:
        to_category = int
    elif callable(class_id_to_category):
        to_category = class_id_to_category
    else:
        def to_category(class_id):
            try:
                return class_id_to_category[class_id]
            except KeyError:
                raise ValueError(f"class id {class_id} has no entry in class_id_to_category "
                                 f"(known: {sorted(class_id_to_category)})") from None
    records = []
    for image_id, result in zip(image_coco_ids, results):
        rois = np.asarray(result["rois"], dtype=np.float64).reshape(-1, 4)
        class_ids = np.asarray(result["class_ids"]).reshape(-1)
        scores = np.asarray(result["scores"], dtype=np.float64).reshape(-1)
        masks = result.get("masks")
        if not len(rois) == len(class_ids) == len(scores):
            raise ValueError(f"image {image_id}: {len(rois)} rois, {len(class_ids)} class_ids "
                             f"and {len(scores)} scores; they must match one to one")
        if masks is not None and np.shape(masks)[-1] != len(rois):
            raise ValueError(f"image {image_id}: masks have {np.shape(masks)[-1]} "
                             f"channels for {len(rois)} rois")
        bad = np.flatnonzero(class_ids < 1)
        if bad.size:
            raise ValueError(f"image {image_id}: class id {class_ids[bad[0]]} is not a "
                             "detection class (0 is the background)")
        for i in range(len(rois)):
            y1, x1, y2, x2 = rois[i]
            category = int(to_category(int(class_ids[i])))
            record = {"image_id": int(image_id), "category_id": category,
                      "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                      "score": float(scores[i])}
            if isinstance(masks, BoxMasks):  # from the box crop, without the full mask
                record["segmentation"] = _compressed(mask_utils.frPyObjects(
                    masks.rle(i), masks.height, masks.width))
            elif masks is not None:
                record["segmentation"] = _encode_mask(np.asarray(masks[..., i]))
            records.append(record)
    return records


@dataclass
class CocoEvaluation:
    """What :func:`evaluate_coco` returns.

    summary: one-row DataFrame (index: the IoU type) with AP, AP50, AP75, APs, APm, APl, AR1,
        AR10, AR100, ARs, ARm, ARl in percent; NaN where COCO leaves the value undefined.
    per_class: DataFrame indexed by category name with ``category_id``, ``AP``, ``AP50`` (percent)
        and ``n_gt``; NaN for a category without ground truth (absent, not 0). None unless asked.
    cocoeval: the pycocotools COCOeval (None when there were no detections to load).
    note: a remark on how the numbers were obtained (e.g. no detections), else "".
    """
    iou_type: str
    summary: pd.DataFrame
    per_class: pd.DataFrame | None = None
    cocoeval: COCOeval | None = None
    note: str = ""
    stats: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        text = f"COCO {self.iou_type}:\n{format_table(self.summary)}"
        return text + (f"\nnote: {self.note}" if self.note else "")


def _quiet(verbose: bool):
    return contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())


def _coco_from_dict(dataset: dict) -> COCO:
    coco = COCO()
    coco.dataset = copy.deepcopy(dataset)
    coco.dataset.setdefault("annotations", [])
    coco.createIndex()
    return coco


def _check_results(gt: COCO, coco_results: list, iou_type: str) -> None:
    """Clear errors for what pycocotools would answer with an assert or a KeyError."""
    known_images = set(gt.getImgIds())
    known_categories = set(gt.getCatIds())
    for i, record in enumerate(coco_results):
        if record["image_id"] not in known_images:
            raise ValueError(f"result {i} is for image_id {record['image_id']}, which is not in "
                             "the ground truth; use the COCO image ids of gt_coco['images']")
        if record["category_id"] not in known_categories:
            raise ValueError(f"result {i} has category_id {record['category_id']}, which is not "
                             f"a ground-truth category (known: {sorted(known_categories)})")
        if iou_type == "segm" and "segmentation" not in record:
            raise ValueError(f"result {i} has no 'segmentation'; segm evaluation needs masks")
        if iou_type == "bbox" and "bbox" not in record and "segmentation" not in record:
            raise ValueError(f"result {i} has neither 'bbox' nor 'segmentation'")


def _load_results(gt: COCO, coco_results: list, iou_type: str) -> COCO:
    results = copy.deepcopy(coco_results)  # loadRes writes into the records
    if iou_type == "segm":
        # With a bbox present pycocotools takes the box area as the detection's area, which
        # changes what counts as small/medium/large; mask AP must use the mask area.
        for record in results:
            record.pop("bbox", None)
    return gt.loadRes(results)


def _empty_results(gt: COCO) -> COCO:
    """A result set with no detections (``loadRes`` refuses an empty list)."""
    return _coco_from_dict({"images": gt.dataset["images"],
                            "categories": gt.dataset["categories"], "annotations": []})


def _percent(value: float) -> float:
    return float(value) * 100.0 if value >= 0 else float("nan")


def _per_class_table(cocoeval: COCOeval, gt: COCO) -> pd.DataFrame:
    """AP and AP50 per category from COCOeval's precision array (T, R, K, A, M)."""
    precision = cocoeval.eval["precision"]
    area_all = list(cocoeval.params.areaRngLbl).index("all")
    max_dets = len(cocoeval.params.maxDets) - 1
    iou50 = int(np.argmin(np.abs(cocoeval.params.iouThrs - 0.5)))
    rows = []
    for k, category_id in enumerate(cocoeval.params.catIds):
        p = precision[:, :, k, area_all, max_dets]
        p50 = p[iou50]
        n_gt = sum(1 for a in gt.loadAnns(gt.getAnnIds(catIds=[category_id]))
                   if not a.get("iscrowd", 0))
        rows.append({"category_id": category_id, "name": gt.cats[category_id]["name"],
                     "AP": _percent(p[p > -1].mean()) if (p > -1).any() else float("nan"),
                     "AP50": _percent(p50[p50 > -1].mean()) if (p50 > -1).any() else float("nan"),
                     "n_gt": n_gt})
    return pd.DataFrame(rows).set_index("name")


def evaluate_coco(gt_coco: dict, coco_results: list, iou_type: str = "segm",
                  per_class: bool = True, verbose: bool = False) -> CocoEvaluation:
    """Run COCOeval on result records against a ground-truth COCO dict.

    Args:
        gt_coco: COCO instances dict (``images``, ``annotations``, ``categories``).
        coco_results: records as :func:`results_to_coco` makes them.
        iou_type: "segm" (mask IoU) or "bbox".
        per_class: also build the per-category AP table.
        verbose: let pycocotools print its progress and summary.

    With no detections at all, every category that has ground truth gets AP 0 (and undefined
    values stay NaN); ``note`` says so. Raises ValueError for a category or image id that the
    ground truth does not have.
    """
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {IOU_TYPES}, got {iou_type!r}")
    with _quiet(verbose):
        gt = _coco_from_dict(gt_coco)
        coco_results = list(coco_results)
        _check_results(gt, coco_results, iou_type)
        note = ""
        if coco_results:
            detections = _load_results(gt, coco_results, iou_type)
        else:
            detections = _empty_results(gt)
            note = "no detections: AP is 0 for every category with ground truth"
        cocoeval = COCOeval(gt, detections, iouType=iou_type)
        cocoeval.evaluate()
        cocoeval.accumulate()
        cocoeval.summarize()
    stats = {name: _percent(v) for name, v in zip(SUMMARY_COLUMNS, cocoeval.stats)}
    summary = pd.DataFrame([stats], index=pd.Index([iou_type], name="iou_type"))
    table = _per_class_table(cocoeval, gt) if per_class else None
    if not gt.getAnnIds():
        note = (note + "; " if note else "") + "the ground truth has no annotations"
    return CocoEvaluation(iou_type=iou_type, summary=summary, per_class=table,
                          cocoeval=cocoeval, note=note, stats=stats)


def format_table(df: pd.DataFrame, columns=TABLE_COLUMNS, digits: int = 3) -> str:
    """Markdown table in detectron2's layout: ``| AP | AP50 | AP75 | APs | APm | APl |``.

    Takes a summary DataFrame (or a CocoEvaluation); rows are labelled by the index when it is
    not a plain 0..n-1 range (e.g. "bbox", "segm"). NaN prints as "nan".
    """
    if isinstance(df, CocoEvaluation):
        df = df.summary
    columns = [c for c in columns if c in df.columns]
    if not columns:
        raise ValueError(f"none of the columns {list(TABLE_COLUMNS)} is in the table "
                         f"(it has {list(df.columns)})")
    labelled = not isinstance(df.index, pd.RangeIndex)
    header = ([str(df.index.name or "")] if labelled else []) + list(columns)
    rows = []
    for label, row in df[columns].iterrows():
        cells = [f"{float(v):.{digits}f}" for v in row]
        rows.append(([str(label)] if labelled else []) + cells)
    # Value columns share one width, so that the table reads as a grid.
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    first = 1 if labelled else 0
    widths[first:] = [max(widths[first:])] * (len(widths) - first)
    def line(cells):
        return "| " + " | ".join(c.center(w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join(":" + "-" * w + ":" for w in widths) + "|"
    return "\n".join([line(header), rule] + [line(r) for r in rows])
