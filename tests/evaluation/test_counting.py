"""Counting (maskrcnn.evaluation.counting): per-image count errors, the threshold that brings
the counts closest to the truth, and evaluate_model's counting report."""
import numpy as np
import pytest

from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.evaluation import best_count_threshold, count_at, evaluate_model
from maskrcnn.evaluation.counting import classify_detections, f1_at

from .test_coco import GroundTruthDetector, perfect_result


def naive_mean_error(scores, truth, threshold):
    total = 0.0
    for image_scores, true in zip(scores, truth):
        counted = sum(1 for s in image_scores if s >= threshold)
        total += abs(counted - true) / max(true, 1)
    return total / len(truth)


def test_count_at_counts_scores_at_or_above_the_threshold():
    scores = [np.array([0.9, 0.7, 0.69]), np.array([]), np.array([0.2])]
    counting = count_at(scores, [2, 0, 4], 0.7)
    assert counting.counts.tolist() == [2, 0, 0]
    np.testing.assert_allclose(counting.errors, [0.0, 0.0, 1.0])
    assert counting.mean_error == pytest.approx(1 / 3)
    assert counting.within_10_percent == 2
    # an image without objects: each false detection is 100 %
    assert count_at(scores, [2, 0, 4], 0.1).errors[1] == 0.0
    assert count_at([np.array([0.8, 0.9])], [0], 0.5).errors.tolist() == [2.0]
    with pytest.raises(ValueError, match="2 score arrays for 3 true counts"):
        count_at(scores[:2], [1, 2, 3], 0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_count_threshold_reaches_the_minimum_of_a_fine_grid(seed):
    """Scores on a 0.001 grid, searched on a 0.0001 grid by plain loops: every interval
    between neighbouring scores is tried, so the grid's minimum is the true minimum."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 12, size=9)
    scores = [rng.integers(50, 1001, size=int(n)) / 1000 for n in rng.integers(0, 30, size=9)]
    grid = np.round(np.arange(0.05, 1.0002, 0.0001), 4)
    errors = np.array([naive_mean_error(scores, truth, t) for t in grid])
    best = best_count_threshold(scores, truth, lowest=0.05)
    assert best.mean_error == pytest.approx(errors.min(), abs=1e-12)
    assert naive_mean_error(scores, truth, best.threshold) == pytest.approx(best.mean_error)
    assert best.threshold >= 0.05
    # ties go to the highest: the highest as-good grid point counts what the chosen one counts
    highest = grid[np.abs(errors - errors.min()) < 1e-12].max()
    assert count_at(scores, truth, highest).counts.tolist() == best.counts.tolist()


def test_best_count_threshold_prefers_the_midpoint_and_the_higher_of_equals():
    # one object per image; the true detection scores 0.8, a false one 0.4: anything in
    # (0.4, 0.8] is exact, the midpoint 0.6 is chosen
    scores = [np.array([0.8, 0.4]), np.array([0.8, 0.4])]
    best = best_count_threshold(scores, [1, 1], lowest=0.05)
    assert best.threshold == pytest.approx(0.6) and best.mean_error == 0
    # a tie between (0.7, 0.9] (the second picture's object missed) and (0.05, 0.5] (a false
    # one counted in the first): the higher wins
    best = best_count_threshold([np.array([0.9, 0.7]), np.array([0.5])], [1, 1], lowest=0.05)
    assert best.threshold == pytest.approx(0.8) and best.mean_error == pytest.approx(0.5)
    # no objects anywhere: count nothing (a threshold above every score)
    best = best_count_threshold(scores, [0, 0], lowest=0.05)
    assert best.counts.tolist() == [0, 0] and best.threshold > 0.8
    # two objects, only one detection each: the lowest threshold counts both halves equally
    best = best_count_threshold([np.array([0.3]), np.array([0.3])], [2, 2], lowest=0.05)
    assert best.counts.tolist() == [1, 1] and 0.05 < best.threshold <= 0.3


def test_best_count_threshold_with_many_scores_stays_close():
    rng = np.random.default_rng(3)
    truth = rng.integers(5, 40, size=50)
    scores = [rng.random(int(t) * 3) for t in truth]
    exact = best_count_threshold(scores, truth)
    capped = best_count_threshold(scores, truth, max_candidates=300)
    assert capped.mean_error <= exact.mean_error + 0.02


class WithFalsePositives(GroundTruthDetector):
    """Every object found at scores 0.99..0.5, and two false detections at 0.3 and 0.2."""

    def detect(self, images):
        out = []
        for result in super().detect(images):
            masks = result["masks"]
            extra = np.zeros(masks.shape[:2] + (2,), bool)
            extra[:4, :4] = True
            n = masks.shape[-1]
            both = perfect_result(np.concatenate([masks, extra], -1),
                                  np.append(result["class_ids"], [1, 2]))
            both["scores"] = np.append(result["scores"], [0.3, 0.2]).astype(np.float32)
            both["rois"][n:] = [0, 0, 4, 4]
            out.append(both)
        return out


def test_evaluate_model_reports_counts_at_the_operating_and_the_best_threshold(capsys):
    dataset = ShapesDataset(count=5, height=64, width=64, seed=4)
    result = evaluate_model(WithFalsePositives(dataset), dataset, verbose=True)
    truth = result.per_image["n_gt"].to_numpy()
    assert [len(s) for s in result.detection_scores] == (truth + 2).tolist()
    everything = result.counting()  # a model without config: every detection counts
    assert everything.counts.tolist() == (truth + 2).tolist()
    best = result.best_counting()
    assert best.mean_error == 0 and 0.3 < best.threshold <= 0.5
    assert result.counting(0.25).counts.tolist() == (truth + 1).tolist()
    printed = capsys.readouterr().out
    assert f"best threshold for these pictures, score >= {best.threshold:.3f}" in printed
    assert "counts at the operating threshold" in printed
    kinds = result.breakdown()  # every detection counts: the objects and the two extra
    assert kinds["correct"] == truth.sum() and kinds["missed"] == 0
    assert kinds.drop(["correct", "missed", "wrong_at_border"]).sum() == 2 * len(truth)
    assert kinds["wrong_at_border"] == 2 * len(truth)  # the extra masks fill a corner
    assert result.f1(0.4)[2] == 1.0 and result.f1(0.25)[2] < 1.0


def test_counting_at_the_operating_threshold_is_what_n_pred_counts():
    """A configured model is evaluated down to 0.05; its counts at DETECTION_MIN_CONFIDENCE
    are the per-image ``n_pred``, and the best threshold still sees the lower scores."""
    class Configured(WithFalsePositives):
        class config:  # noqa: N801  (what evaluate_model reads of a model's config)
            DETECTION_MIN_CONFIDENCE = 0.25

    dataset = ShapesDataset(count=4, height=64, width=64, seed=5)
    result = evaluate_model(Configured(dataset), dataset, verbose=False)
    truth = result.per_image["n_gt"].to_numpy()
    operating = result.counting()
    assert operating.threshold == 0.25 and result.scored_from == 0.05
    assert operating.counts.tolist() == result.per_image["n_pred"].tolist() == (truth + 1).tolist()
    assert result.best_counting().counts.tolist() == truth.tolist()


def _squares(h, w, boxes):
    masks = np.zeros((h, w, len(boxes)), bool)
    for k, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, k] = True
    return masks


def test_classify_detections_names_each_kind_of_extra_count():
    """Made-up objects and detections whose kind is known by construction."""
    gt = _squares(60, 60, [(2, 2, 12, 12), (20, 20, 30, 30), (20, 32, 30, 42),
                           (45, 45, 55, 55), (45, 2, 58, 15)])
    gt_ids = np.array([1, 1, 1, 1, -1])  # the last one a crowd / ignore region
    pred = _squares(60, 60, [
        (2, 2, 12, 12),      # 0.95 correct: object 0
        (3, 3, 12, 12),      # 0.90 duplicate: IoU 0.81 with object 0, counted already
        (20, 20, 30, 42),    # 0.85 merged: covers objects 1 and 2
        (45, 45, 50, 50),    # 0.80 fragment: a quarter of object 3, nothing else took it
        (4, 4, 8, 8),        # 0.75 duplicate: inside object 0, counted already
        (46, 3, 57, 14),     # 0.70 in the ignore region
        (35, 2, 40, 7),      # 0.65 background
    ])
    scores = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65])
    kinds, missed = classify_detections(gt, gt_ids, pred, scores)
    assert kinds.tolist() == ["correct", "duplicate", "merged", "fragment", "duplicate",
                              "ignore_region", "background"]
    # objects 1 and 2 only merged, object 3 only in part: missed; the crowd region never is
    assert missed.tolist() == [False, True, True, True, False]
    # the order of the detections given does not change what each one is
    order = np.array([6, 2, 0, 5, 1, 4, 3])
    again, _ = classify_detections(gt, gt_ids, pred[..., order], scores[order])
    assert again.tolist() == kinds[order].tolist()
    # nothing detected: every object missed
    none, missed = classify_detections(gt, gt_ids, pred[..., :0], scores[:0])
    assert none.size == 0 and missed.sum() == 4


def test_best_count_threshold_breaks_ties_by_f1():
    """Thresholds 0.825 and 0.3 both miss by a third on average; at 0.825 the one counted
    detection is wrong (F1 0), at 0.3 one of three is right (F1 0.4): F1 picks 0.3, and
    without matches the higher threshold is taken."""
    scores = [np.array([0.9]), np.array([0.6]), np.array([0.75])]
    truth = [1, 1, 0]
    matched = [np.array([False]), np.array([True]), np.array([False])]
    plain = best_count_threshold(scores, truth, lowest=0.05)
    best = best_count_threshold(scores, truth, lowest=0.05, matched=matched)
    assert plain.mean_error == pytest.approx(best.mean_error) == pytest.approx(1 / 3)
    assert 0.75 < plain.threshold < 0.9
    assert 0.05 < best.threshold < 0.6
    assert f1_at(scores, truth, matched, best.threshold) == pytest.approx(0.4)
    assert f1_at(scores, truth, matched, plain.threshold) == 0
