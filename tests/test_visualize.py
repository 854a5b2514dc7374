"""visualize: every picture runs on shapes data, returns a Figure or an array, saves PNGs."""
import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from maskrcnn import visualize
from maskrcnn.data.shapes import ShapesDataset
from maskrcnn.data.transforms import extract_bboxes


@pytest.fixture(scope="module")
def data():
    ds = ShapesDataset(count=3, height=64, width=64)
    image, masks, class_ids = ds.load_image_and_masks(0)
    return ds, image, masks, class_ids, extract_bboxes(masks)


@pytest.fixture(autouse=True)
def no_leaks():
    before = len(plt.get_fignums())
    yield
    assert len(plt.get_fignums()) == before, "a figure was left open in pyplot"


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_imports_without_tensorflow():
    code = "import sys, maskrcnn.visualize; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_random_colors_distinct_and_seeded():
    colors = visualize.random_colors(5, seed=3)
    assert len(colors) == 5 and len(set(colors)) == 5
    assert all(0 <= c <= 1 for rgb in colors for c in rgb)
    assert colors == visualize.random_colors(5, seed=3)
    assert visualize.random_colors(0) == []


def test_apply_mask_blends_only_inside():
    image = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((4, 4), bool)
    mask[1, 1] = True
    out = visualize.apply_mask(image, mask, (1.0, 0.0, 0.0), alpha=0.5)
    assert out[1, 1, 0] == 127 and out[0, 0].sum() == 0 and out[1, 1, 1] == 0


def test_display_instances(data, tmp_path):
    ds, image, masks, class_ids, boxes = data
    scores = np.linspace(0.9, 0.6, len(class_ids))
    fig = visualize.display_instances(image, boxes, masks, class_ids, ds.class_names, scores,
                                      title="shapes")
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"{ds.class_names[class_ids[0]]} 0.90" in texts
    path = tmp_path / "inst.png"
    visualize.display_instances(image, boxes, masks, class_ids, ds.class_names,
                                save_path=str(path), figsize=(4, 4))
    assert _is_png(path)


def test_display_instances_on_given_ax(data):
    ds, image, masks, class_ids, boxes = data
    fig = Figure()
    ax = fig.subplots()
    assert visualize.display_instances(image, boxes, masks, class_ids, ds.class_names,
                                       ax=ax, captions=["x"] * len(boxes)) is fig
    assert [t.get_text() for t in ax.texts] == ["x"] * len(boxes)


def test_display_instances_no_instances(data):
    ds, image, *_ = data
    fig = visualize.display_instances(image, np.zeros((0, 4)), np.zeros((64, 64, 0), bool),
                                      np.zeros(0, int), ds.class_names, figsize=(3, 3))
    assert "No instances to display" in fig.axes[0].get_title()


def test_mismatched_lengths_raise(data):
    ds, image, masks, class_ids, boxes = data
    with pytest.raises(ValueError, match="boxes.*masks|masks.*boxes"):
        visualize.display_instances(image, boxes[:1], masks, class_ids, ds.class_names)
    with pytest.raises(ValueError, match="scores"):
        visualize.display_instances(image, boxes, masks, class_ids, ds.class_names,
                                    scores=[0.5] * (len(boxes) + 1))
    with pytest.raises(ValueError, match="class_ids"):
        visualize.draw_instances(image, boxes, masks, class_ids[:0], ds.class_names)
    with pytest.raises(ValueError, match="image"):
        visualize.display_instances(image, boxes, masks[:32], class_ids, ds.class_names)


def test_draw_instances(data):
    ds, image, masks, class_ids, boxes = data
    out = visualize.draw_instances(image, boxes, masks, class_ids, ds.class_names,
                                   scores=np.full(len(boxes), 0.99))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)
    assert np.array_equal(image, ds.load_image(0)), "the input must not change"
    empty = visualize.draw_instances(image, np.zeros((0, 4)), np.zeros((64, 64, 0), bool),
                                     [], ds.class_names)
    assert np.array_equal(empty, image)
    big = np.zeros((300, 400, 3), np.uint8)
    box = np.array([[0, 380, 50, 400]])  # label strip at the image corner stays inside
    assert visualize.draw_instances(big, box, None, [1], ds.class_names).shape == big.shape


def test_side_by_side_single_and_grid(data, tmp_path):
    ds, image, masks, class_ids, boxes = data
    gt = (boxes, masks, class_ids)
    pred = {"rois": boxes[:1], "masks": masks[..., :1], "class_ids": class_ids[:1],
            "scores": np.array([0.8])}
    path = tmp_path / "sbs.png"
    fig = visualize.side_by_side(image, gt, pred, ds.class_names, save_path=str(path))
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and _is_png(path)
    images, gts, preds = [], [], []
    for i in ds.image_ids:
        img, m, c = ds.load_image_and_masks(i)
        images.append(img)
        gts.append((extract_bboxes(m), m, c))
        preds.append((np.zeros((0, 4)), np.zeros((64, 64, 0), bool), [], []))
    grid = visualize.side_by_side(images, gts, preds, ds.class_names, figsize=(6, 9))
    assert len(grid.axes) == 6
    assert "No instances" in grid.axes[1].get_title()


def test_display_top_masks_and_images(data):
    ds, image, masks, class_ids, _ = data
    fig = visualize.display_top_masks(image, masks, class_ids, ds.class_names, limit=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    fig = visualize.display_top_masks(image, np.zeros((64, 64, 0), bool), [], ds.class_names)
    assert [ax.get_title() for ax in fig.axes][1:] == ["-"] * 4
    fig = visualize.display_images([image] * 5, titles=list("abcde"), cols=2)
    assert len(fig.axes) == 6


def test_display_dataset_samples(data, tmp_path):
    ds = data[0]
    path = tmp_path / "samples.png"
    fig = visualize.display_dataset_samples(ds, ds.image_ids, ds.class_names, limit=2,
                                            save_path=str(path))
    assert len(fig.axes) == 9 and _is_png(path)


def test_draw_boxes_and_rois(data):
    ds, image, masks, class_ids, boxes = data
    refined = boxes + 1
    fig = visualize.draw_boxes(image, boxes, refined, masks=masks,
                               captions=["c"] * len(boxes), title="refine")
    assert isinstance(fig, Figure)
    assert isinstance(visualize.draw_boxes(image, refined_boxes=refined,
                                           visibilities=[1] * len(boxes)), Figure)
    assert isinstance(visualize.draw_rois(image, boxes, refined, masks, class_ids,
                                          ds.class_names), Figure)
    with pytest.raises(ValueError, match="refined_boxes"):
        visualize.draw_boxes(image, boxes, refined[:0])


def test_display_differences_colours(data):
    ds, image, masks, class_ids, boxes = data
    wrong = class_ids.copy()
    wrong[-1] = wrong[-1] % 3 + 1  # the last prediction gets the wrong class
    scores = np.linspace(0.9, 0.5, len(class_ids))
    fig = visualize.display_differences(image, boxes, class_ids, masks, boxes, wrong, scores,
                                        masks, ds.class_names)
    title = fig.axes[0].get_title()
    n = len(class_ids)
    assert f"{n - 1} matched, 1 false, 1 missed" in title
    captions = [t.get_text() for t in fig.axes[0].texts]
    assert len(captions) == 2 * n and captions[n].endswith("/ 1.00")
    empty = visualize.display_differences(image, np.zeros((0, 4)), [], np.zeros((64, 64, 0)),
                                          np.zeros((0, 4)), [], [], np.zeros((64, 64, 0)),
                                          ds.class_names)
    assert "No instances" in empty.axes[0].get_title()


def test_plot_loss_history(tmp_path):
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.0],
               "rpn_class_loss": [0.5, 0.3, 0.2], "val_rpn_class_loss": [0.6, 0.4, 0.3],
               "learning_rate": [0.01] * 3}
    path = tmp_path / "loss.png"
    fig = visualize.plot_loss_history(history, save_path=str(path))
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["loss", "val_loss", "rpn_class_loss", "val_rpn_class_loss"]
    assert _is_png(path)
    assert isinstance(visualize.plot_loss_history({}), Figure)


def test_precision_recall_and_overlaps():
    fig = visualize.plot_precision_recall(0.75, np.array([1, 1, 0.5]), np.array([0, 0.5, 1]))
    assert "0.750" in fig.axes[0].get_title()
    fig = visualize.plot_overlaps(np.array([1, 2]), np.array([1, 3, 2]), np.array([.9, .8, .7]),
                                  np.array([[.9, 0], [0, .1], [0, .7]]), ["BG", "a", "b", "c"])
    assert isinstance(fig, Figure)


def test_display_table_and_weight_stats(capsys):
    visualize.display_table([["name", "value"], ["loss", 1.5]])
    assert "loss" in capsys.readouterr().out

    class Weight:
        def __init__(self, name, value):
            self.name, self.value = name, value

        def __array__(self, dtype=None, copy=None):
            return self.value

    class Model:
        weights = [Weight("conv1/kernel", np.arange(6.0).reshape(2, 3))]

    visualize.display_weight_stats(Model())
    out = capsys.readouterr().out
    assert "conv1/kernel" in out and "(2, 3)" in out


def test_figure_shows_once_in_ipython(data, monkeypatch):
    """As a cell's value the figure renders itself once as PNG (and leaves pyplot)."""
    pytest.importorskip("IPython")
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    ds, image, masks, class_ids, boxes = data
    fig = visualize.display_instances(image, boxes, masks, class_ids, ds.class_names,
                                      figsize=(2, 2))
    fig._ipython_display_()
    assert len(shown) == 1 and isinstance(shown[0], IPython.display.Image)
    assert matplotlib.get_backend().lower() == "agg"
