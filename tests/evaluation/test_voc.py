"""VOC-style AP (maskrcnn.evaluation.voc): hand-computed cases and reference comparisons."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskrcnn.evaluation import (
    IGNORED,
    compute_ap,
    compute_ap_range,
    compute_confusion_matrix,
    compute_iou,
    compute_matches,
    compute_overlaps,
    compute_overlaps_masks,
    compute_recall,
    evaluate_image,
    trim_zeros,
)

HW = (40, 40)


def rect_masks(boxes, hw=HW):
    """(H, W, N) bool masks filling the y1, x1, y2, x2 (exclusive) boxes."""
    masks = np.zeros(hw + (len(boxes),), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, i] = True
    return masks


def instances(boxes, class_ids, scores=None):
    boxes = np.asarray(boxes, dtype=np.int32).reshape(-1, 4)
    out = [boxes, np.asarray(class_ids, dtype=np.int32), rect_masks(boxes)]
    if scores is not None:
        out.insert(2, np.asarray(scores, dtype=np.float32))
    return out


def ap_of(gt, pred, **kwargs):
    return compute_ap(*gt, *pred, **kwargs)[0]


# Four separate ground-truth squares of class 1, 2, 1, 3.
GT_BOXES = [(0, 0, 10, 10), (0, 20, 10, 30), (20, 0, 30, 10), (20, 20, 30, 30)]
GT_CLASSES = [1, 2, 1, 3]


# --------------------------------------------------------------------------- overlaps
def test_compute_overlaps_by_hand():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 5, 10, 15], [20, 20, 30, 30], [0, 0, 10, 10]])
    # overlap 10 x 5 = 50, union 100 + 100 - 50 = 150
    np.testing.assert_allclose(compute_overlaps(a, b), [[1 / 3, 0.0, 1.0]])
    np.testing.assert_allclose(compute_iou(a[0], b, 100.0, np.full(3, 100.0)), [1 / 3, 0, 1])
    assert compute_overlaps(np.zeros((0, 4)), b).shape == (0, 3)


@pytest.mark.parametrize("hw", [(17, 23), (61, 50)])  # pixels counted in blocks of 255 + rest
def test_compute_overlaps_masks_matches_naive_loop(hw):
    rng = np.random.default_rng(0)
    m1 = rng.random(hw + (5,)) > 0.6
    m1[..., 4] = True  # a full mask: every block's count at its maximum
    m2 = rng.random(hw + (4,)) > 0.3
    m2[..., 3] = False  # an empty mask: IoU 0 with everything
    naive = np.zeros((5, 4))
    for i in range(5):
        for j in range(4):
            union = np.logical_or(m1[..., i], m2[..., j]).sum()
            naive[i, j] = np.logical_and(m1[..., i], m2[..., j]).sum() / union if union else 0
    np.testing.assert_allclose(compute_overlaps_masks(m1, m2), naive, rtol=1e-12)
    assert compute_overlaps_masks(m1, m2[..., :0]).shape == (5, 0)
    with pytest.raises(ValueError, match="same H and W"):
        compute_overlaps_masks(m1, m2[:5])


def test_trim_zeros():
    x = np.array([[1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(trim_zeros(x), x[[0, 2]])


# --------------------------------------------------------------------------- AP, hand-made
def test_all_correct_is_one():
    gt = instances(GT_BOXES, GT_CLASSES)
    pred = instances(GT_BOXES, GT_CLASSES, [0.9, 0.8, 0.7, 0.6])
    ap, precisions, recalls, overlaps = compute_ap(*gt, *pred)
    assert ap == 1.0
    np.testing.assert_allclose(recalls, [0, 0.25, 0.5, 0.75, 1, 1])
    np.testing.assert_allclose(precisions, [1, 1, 1, 1, 1, 0])
    assert overlaps.shape == (4, 4)
    assert compute_ap_range(*gt, *pred, verbose=0) == 1.0


def test_all_wrong_is_zero():
    gt = instances(GT_BOXES, GT_CLASSES)
    wrong_class = instances(GT_BOXES, [2, 1, 2, 1], [0.9, 0.8, 0.7, 0.6])
    assert ap_of(gt, wrong_class) == 0.0
    elsewhere = instances([(12, 12, 18, 18), (32, 32, 40, 40)], [1, 1], [0.9, 0.8])
    assert ap_of(gt, elsewhere) == 0.0


def test_half_recall_with_perfect_precision_is_half():
    # Recall steps 0.25, 0.5 at precision 1, then the sentinel recall 1 at precision 0:
    # AP = 0.25 * 1 + 0.25 * 1 + 0.5 * 0 = 0.5
    gt = instances(GT_BOXES, GT_CLASSES)
    pred = instances(GT_BOXES[:2], GT_CLASSES[:2], [0.9, 0.8])
    assert ap_of(gt, pred) == pytest.approx(0.5)


def test_duplicate_detection_is_a_false_positive():
    # Two gts. Sorted predictions: TP (gt 0), duplicate of gt 0 (FP), TP (gt 1).
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> made monotone: 1, 2/3, 2/3
    # AP = 0.5 * 1 + 0.5 * 2/3 = 5/6
    gt = instances(GT_BOXES[:2], [1, 1])
    pred = instances([GT_BOXES[0], GT_BOXES[0], GT_BOXES[1]], [1, 1, 1], [0.9, 0.8, 0.7])
    gt_match, pred_match, _ = compute_matches(*gt, *pred)
    np.testing.assert_array_equal(pred_match, [0, -1, 1])
    np.testing.assert_array_equal(gt_match, [0, 2])
    assert ap_of(gt, pred) == pytest.approx(5 / 6)


def test_predictions_are_sorted_by_score():
    gt = instances(GT_BOXES[:2], [1, 1])
    # The duplicate has the highest score here, so it is the one that counts as TP, and the
    # lower-scored copy of gt 0 becomes the FP: TP, TP, FP -> AP 1.
    pred = instances([GT_BOXES[0], GT_BOXES[1], GT_BOXES[0]], [1, 1, 1], [0.5, 0.8, 0.9])
    gt_match, pred_match, overlaps = compute_matches(*gt, *pred)
    np.testing.assert_array_equal(pred_match, [0, 1, -1])  # in score order
    np.testing.assert_array_equal(gt_match, [0, 1])
    np.testing.assert_allclose(overlaps, [[1, 0], [0, 1], [1, 0]])
    assert ap_of(gt, pred) == 1.0


def test_iou_threshold_and_range():
    # pred covers 8 x 9 = 72 pixels inside a 10 x 10 gt: IoU 0.72, a hit up to threshold 0.70
    gt = instances([(0, 0, 10, 10)], [1])
    pred = instances([(0, 0, 8, 9)], [1], [0.9])
    assert ap_of(gt, pred, iou_threshold=0.7) == 1.0
    assert ap_of(gt, pred, iou_threshold=0.75) == 0.0
    # thresholds 0.50..0.95: hits at 0.50, 0.55, 0.60, 0.65, 0.70 -> 5 / 10
    assert compute_ap_range(*gt, *pred, verbose=0) == pytest.approx(0.5)
    assert compute_ap_range(*gt, *pred, iou_thresholds=[0.5, 0.9], verbose=0) == 0.5


def test_prediction_takes_best_free_gt_of_its_class():
    gt = instances([(0, 0, 10, 10), (0, 2, 10, 12)], [1, 1])
    pred = instances([(0, 1, 10, 11), (0, 2, 10, 12)], [1, 1], [0.9, 0.8])
    # pred 0 overlaps gt 0 (IoU 9/11) and gt 1 (9/11): a tie goes to the lowest gt index;
    # pred 1 then takes gt 1.
    gt_match, pred_match, _ = compute_matches(*gt, *pred)
    np.testing.assert_array_equal(pred_match, [0, 1])
    # The class decides before IoU: a class-2 gt is never a candidate.
    gt2 = instances([(0, 1, 10, 11), (0, 0, 10, 10)], [2, 1])
    np.testing.assert_array_equal(compute_matches(*gt2, *pred)[1], [1, -1])


def test_crowd_regions_are_ignored():
    # gt: one object of class 1 and a crowd region of class 1 (id -1) covering the bottom half.
    gt = instances([(0, 0, 10, 10), (20, 0, 40, 40)], [1, -1])
    inside_crowd = instances([(0, 0, 10, 10), (22, 2, 30, 10)], [1, 1], [0.8, 0.9])
    gt_match, pred_match, _ = compute_matches(*gt, *inside_crowd)
    np.testing.assert_array_equal(pred_match, [IGNORED, 0])  # score order: crowd one first
    np.testing.assert_array_equal(gt_match, [1, IGNORED])
    # The crowd prediction is neither TP nor FP and the crowd is not a gt: AP 1.
    assert ap_of(gt, inside_crowd) == 1.0
    # Another class inside the crowd is an ordinary false positive: FP, TP -> AP 0.5.
    other_class = instances([(0, 0, 10, 10), (22, 2, 30, 10)], [1, 2], [0.8, 0.9])
    assert ap_of(gt, other_class) == pytest.approx(0.5)
    # Only crowd ground truth: AP undefined.
    assert np.isnan(ap_of(instances([(20, 0, 40, 40)], [-1]), inside_crowd))


def test_no_ground_truth_is_nan_and_no_predictions_is_zero():
    empty = instances(np.zeros((0, 4)), [])
    gt = instances(GT_BOXES, GT_CLASSES)
    pred = instances(GT_BOXES[:1], [1], [0.9])
    ap, precisions, recalls, overlaps = compute_ap(*empty, *pred)
    assert np.isnan(ap) and overlaps.shape == (1, 0)
    assert np.isnan(compute_ap_range(*empty, *pred, verbose=0))
    assert ap_of(gt, empty[:2] + [np.zeros(0, np.float32), empty[2]]) == 0.0


def test_zero_padding_rows_are_trimmed():
    gt = instances(GT_BOXES + [(0, 0, 0, 0)], GT_CLASSES + [0])
    pred = instances(GT_BOXES + [(0, 0, 0, 0)], GT_CLASSES + [0], [0.9, 0.8, 0.7, 0.6, 0.0])
    assert ap_of(gt, pred) == 1.0


def test_box_iou_when_no_masks():
    gt_boxes, gt_classes, _ = instances(GT_BOXES, GT_CLASSES)
    pred_boxes, pred_classes, scores, _ = instances(GT_BOXES[:2], GT_CLASSES[:2], [0.9, 0.8])
    ap = compute_ap(gt_boxes, gt_classes, None, pred_boxes, pred_classes, scores, None)[0]
    assert ap == pytest.approx(0.5)


def test_compute_recall_by_hand():
    gt = np.array(GT_BOXES)
    pred = np.array([(0, 0, 10, 10), (0, 0, 10, 9), (20, 20, 30, 26), (32, 32, 40, 40)])
    recall, positive_ids = compute_recall(pred, gt, 0.5)
    # preds 0 and 1 hit gt 0 (IoU 1 and 0.9), pred 2 hits gt 3 (IoU 0.6), pred 3 nothing
    assert recall == 0.5
    np.testing.assert_array_equal(positive_ids, [0, 1, 2])
    assert np.isnan(compute_recall(pred, np.zeros((0, 4)), 0.5)[0])
    assert compute_recall(np.zeros((0, 4)), gt, 0.5)[0] == 0.0


# --------------------------------------------------------------------------- input checks
def test_mismatched_lengths_name_the_array():
    gt = instances(GT_BOXES, GT_CLASSES)
    pred = instances(GT_BOXES, GT_CLASSES, [0.9, 0.8, 0.7, 0.6])
    with pytest.raises(ValueError, match="gt_class_ids has 3 entries"):
        compute_ap(gt[0], gt[1][:3], gt[2], *pred)
    with pytest.raises(ValueError, match="pred_scores has 2 entries"):
        compute_ap(*gt, pred[0], pred[1], pred[2][:2], pred[3])
    with pytest.raises(ValueError, match=r"pred_masks must be \(H, W, 4\)"):
        compute_ap(*gt, *pred[:3], pred[3][..., :3])
    with pytest.raises(ValueError, match="original image size"):
        compute_ap(*gt, *pred[:3], pred[3][:20])


def test_nan_scores_are_rejected():
    gt = instances(GT_BOXES, GT_CLASSES)
    pred = instances(GT_BOXES, GT_CLASSES, [0.9, np.nan, 0.7, 0.6])
    with pytest.raises(ValueError, match=r"pred_scores\[1\] is nan"):
        compute_matches(*gt, *pred)


# --------------------------------------------------------------------------- reference greedy
def sequential_matches(overlaps, gt_classes, pred_classes, threshold):
    """The plain one-prediction-at-a-time scheme (rows already in score order); equal IoUs go
    to the lowest gt index."""
    gt_match = -np.ones(overlaps.shape[1], dtype=int)
    pred_match = -np.ones(overlaps.shape[0], dtype=int)
    for i in range(overlaps.shape[0]):
        best, best_iou = -1, -1.0
        for j in range(overlaps.shape[1]):
            ok = gt_match[j] == -1 and pred_classes[i] == gt_classes[j]
            if ok and overlaps[i, j] >= threshold and overlaps[i, j] > best_iou:
                best, best_iou = j, overlaps[i, j]
        if best >= 0:
            gt_match[best], pred_match[i] = i, best
    return gt_match, pred_match


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 31), n_gt=st.integers(0, 8), n_pred=st.integers(0, 12),
       threshold=st.sampled_from([0.1, 0.3, 0.5, 0.75]))
def test_vectorised_matching_equals_sequential(seed, n_gt, n_pred, threshold):
    rng = np.random.default_rng(seed)

    def random_boxes(n):  # small image and big boxes, so that many overlap
        y1, x1 = rng.integers(0, 12, n), rng.integers(0, 12, n)
        return np.stack([y1, x1, y1 + rng.integers(2, 9, n), x1 + rng.integers(2, 9, n)], 1)

    gt = instances(random_boxes(n_gt), rng.integers(1, 3, n_gt))
    scores = rng.integers(0, 4, n_pred).astype(np.float32)  # with ties
    pred = instances(random_boxes(n_pred), rng.integers(1, 3, n_pred), scores)
    gt_match, pred_match, overlaps = compute_matches(*gt, *pred, iou_threshold=threshold)
    order = np.argsort(-scores, kind="stable")  # equal scores keep their input order
    np.testing.assert_allclose(overlaps, compute_overlaps(pred[0][order], gt[0]))
    ref_gt, ref_pred = sequential_matches(overlaps, gt[1], pred[1][order], threshold)
    np.testing.assert_array_equal(pred_match, ref_pred)
    np.testing.assert_array_equal(gt_match, ref_gt)
    ap = ap_of(gt, pred)
    assert np.isnan(ap) if n_gt == 0 else 0.0 <= ap <= 1.0


# --------------------------------------------------------------------------- confusion
def test_confusion_matrix_by_hand():
    gt = instances(GT_BOXES[:3], [1, 2, 1])
    # right class on gt 0, wrong class (1 for a 2) on gt 1, gt 2 missed, one on background
    pred = instances([GT_BOXES[0], GT_BOXES[1], (32, 32, 40, 40)], [1, 1, 2], [0.9, 0.8, 0.7])
    matrix = compute_confusion_matrix(*gt, *pred, num_classes=3)
    expected = np.zeros((3, 3), dtype=int)
    expected[1, 1] = 1  # a class-1 object predicted as class 1
    expected[2, 1] = 1  # a class-2 object predicted as class 1
    expected[1, 0] = 1  # a class-1 object missed
    expected[0, 2] = 1  # background predicted as class 2
    np.testing.assert_array_equal(matrix, expected)
    with pytest.raises(ValueError, match=r"gt_class_ids contains 2, outside 1\.\.1"):
        compute_confusion_matrix(*gt, *pred, num_classes=2)


def test_imports_without_tensorflow():
    code = ("import sys, maskrcnn.evaluation; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluate_image_agrees_with_the_separate_functions():
    gt = instances(GT_BOXES, GT_CLASSES)
    pred = instances([(0, 0, 8, 9), GT_BOXES[1], (32, 32, 40, 40)], [1, 1, 2], [0.9, 0.8, 0.7])
    ap50, ap, matrix = evaluate_image(*gt, *pred, num_classes=4)
    assert ap50 == compute_ap(*gt, *pred)[0]
    assert ap == compute_ap_range(*gt, *pred, verbose=0)
    np.testing.assert_array_equal(matrix, compute_confusion_matrix(*gt, *pred, num_classes=4))
