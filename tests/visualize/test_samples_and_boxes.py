"""visualize.samples and visualize.boxes: image grids, top masks, dataset rows, boxes."""
import numpy as np
import pytest
from figure_checks import drawn, is_png
from matplotlib.figure import Figure

from maskrcnn import visualize


def test_display_top_masks_and_images(data):
    ds, image, masks, class_ids, _ = data
    fig = visualize.display_top_masks(image, masks, class_ids, ds.class_names, limit=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    shown = [ax.images[0].get_array() for ax in fig.axes[1:]]
    assert shown[0].max() >= 1 and shown[-1].max() == 0, "classes first, then blank panels"
    fig = visualize.display_top_masks(image, np.zeros((64, 64, 0), bool), [], ds.class_names)
    assert [ax.get_title() for ax in fig.axes][1:] == ["-"] * 4
    fig = visualize.display_images([image] * 5, titles=list("abcde"), cols=2)
    assert len(fig.axes) == 6 and [len(ax.images) for ax in fig.axes] == [1] * 5 + [0]
    assert drawn(fig) > 1000


def test_display_dataset_samples(data, tmp_path):
    ds = data[0]
    path = tmp_path / "samples.png"
    fig = visualize.display_dataset_samples(ds, ds.image_ids, ds.class_names, limit=2,
                                            save_path=str(path))
    assert len(fig.axes) == 9 and is_png(path)
    assert fig.axes[0].get_title().endswith(f"{len(ds.load_image_and_masks(0)[2])} instances")


def test_draw_boxes_and_rois(data):
    ds, image, masks, class_ids, boxes = data
    refined = boxes + 1
    fig = visualize.draw_boxes(image, boxes, refined, masks=masks,
                               captions=["c"] * len(boxes), title="refine")
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * len(boxes) and len(ax.lines) == len(boxes)
    assert [p.get_linestyle() for p in ax.patches[:2]] == ["dotted", "solid"]
    assert drawn(fig) > 100
    faint = visualize.draw_boxes(image, refined_boxes=refined, visibilities=[1] * len(boxes))
    assert len(faint.axes[0].patches) == len(boxes)
    hidden = visualize.draw_boxes(image, boxes, visibilities=[0] * len(boxes))
    assert len(hidden.axes[0].patches) == 0
    rois = visualize.draw_rois(image, boxes, refined, masks, class_ids, ds.class_names)
    assert sorted(t.get_text() for t in rois.axes[0].texts) == sorted(
        ds.class_names[c] for c in class_ids)
    with pytest.raises(ValueError, match="refined_boxes"):
        visualize.draw_boxes(image, boxes, refined[:0])


def test_draw_box_in_place():
    image = np.zeros((10, 10, 3), np.uint8)
    assert visualize.draw_box(image, (1, 1, 9, 9), (0, 255, 0)) is image
    assert (image[1:4, 1:9, 1] == 255).all() and image[5, 5].sum() == 0
