"""COCO evaluation (maskrcnn.evaluation.coco) and evaluate_model against pycocotools itself."""
import contextlib
import copy
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskrcnn.data.convert import dataset_to_coco
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.data.transforms import extract_bboxes
from maskrcnn.evaluation import (
    compute_ap,
    evaluate_coco,
    evaluate_model,
    format_table,
    results_to_coco,
)


@pytest.fixture(scope="module")
def dataset():
    return ShapesDataset(count=6, height=64, width=64)


def perfect_result(masks, class_ids):
    n = masks.shape[-1]
    return {"rois": extract_bboxes(masks), "class_ids": class_ids.astype(np.int32),
            "scores": np.linspace(0.99, 0.5, n).astype(np.float32) if n else
            np.zeros(0, np.float32), "masks": masks.copy()}


def perturbed_result(masks, class_ids, seed):
    """Shifted masks, one instance dropped, one wrong class and one false positive."""
    rng = np.random.default_rng(seed)
    masks = np.roll(masks, shift=int(rng.integers(-3, 4)), axis=1)
    class_ids = class_ids.copy()
    if len(class_ids) > 1:
        masks, class_ids = masks[..., 1:], class_ids[1:]
        class_ids[0] = class_ids[0] % 3 + 1
    extra = np.zeros(masks.shape[:2] + (1,), dtype=bool)
    extra[2:12, 40:60] = True
    masks = np.concatenate([masks, extra], axis=-1)
    class_ids = np.append(class_ids, 1).astype(np.int32)
    result = perfect_result(masks, class_ids)
    result["scores"] = rng.random(len(class_ids)).astype(np.float32)
    return result


class GroundTruthDetector:
    """Test double of a model: detect() answers from the dataset's ground truth."""

    def __init__(self, dataset, perturb=False):
        self.dataset, self.perturb, self.calls = dataset, perturb, []
        self._lookup = {}
        for image_id in dataset.image_ids:
            image, masks, class_ids = dataset.load_image_and_masks(image_id)
            self._lookup[image.tobytes()] = (int(image_id), masks, class_ids)

    def detect(self, images):
        self.calls.append(len(images))
        out = []
        for image in images:
            image_id, masks, class_ids = self._lookup[image.tobytes()]
            out.append(perturbed_result(masks, class_ids, image_id) if self.perturb
                       else perfect_result(masks, class_ids))
        return out


def detections(dataset, perturb=True):
    results = []
    for image_id in dataset.image_ids:
        _, masks, class_ids = dataset.load_image_and_masks(image_id)
        results.append(perturbed_result(masks, class_ids, int(image_id)) if perturb
                       else perfect_result(masks, class_ids))
    return results


def pycocotools_stats(gt_dict, records, iou_type):
    """The numbers pycocotools gives when run by hand."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(gt_dict)
        gt.createIndex()
        records = copy.deepcopy(records)
        if iou_type == "segm":
            for r in records:
                r.pop("bbox")
        e = COCOeval(gt, gt.loadRes(records), iou_type)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


# --------------------------------------------------------------------------- results_to_coco
def test_results_to_coco_records(dataset):
    _, masks, class_ids = dataset.load_image_and_masks(0)
    result = perfect_result(masks, class_ids)
    records = results_to_coco([7], [result])
    assert len(records) == len(class_ids)
    json.dumps(records)  # plain Python types only
    y1, x1, y2, x2 = result["rois"][0]
    assert records[0]["bbox"] == [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]
    assert records[0]["image_id"] == 7 and records[0]["category_id"] == class_ids[0]
    assert isinstance(records[0]["segmentation"]["counts"], str)
    np.testing.assert_array_equal(mask_utils.decode(records[0]["segmentation"]), masks[..., 0])
    mapped = results_to_coco([7], [result], {1: 11, 2: 12, 3: 13})
    assert [r["category_id"] for r in mapped] == [10 + c for c in class_ids]
    with pytest.raises(ValueError, match="class id 3 has no entry"):
        results_to_coco([7], [result | {"class_ids": np.full_like(class_ids, 3)}], {1: 11})
    with pytest.raises(ValueError, match="one image id per result"):
        results_to_coco([1, 2], [result])


# --------------------------------------------------------------------------- evaluate_coco
@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_equals_pycocotools_run_directly(dataset, iou_type):
    gt = dataset_to_coco(dataset)
    records = results_to_coco(range(1, 7), detections(dataset))
    ours = evaluate_coco(gt, records, iou_type=iou_type)
    reference = pycocotools_stats(gt, records, iou_type)
    expected = [v * 100 if v >= 0 else np.nan for v in reference.stats]
    np.testing.assert_allclose(ours.summary.loc[iou_type].to_numpy(), expected)
    assert 0 < ours.stats["AP"] < 100
    # per-class AP: the mean of valid precision entries of that category (area all, 100 dets)
    precision = reference.eval["precision"][:, :, :, 0, -1]
    for k, name in enumerate(dataset.class_names[1:]):
        p = precision[:, :, k]
        assert ours.per_class.loc[name, "AP"] == pytest.approx(p[p > -1].mean() * 100)


def test_perfect_detections_score_100(dataset):
    gt = dataset_to_coco(dataset)
    result = evaluate_coco(gt, results_to_coco(range(1, 7), detections(dataset, False)))
    assert result.stats["AP"] == pytest.approx(100.0)
    assert result.stats["AP50"] == pytest.approx(100.0)
    assert (result.per_class["AP"] == 100).all()
    assert result.note == ""


def test_no_detections_gives_zero_table(dataset):
    gt = dataset_to_coco(dataset)
    for iou_type in ("segm", "bbox"):
        result = evaluate_coco(gt, [], iou_type=iou_type)
        assert result.stats["AP"] == 0.0 and result.stats["AR100"] == 0.0
        assert "no detections" in result.note
        assert (result.per_class["AP"] == 0).all()


def test_class_without_ground_truth_is_nan_not_zero(dataset):
    gt = dataset_to_coco(dataset)
    gt["annotations"] = [a for a in gt["annotations"] if a["category_id"] != 3]
    records = results_to_coco(range(1, 7), detections(dataset))
    records.append({"image_id": 1, "category_id": 3, "bbox": [0.0, 0.0, 5.0, 5.0],
                    "score": 0.9, "segmentation": records[0]["segmentation"]})
    result = evaluate_coco(gt, records)
    assert np.isnan(result.per_class.loc["triangle", "AP"])
    assert result.per_class.loc["triangle", "n_gt"] == 0
    assert np.isfinite(result.per_class.loc["square", "AP"])


def test_bad_ids_raise_clear_errors(dataset):
    gt = dataset_to_coco(dataset)
    records = results_to_coco(range(1, 7), detections(dataset))
    with pytest.raises(ValueError, match="category_id 7, which is not a ground-truth category"):
        evaluate_coco(gt, records + [dict(records[0], category_id=7)])
    with pytest.raises(ValueError, match="image_id 99"):
        evaluate_coco(gt, records + [dict(records[0], image_id=99)])
    with pytest.raises(ValueError, match="no 'segmentation'"):
        evaluate_coco(gt, [{k: v for k, v in records[0].items() if k != "segmentation"}])
    with pytest.raises(ValueError, match="iou_type"):
        evaluate_coco(gt, records, iou_type="keypoints")
    with pytest.raises(ValueError, match="not a detection class"):
        results_to_coco([1], [{"rois": np.zeros((1, 4)), "class_ids": [0], "scores": [0.5]}])


def test_quiet_unless_verbose(dataset, capsys):
    gt = dataset_to_coco(dataset)
    records = results_to_coco(range(1, 7), detections(dataset))
    evaluate_coco(gt, records)
    assert capsys.readouterr().out == ""
    evaluate_coco(gt, records, verbose=True)
    assert "Average Precision" in capsys.readouterr().out


def test_format_table_layout():
    import pandas as pd
    df = pd.DataFrame([{"AP": 36.78912, "AP50": 58.1, "AP75": 39.0, "APs": np.nan, "APm": 40.0,
                        "APl": 50.0, "AR1": 1.0}])
    lines = format_table(df).splitlines()
    assert lines[0] == "|   AP   |  AP50  |  AP75  |  APs   |  APm   |  APl   |"
    assert lines[1] == "|:------:|:------:|:------:|:------:|:------:|:------:|"
    assert lines[2] == "| 36.789 | 58.100 | 39.000 |  nan   | 40.000 | 50.000 |"
    labelled = pd.DataFrame([df.iloc[0], df.iloc[0]], index=pd.Index(["bbox", "segm"],
                                                                       name="iou_type"))
    assert format_table(labelled).splitlines()[2].startswith("|   bbox   | 36.789 |")


# --------------------------------------------------------------------------- evaluate_model
def test_evaluate_model_perfect_predictor(dataset):
    model = GroundTruthDetector(dataset)
    result = evaluate_model(model, dataset, verbose=False)
    assert result.mAP50 == 1.0 and result.mAP == 1.0
    assert (result.per_image["AP50"] == 1.0).all()
    assert list(result.per_image.columns)[:6] == ["image_id", "reference", "AP50", "AP",
                                                  "n_gt", "n_pred"]
    assert (result.per_image["n_correct"] == result.per_image["n_gt"]).all()
    assert result.breakdown().drop("correct").sum() == 0
    assert result.coco_segm.stats["AP"] == pytest.approx(100.0)
    assert result.coco_bbox.stats["AP"] == pytest.approx(100.0)
    n_gt = int(result.per_image["n_gt"].sum())
    assert np.trace(result.confusion) == n_gt and result.confusion.sum() == n_gt
    assert model.calls == [1] * 6


def test_evaluate_model_perturbed_predictor(dataset, capsys):
    model = GroundTruthDetector(dataset, perturb=True)
    result = evaluate_model(model, dataset, limit=4, batch_size=3, verbose=True)
    assert model.calls == [3, 1]
    assert "VOC mAP@0.50" in capsys.readouterr().out
    assert len(result.per_image) == 4
    expected = []
    for image_id in range(4):
        _, masks, class_ids = dataset.load_image_and_masks(image_id)
        r = perturbed_result(masks, class_ids, image_id)
        expected.append(compute_ap(extract_bboxes(masks), class_ids, masks, r["rois"],
                                   r["class_ids"], r["scores"], r["masks"])[0])
    np.testing.assert_allclose(result.per_image["AP50"], expected)
    assert result.mAP50 == pytest.approx(np.mean(expected)) and result.mAP50 < 1
    gt = dataset_to_coco(dataset, np.arange(4))
    records = results_to_coco(range(1, 5), detections(dataset)[:4])
    reference = pycocotools_stats(gt, records, "segm")
    assert result.coco_segm.stats["AP"] == pytest.approx(reference.stats[0] * 100)
    assert "AP50" in repr(result)


class WithEmptyImage(ShapesDataset):
    def load_mask(self, image_id):
        if image_id == 0:
            return np.zeros((64, 64, 0), bool), np.zeros(0, np.int32)
        return super().load_mask(image_id)


def test_image_without_ground_truth_is_left_out_of_the_mean():
    data = WithEmptyImage(count=3, height=64, width=64)
    result = evaluate_model(GroundTruthDetector(data), data, verbose=False)
    assert np.isnan(result.per_image.loc[0, "AP50"]) and result.per_image.loc[0, "n_gt"] == 0
    assert result.mAP50 == 1.0


def test_evaluate_model_rejects_bad_output(dataset):
    class WrongSize:
        def detect(self, images):
            return [{"rois": np.zeros((0, 4)), "class_ids": np.zeros(0, np.int32),
                     "scores": np.zeros(0), "masks": np.zeros((8, 8, 0), bool)}
                    for _ in images]
    with pytest.raises(ValueError, match="image size"):
        evaluate_model(WrongSize(), dataset, limit=1, verbose=False)
    with pytest.raises(ValueError, match="not in the dataset"):
        evaluate_model(WrongSize(), dataset, image_ids=[42], verbose=False)


def test_evaluate_model_scores_the_ranked_list_below_the_operating_threshold(dataset):
    """A model with a config detects at min_confidence during evaluation (the full ranked
    list for AP), its threshold comes back afterwards, and the confusion matrix and n_pred
    count only the detections at the operating threshold."""
    class Configured(GroundTruthDetector):
        class config:  # noqa: N801  (what evaluate_model reads of a model's config)
            DETECTION_MIN_CONFIDENCE = 0.7

        def detect(self, images):
            self.thresholds = getattr(self, "thresholds", []) + [
                self.config.DETECTION_MIN_CONFIDENCE]
            out = []
            for r in super().detect(images):
                scores = np.linspace(0.95, 0.1, len(r["scores"])).astype(np.float32)
                keep = scores >= self.config.DETECTION_MIN_CONFIDENCE
                out.append({"rois": r["rois"][keep], "class_ids": r["class_ids"][keep],
                            "scores": scores[keep], "masks": r["masks"][..., keep]})
            return out

    model = Configured(dataset)
    low = evaluate_model(model, dataset, verbose=False)
    assert set(model.thresholds) == {0.05} and model.config.DETECTION_MIN_CONFIDENCE == 0.7
    as_configured = evaluate_model(Configured(dataset), dataset, verbose=False,
                                   min_confidence=None)
    assert low.mAP50 == 1.0 and as_configured.mAP50 < 1.0  # perfect once nothing is cut
    assert low.coco_segm.stats["AP"] > as_configured.coco_segm.stats["AP"]
    np.testing.assert_array_equal(low.confusion, as_configured.confusion)
    assert (low.per_image["n_pred"] == as_configured.per_image["n_pred"]).all()
