"""Evaluation figures: each returns a matplotlib Figure, works headless (Agg) and draws its data.

The loss curves and the precision/recall drawing itself are maskrcnn.visualize's (tested in
tests/visualize/); here the names and arguments of maskrcnn.evaluation.
"""
import numpy as np
import pandas as pd
import pytest
from figure_checks import drawn
from matplotlib.figure import Figure

from maskrcnn.data import ShapesDataset
from maskrcnn.data.convert import dataset_to_coco
from maskrcnn.data.transforms import extract_bboxes
from maskrcnn.evaluation import (
    evaluate_coco,
    plot_ap_histogram,
    plot_confusion_matrix,
    plot_precision_recall,
    results_to_coco,
)


def test_drawn_counts_only_what_the_data_adds():
    """The check itself: empty axes count 0, a line counts, a hidden line does not."""
    fig = Figure()
    ax = fig.subplots()
    ax.set(title="empty", xlim=(0, 1), ylim=(0, 1))
    assert drawn(fig) == 0
    (line,) = ax.plot([0, 1], [0, 1])
    assert drawn(fig) > 20
    line.set_visible(False)
    assert drawn(fig) == 0


def test_precision_recall_from_coco_and_from_dict():
    dataset = ShapesDataset(count=3, height=64, width=64)
    results = []
    for image_id in dataset.image_ids:
        _, masks, class_ids = dataset.load_image_and_masks(image_id)
        results.append({"rois": extract_bboxes(masks), "class_ids": class_ids,
                        "scores": np.linspace(0.9, 0.5, len(class_ids)), "masks": masks})
    evaluation = evaluate_coco(dataset_to_coco(dataset), results_to_coco(range(1, 4), results))
    fig = plot_precision_recall(evaluation)
    assert drawn(fig) > 100
    labels = [line.get_label() for line in fig.axes[0].lines]
    present = evaluation.per_class.index[evaluation.per_class["n_gt"] > 0]
    assert sorted(labels) == sorted(present)
    fig = plot_precision_recall({"square": ([1.0, 1.0, 0.5], [0.0, 0.5, 1.0])}, title="mine")
    assert fig.axes[0].get_title() == "mine" and drawn(fig) > 100
    with pytest.raises(TypeError):
        plot_precision_recall([1, 2, 3])


def test_confusion_matrix_figure():
    matrix = np.array([[0, 2, 1], [1, 5, 0], [0, 1, 3]])
    fig = plot_confusion_matrix(matrix, ["BG", "square", "circle"])
    assert drawn(fig) > 100
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in matrix.flat if v)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["missed", "square", "circle"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["background", "square", "circle"]
    assert drawn(plot_confusion_matrix(matrix, normalize=True)) > 100
    with pytest.raises(ValueError, match="class names"):
        plot_confusion_matrix(matrix, ["BG", "square"])


def test_ap_histogram_skips_images_without_ground_truth():
    per_image = pd.DataFrame({"AP50": [1.0, 0.5, np.nan, 0.25], "AP": [0.8, 0.3, np.nan, 0.1]})
    fig = plot_ap_histogram(per_image)
    assert drawn(fig) > 100
    assert "3 images, 1 without ground truth" in fig.axes[0].get_title()
    assert sum(bar.get_height() for bar in fig.axes[0].patches) == 3
    assert drawn(plot_ap_histogram(np.array([0.1, 0.9]), bins=5)) > 100
