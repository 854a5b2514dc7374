"""VOC-style average precision with matterport's definitions (``mrcnn.utils``), vectorised.

Conventions:

* boxes: (N, 4) ``y1, x1, y2, x2`` in pixels, ``y2``/``x2`` exclusive, so a box's area is
  ``(y2 - y1) * (x2 - x1)`` (what ``extract_bboxes`` makes);
* masks: (H, W, N) bool, one channel per instance;
* class ids: (N,) int in 1..num_classes-1. A negative id ``-c`` marks a *crowd* region of class
  ``c`` (COCO's ``iscrowd``, as matterport's COCO loader writes it).

Matching (:func:`compute_matches`): predictions are taken in descending score order; each one
takes the still unmatched ground truth of its own class with the highest IoU, provided that IoU
is at least ``iou_threshold``. Afterwards, an unmatched prediction lying more than half inside a
crowd region of its class (intersection over the prediction's own area, COCO's rule) is
*ignored*: neither a true nor a false positive. Crowd regions are never counted as ground truth.

Match arrays hold -1 for "unmatched" and :data:`IGNORED` (-2) for crowd ground truths and the
predictions they absorb. Without crowd regions the arrays are exactly matterport's (as ints),
except that ties, which matterport leaves to ``np.argsort``'s unstable order, are broken
deterministically: equal scores keep their input order, equal IoUs go to the lowest gt index.
"""
from __future__ import annotations

import numpy as np

IGNORED = -2
"""Match value of crowd ground truths and of predictions absorbed by a crowd region."""

CROWD_IOA_THRESHOLD = 0.5
"""A prediction is ignored when more than this share of its area lies in a crowd region."""


# --------------------------------------------------------------------------- overlaps
def compute_iou(box, boxes, box_area, boxes_area):
    """IoU of one box (4,) with each of ``boxes`` (N, 4); areas are given precomputed.

    Returns (N,) float; a zero union gives 0.
    """
    box = np.asarray(box, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return compute_overlaps(box[None], boxes, np.asarray([box_area]), np.asarray(boxes_area))[0]


def _box_intersections(boxes1, boxes2):
    """(N1, N2) intersection areas and the (N1,), (N2,) areas of two box sets."""
    b1 = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b2 = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)[None, :, :]
    height = np.minimum(b1[..., 2], b2[..., 2]) - np.maximum(b1[..., 0], b2[..., 0])
    width = np.minimum(b1[..., 3], b2[..., 3]) - np.maximum(b1[..., 1], b2[..., 1])
    inter = np.maximum(height, 0) * np.maximum(width, 0)
    area1 = (b1[:, 0, 2] - b1[:, 0, 0]) * (b1[:, 0, 3] - b1[:, 0, 1])
    area2 = (b2[0, :, 2] - b2[0, :, 0]) * (b2[0, :, 3] - b2[0, :, 1])
    return inter, area1, area2


def _safe_divide(num, den):
    """num / den with 0 where den is 0 (empty unions and areas)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def compute_overlaps(boxes1, boxes2, area1=None, area2=None):
    """IoU matrix (N1, N2) of boxes1 (N1, 4) against boxes2 (N2, 4), ``y1, x1, y2, x2``."""
    inter, a1, a2 = _box_intersections(boxes1, boxes2)
    a1 = a1 if area1 is None else np.asarray(area1, dtype=np.float64)
    a2 = a2 if area2 is None else np.asarray(area2, dtype=np.float64)
    return _safe_divide(inter, a1[:, None] + a2[None, :] - inter)


def mask_intersections(masks1, masks2):
    """(N1, N2) pixel intersections and the (N1,), (N2,) pixel areas of two mask stacks.

    Areas are column sums. Intersections are one matrix product of the flattened masks,
    restricted to the pixels that some mask of ``masks2`` covers (the ground truths, in
    :func:`_prepare`: usually a small part of the image, and cheap to find as they are few).
    float32 counts are exact up to 2**24 pixels; larger images use float64.
    """
    masks1, masks2 = _as_bool(masks1), _as_bool(masks2)
    pixels = int(np.prod(masks1.shape[:-1]))
    flat1 = masks1.reshape(pixels, masks1.shape[-1])
    flat2 = masks2.reshape(pixels, masks2.shape[-1])
    area1, area2 = _pixel_counts(flat1), _pixel_counts(flat2)
    covered = np.flatnonzero(flat2.any(axis=1))
    dtype = np.float32 if covered.size <= 2 ** 24 else np.float64
    inter = flat1[covered].astype(dtype).T @ flat2[covered].astype(dtype)
    return inter.astype(np.float64), area1, area2


def _pixel_counts(flat):
    """(N,) float64: the True pixels in each column of a (pixels, N) bool array.

    Blocks of 255 rows are summed in uint8 (which cannot overflow there), then the block sums
    in int64: three times faster than one int64 sum over all rows.
    """
    block = 255
    main = flat.shape[0] - flat.shape[0] % block
    values = flat.view(np.uint8)
    counts = values[main:].sum(axis=0, dtype=np.int64)
    if main and flat.shape[1]:
        blocks = values[:main].reshape(main // block, block, flat.shape[1])
        counts += blocks.sum(axis=1, dtype=np.uint8).sum(axis=0, dtype=np.int64)
    return counts.astype(np.float64)


def _as_bool(masks):
    masks = np.asarray(masks)
    return masks if masks.dtype == bool else masks > 0.5


def compute_overlaps_masks(masks1, masks2):
    """IoU matrix (N1, N2) of masks1 (H, W, N1) against masks2 (H, W, N2)."""
    masks1, masks2 = np.asarray(masks1), np.asarray(masks2)
    if masks1.shape[:-1] != masks2.shape[:-1]:
        raise ValueError(f"masks1 are {masks1.shape[:-1]} but masks2 are {masks2.shape[:-1]}; "
                         "both must be (H, W, N) with the same H and W")
    if masks1.shape[-1] == 0 or masks2.shape[-1] == 0:
        return np.zeros((masks1.shape[-1], masks2.shape[-1]))
    inter, area1, area2 = mask_intersections(masks1, masks2)
    return _safe_divide(inter, area1[:, None] + area2[None, :] - inter)


def trim_zeros(x):
    """Rows of a 2-D array that are not all zero (matterport pads boxes with zero rows)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"trim_zeros expects a 2-D array, got shape {x.shape}")
    return x[~np.all(x == 0, axis=1)]


# --------------------------------------------------------------------------- inputs
def _instances(side, boxes, class_ids, masks, scores=None):
    """Check one side (gt or pred) and drop all-zero box rows; returns a dict of arrays."""
    boxes = np.asarray(boxes, dtype=np.float64)
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{side}_boxes must be (N, 4) y1, x1, y2, x2; got {boxes.shape}")
    n = boxes.shape[0]
    class_ids = np.asarray(class_ids).reshape(-1)
    if class_ids.shape[0] != n:
        raise ValueError(f"{side}_class_ids has {class_ids.shape[0]} entries but {side}_boxes "
                         f"has {n}; they must match one to one")
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim != 3 or masks.shape[-1] != n:
            raise ValueError(f"{side}_masks must be (H, W, {n}) to match {side}_boxes; got "
                             f"{masks.shape}")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != n:
            raise ValueError(f"{side}_scores has {scores.shape[0]} entries but {side}_boxes "
                             f"has {n}; they must match one to one")
        bad = np.flatnonzero(~np.isfinite(scores))
        if bad.size:
            raise ValueError(f"{side}_scores[{bad[0]}] is {scores[bad[0]]}; scores must be "
                             "finite numbers")
    keep = ~np.all(boxes == 0, axis=1)
    if masks is not None and not keep.all():  # copying big masks is slow: only when needed
        masks = masks[..., keep]
    return {"boxes": boxes[keep], "class_ids": class_ids[keep].astype(np.int64),
            "masks": masks, "scores": None if scores is None else scores[keep]}


def _prepare(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
             pred_masks):
    """Validated gt, score-sorted predictions, their IoU (P, G) and intersection over the
    prediction's area (P, G). Masks are used when given, boxes when both masks are None."""
    if (gt_masks is None) != (pred_masks is None):
        raise ValueError("give masks for both gt and predictions, or for neither (box IoU)")
    gt = _instances("gt", gt_boxes, gt_class_ids, gt_masks)
    pred = _instances("pred", pred_boxes, pred_class_ids, pred_masks, pred_scores)
    if gt["masks"] is not None:
        if gt["masks"].shape[:2] != pred["masks"].shape[:2]:
            raise ValueError(f"gt_masks are {gt['masks'].shape[:2]} but pred_masks are "
                             f"{pred['masks'].shape[:2]}; predictions must be at the "
                             "original image size")
        inter, pred_area, gt_area = mask_intersections(pred["masks"], gt["masks"])
    else:
        inter, pred_area, gt_area = _box_intersections(pred["boxes"], gt["boxes"])
    # Descending score; equal scores keep their input order. The masks themselves are not
    # reordered (a large copy); the rows of the overlap matrices are.
    order = np.argsort(-pred["scores"], kind="stable")
    pred = {k: v[order] for k, v in pred.items() if k != "masks" and v is not None}
    inter, pred_area = inter[order], pred_area[order]
    overlaps = _safe_divide(inter, pred_area[:, None] + gt_area[None, :] - inter)
    ioa = _safe_divide(inter, pred_area[:, None])
    return gt, pred, overlaps, ioa


# --------------------------------------------------------------------------- matching
def _greedy_match(overlaps, candidates):
    """Greedy matching of rows (predictions, in priority order) to columns (ground truths).

    Each row in turn takes its highest-overlap free column among ``candidates`` (ties: lowest
    column). Vectorised in rounds instead of one Python step per prediction: every pending row
    proposes its best free column at once; the proposals up to the first column proposed twice
    are exactly what the sequential scheme would pick, so they are committed, their columns are
    taken, and the rest propose again. Rows left without a free candidate stay unmatched. The
    number of rounds is one plus the number of such conflicts (small in practice).

    Returns pred_match (P,) column index or -1, and gt_match (G,) row index or -1.
    """
    num_pred, num_gt = candidates.shape
    pred_match = np.full(num_pred, -1, dtype=np.int64)
    gt_match = np.full(num_gt, -1, dtype=np.int64)
    score = np.where(candidates, overlaps, -np.inf)
    pending = np.flatnonzero(candidates.any(axis=1))
    while pending.size:
        best = score[pending].argmax(axis=1)
        alive = np.isfinite(score[pending, best])
        pending, best = pending[alive], best[alive]
        if not pending.size:
            break
        first = np.zeros(best.size, dtype=bool)
        first[np.unique(best, return_index=True)[1]] = True
        stop = int(np.argmin(first)) if not first.all() else best.size
        pred_match[pending[:stop]] = best[:stop]
        gt_match[best[:stop]] = pending[:stop]
        score[:, best[:stop]] = -np.inf
        pending = pending[stop:]
    return pred_match, gt_match


def _match(gt, pred, overlaps, ioa, iou_threshold, score_threshold, class_aware=True):
    """gt_match, pred_match of prepared inputs (see the module docstring)."""
    gt_cls, pred_cls = gt["class_ids"], pred["class_ids"]
    crowd = gt_cls < 0
    candidates = (overlaps >= iou_threshold) & (overlaps >= score_threshold) & ~crowd[None, :]
    if class_aware:
        candidates &= pred_cls[:, None] == gt_cls[None, :]
    pred_match, gt_match = _greedy_match(overlaps, candidates)
    if crowd.any():
        in_crowd = (ioa > CROWD_IOA_THRESHOLD) & crowd[None, :]
        if class_aware:
            in_crowd &= pred_cls[:, None] == -gt_cls[None, :]
        pred_match[(pred_match == -1) & in_crowd.any(axis=1)] = IGNORED
        gt_match[crowd] = IGNORED
    return gt_match, pred_match


def compute_matches(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
                    pred_masks, iou_threshold=0.5, score_threshold=0.0):
    """Match predictions to ground truths of one image (matterport's ``compute_matches``).

    Args: gt_boxes (G, 4), gt_class_ids (G,), gt_masks (H, W, G) bool; pred_boxes (P, 4),
    pred_class_ids (P,), pred_scores (P,), pred_masks (H, W, P). IoU is computed on masks
    (on boxes when both mask arguments are None). All-zero box rows (padding) are dropped.
    ``score_threshold`` is matterport's: ground truths with an IoU below it are never
    candidates (it has an effect only above ``iou_threshold``).

    Returns:
        gt_match (G,) int: index (in score order) of the prediction matched to each gt,
            -1 if missed, IGNORED for crowd regions.
        pred_match (P,) int, in descending score order: index of the matched gt, -1 for a false
            positive, IGNORED when absorbed by a crowd region.
        overlaps (P, G) float: IoU of the score-sorted predictions with the ground truths.
    """
    gt, pred, overlaps, ioa = _prepare(gt_boxes, gt_class_ids, gt_masks, pred_boxes,
                                       pred_class_ids, pred_scores, pred_masks)
    gt_match, pred_match = _match(gt, pred, overlaps, ioa, iou_threshold, score_threshold)
    return gt_match, pred_match, overlaps


def _ap_from_matches(gt_match, pred_match):
    """AP, precisions, recalls (with matterport's sentinels) of one image's matches."""
    tp = pred_match[pred_match != IGNORED] > -1
    num_gt = int(np.count_nonzero(gt_match != IGNORED))
    cum_tp = np.cumsum(tp)
    precisions = cum_tp / np.arange(1, tp.size + 1)
    recalls = cum_tp / num_gt if num_gt else np.full(tp.size, np.nan)
    precisions = np.concatenate([[0.0], precisions, [0.0]])
    recalls = np.concatenate([[0.0], recalls, [1.0]])
    # Precision at each point becomes the best precision at any higher recall.
    precisions = np.maximum.accumulate(precisions[::-1])[::-1]
    if num_gt == 0:
        return float("nan"), precisions, recalls
    steps = np.flatnonzero(recalls[:-1] != recalls[1:]) + 1
    ap = float(np.sum((recalls[steps] - recalls[steps - 1]) * precisions[steps]))
    return ap, precisions, recalls


def compute_ap(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
               pred_masks, iou_threshold=0.5):
    """Average precision of one image at one IoU threshold (all-point interpolation).

    Arguments as :func:`compute_matches`. Precision is made monotonically decreasing and the
    area under the precision/recall steps is summed, with recall sentinels 0 and 1 added as
    matterport does. Predictions ignored because of crowd regions are left out of both.

    Returns (ap, precisions, recalls, overlaps). ``ap`` is ``nan`` when the image has no
    (non-crowd) ground truth: AP is undefined there, and matterport-style means should skip
    it (``np.nanmean``). With ground truth but no predictions, ``ap`` is 0.
    """
    gt, pred, overlaps, ioa = _prepare(gt_boxes, gt_class_ids, gt_masks, pred_boxes,
                                       pred_class_ids, pred_scores, pred_masks)
    gt_match, pred_match = _match(gt, pred, overlaps, ioa, iou_threshold, 0.0)
    ap, precisions, recalls = _ap_from_matches(gt_match, pred_match)
    return ap, precisions, recalls, overlaps


def compute_ap_range(gt_box, gt_class_id, gt_mask, pred_box, pred_class_id, pred_score,
                     pred_mask, iou_thresholds=None, verbose=1):
    """Mean of :func:`compute_ap` over IoU thresholds (default 0.50:0.95 in steps of 0.05).

    The overlaps are computed once. Returns a float, ``nan`` when there is no ground truth.
    With ``verbose`` the AP at each threshold is printed, as matterport does.
    """
    if iou_thresholds is None:
        iou_thresholds = np.round(np.arange(0.5, 1.0, 0.05), 2)
    iou_thresholds = np.atleast_1d(np.asarray(iou_thresholds, dtype=np.float64))
    gt, pred, overlaps, ioa = _prepare(gt_box, gt_class_id, gt_mask, pred_box, pred_class_id,
                                       pred_score, pred_mask)
    aps = []
    for threshold in iou_thresholds:
        ap = _ap_from_matches(*_match(gt, pred, overlaps, ioa, threshold, 0.0))[0]
        if verbose:
            print(f"AP @{threshold:.2f}:\t {ap:.3f}")
        aps.append(ap)
    mean = float(np.mean(aps))
    if verbose:
        print(f"AP @{iou_thresholds[0]:.2f}-{iou_thresholds[-1]:.2f}:\t {mean:.3f}")
    return mean


def compute_recall(pred_boxes, gt_boxes, iou):
    """Share of gt boxes (G, 4) hit by some predicted box (P, 4) with IoU >= ``iou``.

    Returns (recall, positive_ids): ``positive_ids`` are the indices of the predictions whose
    best IoU reaches ``iou``. ``recall`` is ``nan`` without ground truth, 0 without predictions.
    """
    overlaps = compute_overlaps(pred_boxes, gt_boxes)
    if overlaps.shape[1] == 0:
        return float("nan"), np.zeros(0, dtype=np.int64)
    if overlaps.shape[0] == 0:
        return 0.0, np.zeros(0, dtype=np.int64)
    positive_ids = np.flatnonzero(overlaps.max(axis=1) >= iou)
    matched = np.unique(overlaps.argmax(axis=1)[positive_ids])
    return matched.size / overlaps.shape[1], positive_ids


def compute_confusion_matrix(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids,
                             pred_scores, pred_masks, num_classes, iou_threshold=0.5):
    """(num_classes, num_classes) int counts for one image; rows: ground-truth class, columns:
    predicted class; index 0 is the background.

    Matching ignores classes (greedy by score, highest IoU >= ``iou_threshold``), so a box put
    on the right object with the wrong class lands off the diagonal. Row 0 counts false
    positives (predictions on background), column 0 missed ground truths. Crowd regions and the
    predictions inside them are left out. Sum the matrices of several images to pool them.
    """
    prepared = _prepare(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids,
                        pred_scores, pred_masks)
    return _confusion(*prepared, num_classes, iou_threshold)


def _confusion(gt, pred, overlaps, ioa, num_classes, iou_threshold):
    """Confusion matrix of prepared inputs (see :func:`compute_confusion_matrix`)."""
    for side, ids in (("gt", np.abs(gt["class_ids"])), ("pred", pred["class_ids"])):
        bad = np.flatnonzero((ids < 1) | (ids >= num_classes))
        if bad.size:
            raise ValueError(f"{side}_class_ids contains {ids[bad[0]]}, outside 1.."
                             f"{num_classes - 1} (num_classes={num_classes})")
    gt_match, pred_match = _match(gt, pred, overlaps, ioa, iou_threshold, 0.0,
                                  class_aware=False)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    hit = pred_match >= 0
    np.add.at(matrix, (gt["class_ids"][pred_match[hit]], pred["class_ids"][hit]), 1)
    np.add.at(matrix, (0, pred["class_ids"][pred_match == -1]), 1)
    np.add.at(matrix, (gt["class_ids"][gt_match == -1], 0), 1)
    return matrix


def evaluate_image(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
                   pred_masks, num_classes, iou_threshold=0.5, iou_thresholds=None):
    """AP at ``iou_threshold``, mean AP over ``iou_thresholds`` (default 0.50:0.95) and the
    confusion matrix of one image, with the overlaps computed once. Returns (float, float,
    (num_classes, num_classes) int array); the APs are nan without ground truth."""
    prepared = _prepare(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids,
                        pred_scores, pred_masks)
    if iou_thresholds is None:
        iou_thresholds = np.round(np.arange(0.5, 1.0, 0.05), 2)
    ap = _ap_from_matches(*_match(*prepared, iou_threshold, 0.0))[0]
    ap_range = float(np.mean([_ap_from_matches(*_match(*prepared, t, 0.0))[0]
                              for t in np.atleast_1d(iou_thresholds)]))
    return ap, ap_range, _confusion(*prepared, num_classes, iou_threshold)
