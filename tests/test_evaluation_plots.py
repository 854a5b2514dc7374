"""Evaluation figures: each returns a matplotlib Figure and works headless (Agg)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from maskrcnn.data.convert import dataset_to_coco  # noqa: E402
from maskrcnn.data.shapes import ShapesDataset  # noqa: E402
from maskrcnn.evaluation import (evaluate_coco, plot_ap_histogram,  # noqa: E402
                                 plot_confusion_matrix, plot_loss_curves, plot_losses,
                                 plot_precision_recall, read_tensorboard_scalars,
                                 results_to_coco)
from maskrcnn.data.transforms import extract_bboxes  # noqa: E402


def drawn(fig, tmp_path):
    """The figure renders to a PNG without error."""
    assert isinstance(fig, Figure)
    fig.savefig(tmp_path / "figure.png")
    return True


def test_precision_recall_from_coco_and_from_dict(tmp_path):
    dataset = ShapesDataset(count=3, height=64, width=64)
    results = []
    for image_id in dataset.image_ids:
        _, masks, class_ids = dataset.load_image_and_masks(image_id)
        results.append({"rois": extract_bboxes(masks), "class_ids": class_ids,
                        "scores": np.linspace(0.9, 0.5, len(class_ids)), "masks": masks})
    evaluation = evaluate_coco(dataset_to_coco(dataset), results_to_coco(range(1, 4), results))
    fig = plot_precision_recall(evaluation)
    assert drawn(fig, tmp_path)
    labels = [line.get_label() for line in fig.axes[0].lines]
    present = evaluation.per_class.index[evaluation.per_class["n_gt"] > 0]
    assert sorted(labels) == sorted(present)
    fig = plot_precision_recall({"square": ([1.0, 1.0, 0.5], [0.0, 0.5, 1.0])}, title="mine")
    assert fig.axes[0].get_title() == "mine" and drawn(fig, tmp_path)
    with pytest.raises(TypeError):
        plot_precision_recall([1, 2, 3])


def test_confusion_matrix_figure(tmp_path):
    matrix = np.array([[0, 2, 1], [1, 5, 0], [0, 1, 3]])
    fig = plot_confusion_matrix(matrix, ["BG", "square", "circle"])
    assert drawn(fig, tmp_path)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["missed", "square", "circle"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["background", "square", "circle"]
    assert drawn(plot_confusion_matrix(matrix, normalize=True), tmp_path)
    with pytest.raises(ValueError, match="class names"):
        plot_confusion_matrix(matrix, ["BG", "square"])


def test_ap_histogram_skips_images_without_ground_truth(tmp_path):
    per_image = pd.DataFrame({"AP50": [1.0, 0.5, np.nan, 0.25], "AP": [0.8, 0.3, np.nan, 0.1]})
    fig = plot_ap_histogram(per_image)
    assert drawn(fig, tmp_path)
    assert "3 images, 1 without ground truth" in fig.axes[0].get_title()
    assert drawn(plot_ap_histogram(np.array([0.1, 0.9]), bins=5), tmp_path)


def test_losses_from_a_dict(tmp_path):
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.5, 2.5, 2.0],
               "mrcnn_mask_loss": [0.7, 0.5, 0.4], "val_mrcnn_mask_loss": [0.8, 0.6, 0.5]}
    for fig in (plot_losses(history), plot_loss_curves(history, log_scale=True)):
        assert drawn(fig, tmp_path)
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title() for ax in visible] == ["loss", "mrcnn_mask_loss"]
        assert sorted(l.get_label() for l in visible[0].lines) == ["train", "validation"]
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_losses({})


def test_losses_from_tensorboard_event_files(tmp_path):
    tf = pytest.importorskip("tensorflow")
    for run, offset in (("train", 0.0), ("validation", 0.5)):
        with tf.summary.create_file_writer(str(tmp_path / "logs" / run)).as_default():
            for epoch in range(3):
                tf.summary.scalar("epoch_loss", 2.0 - epoch * 0.5 + offset, step=epoch)
                tf.summary.scalar("epoch_rpn_class_loss", 0.3 - epoch * 0.1, step=epoch)
                tf.summary.scalar("batch_loss", 9.0, step=epoch)  # ignored: epoch tags exist
    scalars = read_tensorboard_scalars(tmp_path / "logs")
    steps, values = scalars["validation"]["epoch_loss"]
    np.testing.assert_array_equal(steps, [0, 1, 2])
    np.testing.assert_allclose(values, [2.5, 2.0, 1.5])
    fig = plot_loss_curves(tmp_path / "logs")
    assert drawn(fig, tmp_path)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["loss", "rpn_class_loss"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no scalar summaries"):
        plot_loss_curves(empty)
