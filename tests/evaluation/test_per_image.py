"""One image's precision/recall curve and overlaps grid (evaluate.ipynb), and the per-class AP
table, against independent references: pycocotools' mask IoU and COCOeval run one category at
a time."""
import copy

import numpy as np
import pytest
from figure_checks import drawn
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskrcnn.data import ShapesDataset
from maskrcnn.data.convert import dataset_to_coco
from maskrcnn.data.transforms import extract_bboxes
from maskrcnn.evaluation import evaluate_model, image_matches, results_to_coco


def _disc(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


@pytest.fixture()
def image_case():
    h = w = 48
    gt = np.stack([_disc(h, w, 12, 12, 8), _disc(h, w, 30, 34, 9), _disc(h, w, 38, 10, 5)], -1)
    gt_ids = np.array([1, 2, 1])
    pred = np.stack([_disc(h, w, 31, 33, 9),      # the second object, well
                     _disc(h, w, 14, 13, 7),      # the first, partly
                     _disc(h, w, 12, 12, 8),      # the first again, exactly: a duplicate
                     _disc(h, w, 5, 40, 4)], -1)  # nothing there
    # scores NOT in descending order: the grid's rows must follow the scores
    result = {"rois": extract_bboxes(pred), "masks": pred, "class_ids": np.array([2, 1, 1, 2]),
              "scores": np.array([0.6, 0.95, 0.8, 0.7])}
    return gt, gt_ids, result


def _rle(masks):
    return mask_utils.encode(np.asfortranarray(masks.astype(np.uint8)))


def test_overlaps_are_pycocotools_iou_in_score_order(image_case):
    gt, gt_ids, result = image_case
    m = image_matches(gt, gt_ids, result)
    order = np.argsort(-result["scores"], kind="stable")
    reference = mask_utils.iou(_rle(result["masks"][..., order]), _rle(gt), [0] * gt.shape[-1])
    np.testing.assert_allclose(m.overlaps, reference, atol=1e-6)
    np.testing.assert_array_equal(m.pred_class_ids, result["class_ids"][order])
    np.testing.assert_array_equal(m.pred_scores, result["scores"][order])
    np.testing.assert_array_equal(m.gt_class_ids, gt_ids)


def test_curve_and_ap(image_case):
    """Ranked: 0.95 hits object 0 (IoU ~0.7), 0.8 is its duplicate, 0.7 hits nothing, 0.6
    hits object 1: precision 1, 1/2, 1/3, 2/4 at recall 1/3, 1/3, 1/3, 2/3."""
    gt, gt_ids, result = image_case
    m = image_matches(gt, gt_ids, result)
    assert m.recalls[1:-1].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3])
    assert m.AP == pytest.approx(1 / 3 * 1 + 1 / 3 * 0.5)
    fig = m.plot_curve()
    assert drawn(fig) > 50 and "%" in fig.axes[0].get_title()


def test_grid_draws_the_overlaps_in_its_rows(image_case):
    """Each cell of the drawn grid says the IoU of its row's prediction (label: class and
    score) with its column's object, and 'match' only for a same-class IoU >= 0.5."""
    gt, gt_ids, result = image_case
    m = image_matches(gt, gt_ids, result)
    names = ["BG", "disc", "ring"]
    fig = m.plot_grid(names)
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    for i, j in np.ndindex(m.overlaps.shape):
        value, *note = cells[(i, j)].split("\n")
        assert float(value) == pytest.approx(m.overlaps[i, j], abs=0.005)
        same = m.pred_class_ids[i] == m.gt_class_ids[j]
        assert (note == ["match"]) == bool(same and m.overlaps[i, j] >= 0.5)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == [f"{names[c]} ({s:.2f})" for c, s in zip(m.pred_class_ids, m.pred_scores)]
    assert drawn(fig) > 50


class _Oracle:
    """detect() that returns the ground truth, one object dropped and a false alarm added."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.images = {}
        for i in dataset.image_ids:
            image, masks, ids = dataset.load_image_and_masks(i)
            self.images[image.tobytes()] = (masks, ids)

    def detect(self, images):
        out = []
        for image in images:
            masks, ids = self.images[image.tobytes()]
            masks, ids = masks[..., 1:], ids[1:]  # the first object is missed
            noise = np.zeros(masks.shape[:2] + (1,), bool)
            noise[:6, :6] = True
            masks = np.concatenate([masks, noise], -1)
            ids = np.concatenate([ids, [1]])
            out.append({"rois": extract_bboxes(masks), "masks": masks, "class_ids": ids,
                        "scores": np.linspace(0.9, 0.6, len(ids))})
        return out


def test_per_class_ap_is_cocoeval_one_category_at_a_time():
    dataset = ShapesDataset(count=4, height=64, width=64, seed=3)
    result = evaluate_model(_Oracle(dataset), dataset, verbose=False)
    table = result.per_class_ap()
    assert all("(%)" in c for c in table.columns if "AP" in c)
    oracle = _Oracle(dataset)
    detected = oracle.detect([dataset.load_image(i) for i in dataset.image_ids])
    records = results_to_coco(range(1, len(detected) + 1), detected)
    gt = COCO()
    gt.dataset = copy.deepcopy(dataset_to_coco(dataset))
    gt.createIndex()
    for iou_type, column in (("segm", "mask"), ("bbox", "box")):
        mine = [dict(r) for r in records]
        if iou_type == "bbox":
            for r in mine:
                r.pop("segmentation")
        detections = gt.loadRes(mine)
        for category in gt.getCatIds():
            name = gt.cats[category]["name"]
            if not gt.getAnnIds(catIds=[category]):
                continue
            ev = COCOeval(gt, detections, iouType=iou_type)
            ev.params.catIds = [category]
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert table.loc[name, f"{column} AP (%)"] == pytest.approx(100 * ev.stats[0])
            assert table.loc[name, f"{column} AP50 (%)"] == pytest.approx(100 * ev.stats[1])
    assert table["objects"].sum() == result.per_image["n_gt"].sum()
