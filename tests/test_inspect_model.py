"""maskrcnn.inspect_model (the numbers of notebooks/inspect_model.ipynb) and the figures of
maskrcnn.visualize.model_parts, on an untrained tiny network (64 px images, CPU)."""
import numpy as np
import pytest

from maskrcnn import inspect_model as im
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.modeling.network import MaskRCNNNetwork

LAYERS = ["conv1", "res2a_out", "res3a_branch2a", "fpn_p2", "fpn_p5"]


def numpy_iou(a, b):
    """An independent IoU: one pair at a time."""
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def setup():
    from conftest import TinyConfig

    config = TinyConfig()
    config.DETECTION_NMS_THRESHOLD = 0.3
    network = MaskRCNNNetwork(config)
    data = ShapesDataset(2, 64, 64, seed=4)
    gt = im.ground_truth(data, config, 0)
    parts = im.inspect_image(network, gt["image"], layers=LAYERS, window=gt["window"])
    return config, network, gt, parts


def test_rpn_recall_against_numpy():
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 40], [50, 50, 60, 60]], float)
    proposals = np.array([[1, 1, 11, 11],      # IoU 0.68 with the first
                          [20, 20, 30, 28],    # IoU 0.4 with the second: not enough
                          [0, 30, 5, 40]], float)
    found = [any(numpy_iou(p, g) >= 0.5 for p in proposals) for g in gt]
    assert im.rpn_recall(proposals, gt) == pytest.approx(np.mean(found)) == pytest.approx(1 / 3)
    assert im.rpn_recall(proposals, gt, iou_threshold=0.3) == pytest.approx(2 / 3)
    assert im.rpn_recall(np.zeros((0, 4)), gt) == 0.0
    assert np.isnan(im.rpn_recall(proposals, np.zeros((0, 4))))
    iou = im.box_iou(proposals, gt)
    assert iou.shape == (3, 3)
    np.testing.assert_allclose(iou, [[numpy_iou(p, g) for g in gt] for p in proposals])


def test_shapes_and_ranges(setup):
    config, _, gt, parts = setup
    a = len(parts.anchors)
    assert parts.anchors.shape == (a, 4) and parts.rpn_scores.shape == (a,)
    assert parts.rpn_deltas.shape == (a, 4) and parts.anchor_levels.shape == (a,)
    assert np.all((parts.rpn_scores >= 0) & (parts.rpn_scores <= 1))
    assert np.bincount(parts.anchor_levels).tolist() == [
        (64 // s) ** 2 * 3 if s < 64 else 3 for s in config.BACKBONE_STRIDES]
    k = min(config.PRE_NMS_LIMIT, a)
    assert parts.pre_nms_boxes.shape == (k, 4)
    assert np.all(np.diff(parts.rpn_scores[parts.pre_nms_index]) <= 0)  # best first
    n = len(parts.proposals)
    assert 0 < n <= config.POST_NMS_ROIS_INFERENCE
    for boxes in (parts.pre_nms_boxes, parts.proposals, parts.refined_rois):
        assert np.all((boxes >= 0) & (boxes <= 1))
        assert np.all(boxes[:, 2] >= boxes[:, 0]) and np.all(boxes[:, 3] >= boxes[:, 1])
    c = config.NUM_CLASSES
    assert parts.roi_probs.shape == (n, c) and parts.refined_rois.shape == (n, 4)
    np.testing.assert_allclose(parts.roi_probs.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(parts.roi_class_ids, parts.roi_probs.argmax(axis=1))
    kd = len(parts.detections)
    assert parts.detections.shape == (kd, 6) and kd <= config.DETECTION_MAX_INSTANCES
    assert np.all(parts.detections[:, 4] >= 1) and np.all(parts.detections[:, 4] < c)
    m = 2 * config.MASK_POOL_SIZE
    assert parts.mask_logits.shape == (kd, m, m, c)
    assert parts.mask_probs.shape == (kd, m, m)
    assert np.all((parts.mask_probs >= 0) & (parts.mask_probs <= 1))
    pixels = parts.to_pixels(parts.detections, config.BOX_CONVENTION)
    assert pixels.shape == (kd, 6) and np.all(pixels[:, :4] <= 64)
    np.testing.assert_array_equal(pixels[:, 4:], parts.detections[:, 4:])


def test_detections_are_the_detection_graphs(setup):
    _, network, gt, parts = setup
    detections, masks = network.detect_batch(gt["image"][None], gt["window"][None])
    kept = detections[0].numpy()[detections[0, :, 4].numpy() > 0]
    np.testing.assert_allclose(parts.detections, kept, atol=1e-5)
    np.testing.assert_allclose(parts.mask_probs, masks[0].numpy()[:len(kept)], atol=1e-5)


def test_after_nms_boxes_of_one_class_overlap_at_most_the_threshold(setup):
    config, _, _, parts = setup
    assert len(parts.detections) > 1
    for class_id, rows in im.detections_by_class(parts.detections).items():
        assert np.all(rows[:, 4] == class_id)
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                assert numpy_iou(rows[i, :4], rows[j, :4]) <= config.DETECTION_NMS_THRESHOLD + 1e-6


def test_activations_have_the_layers_shape(setup):
    _, network, gt, parts = setup
    assert list(parts.activations) == LAYERS
    for name, value in parts.activations.items():
        _, layer = im.find_layer(network, name)
        expected = layer.output.shape[1:]
        assert value.ndim == 3 and value.shape[-1] == expected[-1]
    h, w = gt["image"].shape[:2]
    assert parts.activations["conv1"].shape[:2] == (h // 2, w // 2)
    assert parts.activations["res2a_out"].shape[:2] == (h // 4, w // 4)
    assert parts.activations["fpn_p5"].shape[:2] == (h // 32, w // 32)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        im.find_layer(network, "nope")


def test_targets(setup):
    config, _, gt, parts = setup
    labels, deltas = im.anchor_targets(config, parts.anchors, gt["class_ids"],
                                       gt["norm_boxes"], seed=0)
    assert labels.shape == (len(parts.anchors),) and deltas.shape == (len(parts.anchors), 4)
    positive = labels == 1
    assert positive.any() and (labels == 0).any()
    assert int(np.sum(labels >= 0)) <= config.RPN_TRAIN_ANCHORS_PER_IMAGE
    # positive anchors moved by their targets land on ground-truth boxes
    moved = im.apply_deltas(parts.anchors[positive], deltas[positive], config.RPN_BBOX_STD_DEV)
    assert np.all(im.box_iou(moved, gt["norm_boxes"]).max(axis=1) > 0.99)
    t = im.roi_targets(config, parts.proposals, gt["class_ids"], gt["norm_boxes"],
                       gt["masks"], seed=0)
    total = config.TRAIN_ROIS_PER_IMAGE
    assert t["rois"].shape == (total, 4) and t["class_ids"].shape == (total,)
    p = int(np.sum(t["class_ids"] > 0))
    assert p > 0 and t["masks"].shape == (p,) + tuple(config.MASK_SHAPE)
    assert set(np.unique(t["masks"])) <= {0.0, 1.0}
    fitted = im.apply_deltas(t["rois"][:p], t["deltas"][:p], config.BBOX_STD_DEV)
    assert np.all(im.box_iou(fitted, gt["norm_boxes"]).max(axis=1) > 0.99)


def test_mold_gives_the_predictors_window(setup):
    config = setup[0]
    image = np.zeros((40, 64, 3), np.uint8)
    molded, window = im.mold(config, image)
    assert molded.shape == (64, 64, 3)
    assert window[0] > 0 and window[2] < 1 and window[1] == 0
    levels = im.anchor_level_index(config, molded.shape)
    assert len(levels) == len(setup[3].anchors)


def test_weight_values(setup):
    network = setup[1]
    kernels = im.weight_values(network, pattern="kernel")
    assert kernels and all("kernel" in k for k in kernels)
    assert sum(v.size for v in im.weight_values(network).values()) == network.count_params()


def test_figures(setup):
    from figure_checks import drawn

    from maskrcnn.visualize import model_parts as mp

    config, network, gt, parts = setup
    conv = config.BOX_CONVENTION
    image = parts.image
    labels, _ = im.anchor_targets(config, parts.anchors, gt["class_ids"], gt["norm_boxes"])
    t = im.roi_targets(config, parts.proposals, gt["class_ids"], gt["norm_boxes"], gt["masks"])
    names = ["BG", "square", "circle", "triangle"]
    figures = [
        mp.display_anchors(image, parts.to_pixels(parts.anchors, conv), parts.anchor_levels),
        mp.display_rpn_targets(image, parts.to_pixels(parts.anchors, conv), labels, gt["boxes"]),
        mp.display_proposals(image, parts.to_pixels(parts.proposals, conv), gt["boxes"]),
        mp.display_refinement(image, parts.to_pixels(parts.proposals, conv),
                              parts.to_pixels(parts.refined_rois, conv), parts.roi_class_ids,
                              names, parts.roi_scores),
        mp.display_nms_by_class(image, parts.to_pixels(parts.refined_rois, conv),
                                parts.roi_class_ids, parts.to_pixels(parts.detections, conv),
                                names),
        mp.display_mask_grid(t["masks"], titles=[names[c] for c in t["class_ids"]]),
        mp.display_mask_grid(parts.mask_probs[:4], vmin=0, vmax=1),
        mp.display_activations(parts.activations, channels=4),
        mp.plot_weight_histograms(im.weight_values(network, "kernel"), limit=6),
    ]
    for fig in figures:
        assert drawn(fig) > 0
    assert len(figures[0].axes) == len(config.BACKBONE_STRIDES)
    assert sum(ax.axison for ax in figures[-1].axes) == 6  # the rest of the grid is off
    assert mp.display_mask_grid(np.zeros((0, 28, 28))) is not None


def test_two_anchor_sides_a_level_run_through_the_network():
    """RPN_ANCHOR_SCALES with a list of sides a level: the network's RPN scores one output
    per anchor (6 a cell: 2 sides x 3 ratios), levels counted as the numpy anchors."""
    from conftest import TinyConfig

    config = TinyConfig()
    config.RPN_ANCHOR_SCALES = [[8, 11], [16, 22], [32, 45], [64, 90], [128, 181]]
    network = MaskRCNNNetwork(config)
    gt = im.ground_truth(ShapesDataset(1, 64, 64, seed=4), config, 0)
    parts = im.inspect_image(network, gt["image"], window=gt["window"])
    assert parts.rpn_scores.shape == (len(parts.anchors),)
    assert np.bincount(parts.anchor_levels).tolist() == [
        (64 // s) ** 2 * 6 if s < 64 else 6 for s in config.BACKBONE_STRIDES]
    px = parts.to_pixels(parts.anchors[:6], config.BOX_CONVENTION)
    sides = np.sqrt((px[:, 2] - px[:, 0]) * (px[:, 3] - px[:, 1]))
    np.testing.assert_allclose(sides, [8, 8, 8, 11, 11, 11], rtol=1e-4)


# ---------------------------------------------------------------- matterport's other views
def numpy_bilinear(image, out_h, out_w):
    """Bilinear resize with half-pixel centres and edges clamped, one output pixel at a time
    (what cv2.INTER_LINEAR does)."""
    h, w = image.shape
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            y = min(max((i + 0.5) * h / out_h - 0.5, 0), h - 1)
            x = min(max((j + 0.5) * w / out_w - 0.5, 0), w - 1)
            y0, x0 = int(y), int(x)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = y - y0, x - x0
            out[i, j] = (image[y0, x0] * (1 - dy) * (1 - dx) + image[y0, x1] * (1 - dy) * dx
                         + image[y1, x0] * dy * (1 - dx) + image[y1, x1] * dy * dx)
    return out


def numpy_round_trip(mask, mini_shape):
    ys, xs = np.nonzero(mask)
    y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    small = numpy_bilinear(mask[y1:y2, x1:x2].astype(float), *mini_shape) >= 0.5
    out = np.zeros_like(mask)
    out[y1:y2, x1:x2] = numpy_bilinear(small.astype(float), y2 - y1, x2 - x1) >= 0.5
    return out


def test_mini_mask_round_trip_against_numpy():
    h = w = 64
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - 30) ** 2 + (xx - 22) ** 2 <= 15 ** 2
    triangle = (yy >= 10) & (yy < 50) & (xx >= 40) & (xx - 40 <= (yy - 10) * 20 // 40)
    ring = disc & ((yy - 30) ** 2 + (xx - 22) ** 2 >= 9 ** 2)
    masks = np.stack([disc, triangle, ring], -1)
    restored, table = im.mini_mask_round_trip(masks, (8, 8))
    for k in range(masks.shape[-1]):
        ref = numpy_round_trip(masks[..., k], (8, 8))
        # float rounding may tip a pixel sitting exactly on 0.5: allow a handful
        assert np.sum(ref != restored[..., k]) <= 3, k
        lost, added = np.sum(masks[..., k] & ~ref), np.sum(~masks[..., k] & ref)
        assert abs(table.loc[k, "lost"] - lost) <= 3 and abs(table.loc[k, "added"] - added) <= 3
        assert table.loc[k, "pixels"] == masks[..., k].sum()
        inter, union = np.sum(masks[..., k] & ref), np.sum(masks[..., k] | ref)
        assert table.loc[k, "IoU"] == pytest.approx(inter / union, abs=0.01)
    # an 8x8 mini-mask loses a thin ring far more than a disc
    assert table.loc[2, "changed (%)"] > 2 * table.loc[0, "changed (%)"] > 0
    # the identity: a mini-mask as large as the box changes nothing
    same, t = im.mini_mask_round_trip(masks[..., :1], (31, 31))
    assert np.array_equal(same, masks[..., :1]) and t.loc[0, "changed (%)"] == 0


def test_top_anchors(setup):
    config, _, _, parts = setup
    top = parts.top_anchors(5, config.RPN_BBOX_STD_DEV)
    best = np.argsort(-parts.rpn_scores, kind="stable")[:5]
    np.testing.assert_allclose(top["scores"], parts.rpn_scores[best], rtol=1e-6)
    np.testing.assert_allclose(top["anchors"], parts.anchors[parts.pre_nms_index[:5]])
    np.testing.assert_allclose(np.clip(top["refined"], 0, 1), top["clipped"], atol=1e-6)


def test_positive_roi_ratio_against_numpy(setup):
    """The positives are the candidate ROIs (proposals and ground-truth boxes) with IoU >= 0.5
    with an object, at most ROI_POSITIVE_RATIO of TRAIN_ROIS_PER_IMAGE."""
    config, network = setup[:2]
    data = ShapesDataset(3, 64, 64, seed=4)
    table = im.positive_roi_ratio(network, data, data.image_ids, seed=0)
    assert len(table) == 3
    cap = int(config.TRAIN_ROIS_PER_IMAGE * config.ROI_POSITIVE_RATIO)
    for row in table.itertuples():
        gt = im.ground_truth(data, config, row.image_id)
        parts = im.inspect_image(network, gt["image"], window=gt["window"])
        candidates = np.concatenate([parts.proposals, gt["norm_boxes"]])
        over = [max(numpy_iou(c, g) for g in gt["norm_boxes"]) >= 0.5 for c in candidates]
        assert row.positive == min(int(np.sum(over)), cap)
        assert row.objects == len(gt["class_ids"]) and row.rois <= config.TRAIN_ROIS_PER_IMAGE
        assert row._6 == pytest.approx(100 * row.positive / row.rois)


def test_delta_and_centre_histograms_count_the_values(setup):
    from maskrcnn.visualize import model_parts as mp

    parts = setup[3]
    fig = mp.plot_rpn_deltas(parts.rpn_deltas, bins=30)
    for k, ax in enumerate(fig.axes):
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_array_equal(heights, np.histogram(parts.rpn_deltas[:, k], 30)[0])
    pixels = parts.to_pixels(parts.proposals, setup[0].BOX_CONVENTION)
    fig = mp.plot_box_centres(pixels, parts.shape, bins=16)
    for ax, (a, b), side in zip(fig.axes, ((0, 2), (1, 3)), parts.shape):
        heights = [p.get_height() for p in ax.patches]
        centres = (pixels[:, a] + pixels[:, b]) / 2
        np.testing.assert_array_equal(heights, np.histogram(centres, 16, range=(0, side))[0])
        assert "px" in ax.get_xlabel()


def test_mini_mask_figure_says_what_the_table_says():
    from figure_checks import drawn

    from maskrcnn.visualize import model_parts as mp

    data = ShapesDataset(1, 64, 64, seed=1)
    _, masks, _ = data.load_image_and_masks(0)
    restored, table = im.mini_mask_round_trip(masks, (6, 6))
    fig = mp.display_mini_mask_round_trip(masks, restored)
    assert drawn(fig) > 0
    titles = [ax.get_title() for ax in fig.axes][2::3]
    assert titles == [f"lost {r.lost}, added {r.added} px" for r in table.itertuples()][:6]
