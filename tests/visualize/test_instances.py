"""visualize.instances: display_instances, side_by_side, draw_instances; the package surface."""
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from figure_checks import drawn, is_png
from matplotlib.figure import Figure

from maskrcnn import visualize
from maskrcnn.data.transforms import extract_bboxes

# Every public name of the single-module visualize.py that the package replaced.
OLD_NAMES = ["random_colors", "apply_mask", "display_instances", "side_by_side",
             "draw_instances", "display_images", "display_top_masks", "display_dataset_samples",
             "draw_boxes", "draw_rois", "draw_box", "display_differences",
             "plot_precision_recall", "plot_overlaps", "plot_loss_history", "display_table",
             "display_weight_stats", "NotebookFigure", "TP_COLOR", "FP_COLOR", "MISSED_COLOR"]


def test_old_names_and_imports_without_tensorflow():
    assert [n for n in OLD_NAMES if not hasattr(visualize, n)] == []
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
    assert len(fig.axes[0].patches) >= 2 * len(class_ids), "a box and an outline each"
    assert drawn(fig) > 1000
    path = tmp_path / "inst.png"
    visualize.display_instances(image, boxes, masks, class_ids, ds.class_names,
                                save_path=str(path), figsize=(4, 4))
    assert is_png(path)


def test_display_instances_masks_change_the_image(data):
    """The mask overlay is in the picture: with show_mask=False the image is the input's."""
    ds, image, masks, class_ids, boxes = data
    shown = visualize.display_instances(image, boxes, masks, class_ids, ds.class_names)
    plain = visualize.display_instances(image, boxes, masks, class_ids, ds.class_names,
                                        show_mask=False, show_bbox=False)
    assert np.array_equal(plain.axes[0].images[0].get_array(), image)
    assert not np.array_equal(shown.axes[0].images[0].get_array(), image)
    assert len(plain.axes[0].patches) == 0


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


RED = (1.0, 0.0, 0.0)


def _one_box(box, shape=(120, 160), **kwargs):
    image = np.zeros((*shape, 3), np.uint8)
    return visualize.draw_instances(image, np.array([box]), None, [1], ["BG", "square"],
                                    scores=[0.99], colors=[RED], **kwargs)


def test_draw_instances_outline_is_two_pixels_inside_the_box():
    out = _one_box([40, 20, 100, 120], show_labels=False)
    red = np.all(out == (255, 0, 0), axis=-1)
    assert red[40:42, 20:120].all() and red[98:100, 20:120].all()  # top and bottom rows
    assert red[40:100, 20:22].all() and red[40:100, 118:120].all()  # left and right columns
    assert not red[42:98, 22:118].any(), "the inside stays clear"
    assert red.sum() == 2 * 2 * 100 + 2 * 2 * 56, "nothing outside the box"


def test_draw_instances_labels_are_text_on_a_strip_above_the_box():
    """The label is real text (white glyph pixels of several shades, anti-aliased) on a
    darkened strip of the box colour, just above the box; none without show_labels."""
    out = _one_box([40, 20, 100, 120])
    above = out[:40]
    strip = np.all(above == (153, 0, 0), axis=-1)
    white = above.min(axis=-1) > 200
    assert strip.sum() > 100 and white.sum() > 20
    rows = np.nonzero(strip.any(axis=1) | white.any(axis=1))[0]
    assert rows.max() == 39, "the strip ends right above the box"
    cols = np.nonzero(strip.any(axis=0))[0]
    assert cols.min() == 20, "the strip starts at the box's left edge"
    assert len(np.unique(above[white | strip].reshape(-1, 3), axis=0)) > 3, "anti-aliased text"
    longer = visualize.draw_instances(np.zeros((120, 160, 3), np.uint8), [[40, 20, 100, 120]],
                                      None, [1], ["BG", "a much longer class name"],
                                      colors=[RED])
    assert (longer[:40].min(axis=-1) > 200).sum() > white.sum(), "more text, more glyphs"
    assert not _one_box([40, 20, 100, 120], show_labels=False)[:40].any()


def test_draw_instances_label_stays_inside_at_the_edges():
    out = _one_box([0, 150, 30, 160])  # top right corner: the strip moves below and left
    assert out.shape == (120, 160, 3)
    inside = out[:, :150]
    assert (inside.min(axis=-1) > 200).sum() > 20, "the label moved left, inside the image"


def test_side_by_side_single_and_grid(data, tmp_path):
    ds, image, masks, class_ids, boxes = data
    gt = (boxes, masks, class_ids)
    pred = {"rois": boxes[:1], "masks": masks[..., :1], "class_ids": class_ids[:1],
            "scores": np.array([0.8])}
    path = tmp_path / "sbs.png"
    fig = visualize.side_by_side(image, gt, pred, ds.class_names, save_path=str(path))
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and is_png(path)
    left, right = fig.axes
    assert left.patches[0].get_edgecolor() == right.patches[0].get_edgecolor(), \
        "the same class has the same colour on both sides"
    images, gts, preds = [], [], []
    for i in ds.image_ids:
        img, m, c = ds.load_image_and_masks(i)
        images.append(img)
        gts.append((extract_bboxes(m), m, c))
        preds.append((np.zeros((0, 4)), np.zeros((64, 64, 0), bool), [], []))
    grid = visualize.side_by_side(images, gts, preds, ds.class_names, figsize=(6, 9))
    assert len(grid.axes) == 6
    assert "No instances" in grid.axes[1].get_title()


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


def test_side_by_side_rows_are_as_high_as_wide_images_need():
    """A wide picture gets a short row (no large gaps above and below it)."""
    from maskrcnn.visualize import side_by_side

    wide = np.zeros((40, 160, 3), np.uint8)
    empty = (np.zeros((0, 4)), np.zeros((40, 160, 0), bool), np.zeros(0, int))
    fig = side_by_side([wide, wide], [empty, empty], [empty + (np.zeros(0),)] * 2, ["BG"])
    width, height = fig.get_size_inches()
    assert width == 12 and height == pytest.approx(2 * (6 * 40 / 160 + 0.6))


def test_label_size_follows_the_image():
    from maskrcnn.visualize._text import label_size

    assert label_size(64, 64) == 5      # 8 px labels would cover a 64 px picture
    assert label_size(256, 320) == 8
    assert label_size(1024, 2048) == 20
