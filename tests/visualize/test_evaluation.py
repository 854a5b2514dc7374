"""visualize.evaluation: display_differences, the one plot_precision_recall, plot_overlaps."""
import numpy as np
import pytest
from figure_checks import drawn

from maskrcnn import visualize
from maskrcnn.evaluation import plot_precision_recall as evaluation_plot_precision_recall


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
    colours = [t.get_bbox_patch().get_facecolor()[:3] for t in fig.axes[0].texts]
    assert colours[-1] == pytest.approx(visualize.FP_COLOR)
    assert colours[n - 1] == pytest.approx(visualize.MISSED_COLOR)
    assert colours[0] == pytest.approx(visualize.TP_COLOR)
    empty = visualize.display_differences(image, np.zeros((0, 4)), [], np.zeros((64, 64, 0)),
                                          np.zeros((0, 4)), [], [], np.zeros((64, 64, 0)),
                                          ds.class_names)
    assert "No instances" in empty.axes[0].get_title()


def test_precision_recall_matterport_call():
    precisions, recalls = np.array([1, 1, 0.5]), np.array([0, 0.5, 1])
    fig = visualize.plot_precision_recall(0.75, precisions, recalls)
    ax = fig.axes[0]
    assert "0.750" in ax.get_title() and ax.get_legend() is None
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), recalls)
    np.testing.assert_array_equal(line.get_ydata(), precisions)
    assert drawn(fig) > 50


def test_precision_recall_per_class_is_the_same_function():
    """One implementation: evaluation's name draws what visualize's draws, from a dict."""
    curves = {"square": ([1.0, 1.0, 0.5], [0.0, 0.5, 1.0]), "circle": ([1.0, 0.2], [0.0, 1.0])}
    mine = visualize.plot_precision_recall(curves, title="mine")
    theirs = evaluation_plot_precision_recall(curves, title="mine")
    for fig in (mine, theirs):
        ax = fig.axes[0]
        assert ax.get_title() == "mine"
        assert [line.get_label() for line in ax.lines] == ["square", "circle"]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["square", "circle"]
    assert drawn(mine) == drawn(theirs) > 50
    with pytest.raises(TypeError, match="COCO evaluation"):
        visualize.plot_precision_recall([1, 2, 3])
    empty = visualize.plot_precision_recall({})
    assert [t.get_text() for t in empty.axes[0].texts] == ["no class with ground truth"]


def test_plot_overlaps_marks_matches():
    fig = visualize.plot_overlaps(np.array([1, 2]), np.array([1, 3, 2]), np.array([.9, .8, .7]),
                                  np.array([[.9, 0], [0, .1], [0, .7]]), ["BG", "a", "b", "c"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[0] == "0.90\nmatch" and texts[5] == "0.70\nmatch" and texts[3] == "0.10\n"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "a (0.90)", "c (0.80)", "b (0.70)"]
    assert drawn(fig) > 100
