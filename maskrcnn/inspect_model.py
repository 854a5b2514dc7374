"""A network taken apart on one image: the numbers behind ``notebooks/inspect_model.ipynb``.

:func:`inspect_image` runs the sub-graphs of the network
(:class:`~maskrcnn.modeling.network.MaskRCNNNetwork`) one after the other on one molded
image, the same functions its detection graph calls, and keeps what each step gives:
anchors, RPN scores and deltas, the refined anchors before NMS, the proposals, the box
head's classes and refined boxes before NMS, the detections after per-class NMS, the mask
head's raw logits and the activations of chosen layers. :func:`anchor_targets` and
:func:`roi_targets` give the training targets of one image's ground truth
(:func:`ground_truth`), :func:`rpn_recall` how many ground-truth boxes the proposals find.

Boxes are (N, 4) ``(y1, x1, y2, x2)`` normalised to the molded (padded) image, as in the
graph; :meth:`Inspection.to_pixels` turns them into its pixels. Nothing here draws: the
figures are in :mod:`maskrcnn.visualize.model_parts`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .modeling import backend  # noqa: F401  (TensorFlow and Keras, or how to install them)

# isort: split
import keras
import tensorflow as tf

from .data.pipeline import load_image_gt
from .data.transforms import expand_mask, extract_bboxes, minimize_mask, parse_image_meta
from .evaluation.voc import compute_overlaps
from .modeling.anchors import anchors_per_location
from .modeling.boxes import clip_boxes, decode_deltas
from .modeling.conventions import denormalize_boxes, normalize_boxes
from .modeling.detection import refine_detections
from .modeling.mask_head import select_class_masks
from .modeling.targets import detection_targets, rpn_targets
from .predictor import Predictor

#: The parts of the network whose layers :func:`layer_activations` can show.
ACTIVATION_PARTS = ("backbone", "fpn")


def network_of(model):
    """The Keras network of a :class:`~maskrcnn.MaskRCNN` (or the network itself)."""
    return getattr(model, "keras_model", model)


@dataclass
class Inspection:
    """What each step of the network gives for one image (see the module docstring).

    Shapes: A anchors, k = min(PRE_NMS_LIMIT, A) refined anchors, N proposals (at most
    POST_NMS_ROIS_INFERENCE; NMS may leave fewer), C = NUM_CLASSES, K detections (at most
    DETECTION_MAX_INSTANCES), m = 2 * MASK_POOL_SIZE.
    """
    image: np.ndarray            # (H, W, 3) uint8 molded image
    window: np.ndarray           # (4,) normalised part of it that holds the image
    anchors: np.ndarray          # (A, 4)
    anchor_levels: np.ndarray    # (A,) int: 0 for P2 ... 4 for P6
    rpn_scores: np.ndarray       # (A,) object probability
    rpn_deltas: np.ndarray       # (A, 4) divided by RPN_BBOX_STD_DEV
    pre_nms_index: np.ndarray    # (k,) anchor index of the best-scoring anchors, best first
    pre_nms_boxes: np.ndarray    # (k, 4) those anchors refined by their deltas, clipped
    proposals: np.ndarray        # (N, 4) after NMS (RPN_NMS_THRESHOLD), best first
    roi_probs: np.ndarray        # (N, C) class probabilities of each proposal
    roi_class_ids: np.ndarray    # (N,) most likely class (0: background)
    roi_scores: np.ndarray       # (N,) its probability
    refined_rois: np.ndarray     # (N, 4) proposals refined by their class's deltas, clipped
    detections: np.ndarray       # (K, 6) y1, x1, y2, x2, class id, score after NMS
    mask_logits: np.ndarray      # (K, m, m, C) the mask head's raw output per detection
    mask_probs: np.ndarray       # (K, m, m) sigmoid of each detection's own class
    activations: dict = field(default_factory=dict)  # layer name -> (h, w, channels)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def to_pixels(self, boxes, convention: str) -> np.ndarray:
        """Normalised (N, 4) boxes -> float pixel boxes of the molded image; columns after
        the fourth (a detection's class id and score) are kept as they are."""
        boxes = np.asarray(boxes, np.float64)
        h, w = self.shape
        pixels = denormalize_boxes(boxes[..., :4], h, w, convention)
        return np.concatenate([pixels, boxes[..., 4:]], axis=-1)

    def top_anchors(self, count: int = 10, std_dev=None) -> dict:
        """The ``count`` anchors the RPN scores highest (before NMS), normalised: ``anchors``
        as they are, ``refined`` moved by their predicted deltas (``std_dev``: the config's
        RPN_BBOX_STD_DEV), ``clipped`` those clipped to the image (what NMS receives), and
        their ``scores``; matterport's "top anchors" views."""
        index = self.pre_nms_index[:count]
        out = {"anchors": self.anchors[index], "scores": self.rpn_scores[index],
               "clipped": self.pre_nms_boxes[:count]}
        if std_dev is not None:
            out["refined"] = apply_deltas(self.anchors[index], self.rpn_deltas[index], std_dev)
        return out


def mold(config, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An image resized and padded as detection does -> (molded uint8 (H, W, 3), normalised
    window (4,))."""
    predictor = Predictor(config, lambda: None)
    molded, metas = predictor.mold_inputs([image])
    return molded[0], predictor.normalized_window(metas[0])


def anchor_level_index(config, image_shape) -> np.ndarray:
    """(A,) int: the pyramid level (0 for P2) of each anchor of ``pyramid_anchors``."""
    h, w = int(image_shape[0]), int(image_shape[1])
    step, per_cell = config.RPN_ANCHOR_STRIDE, anchors_per_location(config)
    counts = [len(range(0, int(np.ceil(h / s)), step)) * len(range(0, int(np.ceil(w / s)), step))
              * per_cell for s in config.BACKBONE_STRIDES]
    return np.repeat(np.arange(len(counts)), counts)


def find_layer(model, name: str):
    """(part, layer): the layer called ``name`` in the backbone or the FPN. Matterport's name
    of a convolution also finds the layer that holds it with its batch norm
    (``res4a_branch2a`` -> ``res4a_branch2a_with_bn4a_branch2a``)."""
    network = network_of(model)
    for part in ACTIVATION_PARTS:
        for layer in getattr(network, part).layers:
            if layer.name == name or layer.name.startswith(name + "_with_"):
                return part, layer
    known = [layer.name for part in ACTIVATION_PARTS for layer in getattr(network, part).layers]
    raise ValueError(f"no layer {name!r} in the backbone or the FPN; some of theirs: "
                     f"{', '.join(known[:8])} ... {', '.join(known[-6:])}")


def layer_activations(model, image: np.ndarray, names) -> dict[str, np.ndarray]:
    """Outputs of the layers ``names`` (backbone or FPN, see :func:`find_layer`) for one
    molded uint8 (H, W, 3) image: name -> (h, w, channels) float32."""
    network = network_of(model)
    x = tf.cast(tf.constant(image)[None], tf.float32) - network.mean_pixel
    c_features = None
    out = {}
    for name in names:
        part, layer = find_layer(network, name)
        sub = getattr(network, part)
        probe = keras.Model(sub.inputs, layer.output)
        if part == "backbone":
            value = probe(x, training=False)
        else:
            if c_features is None:
                c_features = network.backbone(x, training=False)
            value = probe(list(c_features)[-len(sub.inputs):], training=False)
        out[name] = np.asarray(value)[0]
    return out


def inspect_image(model, image: np.ndarray, layers=(), window=None) -> Inspection:
    """Run the network step by step on one image and return every step's output
    (:class:`Inspection`). ``image``: any RGB image, molded here as detection does; or, with
    ``window`` (its (4,) normalised window, as :func:`ground_truth` gives), an image already
    molded. ``layers``: names of backbone or FPN layers whose activations to keep."""
    network = network_of(model)
    c = network.config
    if window is not None:
        image, window = np.asarray(image, np.uint8), np.asarray(window, np.float32)
    else:
        image, window = mold(c, image)
    images = tf.constant(image[None])
    hw = tf.cast(tf.shape(images)[1:3], tf.float32)
    features, rpn_logits, rpn_deltas = network.pyramid(images, training=False)
    anchors = network.anchors(images)
    scores = tf.nn.softmax(tf.cast(rpn_logits, tf.float32))[..., 1]
    k = min(int(c.PRE_NMS_LIMIT), int(anchors.shape[0]))
    top = tf.math.top_k(scores[0], k=k, sorted=True)
    pre_nms = clip_boxes(decode_deltas(tf.gather(anchors, top.indices),
                                       tf.gather(tf.cast(rpn_deltas[0], tf.float32),
                                                 top.indices), c.RPN_BBOX_STD_DEV),
                         tf.constant([0.0, 0.0, 1.0, 1.0]))
    count = int(c.POST_NMS_ROIS_INFERENCE)
    keep = tf.image.non_max_suppression(pre_nms, top.values, count,
                                        iou_threshold=c.RPN_NMS_THRESHOLD)
    proposals = tf.gather(pre_nms, keep)
    # the detection graph's fixed-size input: zero rows where NMS left fewer
    padded = tf.pad(proposals, [[0, count - tf.shape(proposals)[0]], [0, 0]])[None]
    class_logits, deltas = network.heads(features, padded, hw, training=False)
    n = int(proposals.shape[0])
    probs = tf.nn.softmax(tf.cast(class_logits[0, :n], tf.float32), axis=-1)
    class_ids = tf.argmax(probs, axis=-1, output_type=tf.int32)
    own = tf.gather(tf.cast(deltas[0, :n], tf.float32), class_ids, batch_dims=1)
    refined = clip_boxes(decode_deltas(proposals, own, c.BBOX_STD_DEV), tf.constant(window))
    detections = refine_detections(padded, class_logits, deltas, tf.constant(window)[None], c)
    detections = detections[0][detections[0, :, 4] > 0]
    if detections.shape[0]:
        mask_logits = network.masks(features, detections[None, :, :4], hw, training=False)[0]
        mask_probs = tf.sigmoid(tf.cast(select_class_masks(
            mask_logits[None], tf.cast(detections[None, :, 4], tf.int32))[0], tf.float32))
    else:  # nothing detected (an untrained or unsure model): no masks to run the head on
        m = 2 * int(c.MASK_POOL_SIZE)
        mask_logits = np.zeros((0, m, m, int(c.NUM_CLASSES)), np.float32)
        mask_probs = tf.zeros((0, m, m), tf.float32)
    return Inspection(
        image=image, window=np.asarray(window, np.float32), anchors=anchors.numpy(),
        anchor_levels=anchor_level_index(c, image.shape), rpn_scores=scores[0].numpy(),
        rpn_deltas=np.asarray(rpn_deltas[0], np.float32), pre_nms_index=top.indices.numpy(),
        pre_nms_boxes=pre_nms.numpy(), proposals=proposals.numpy(), roi_probs=probs.numpy(),
        roi_class_ids=class_ids.numpy(), roi_scores=tf.reduce_max(probs, -1).numpy(),
        refined_rois=refined.numpy(), detections=detections.numpy(),
        mask_logits=np.asarray(mask_logits, np.float32), mask_probs=mask_probs.numpy(),
        activations=layer_activations(network, image, layers) if layers else {})


# ---------------------------------------------------------------------- ground truth, targets
def ground_truth(dataset, config, image_id: int) -> dict:
    """One image of ``dataset`` as training sees it (no augmentation, crop or copy-paste):
    ``image`` molded uint8, ``window`` (4,) normalised (the part that holds the image:
    :func:`inspect_image`'s), ``class_ids`` (G,), ``boxes`` (G, 4) pixels of the molded image,
    ``norm_boxes`` (G, 4) normalised, ``masks`` (h, w, G) bool (mini-masks when
    USE_MINI_MASK)."""
    image, meta, class_ids, boxes, masks = load_image_gt(dataset, config, image_id,
                                                         training=False)
    h, w = image.shape[:2]
    norm = normalize_boxes(boxes.astype(np.float64), h, w,
                           config.BOX_CONVENTION).astype(np.float32)
    window = normalize_boxes(parse_image_meta(meta[None])["window"][0].astype(np.float64),
                             h, w, config.BOX_CONVENTION).astype(np.float32)
    return {"image": image, "window": window, "class_ids": class_ids, "boxes": boxes,
            "norm_boxes": norm, "masks": masks}


def anchor_targets(config, anchors, gt_class_ids, gt_boxes, seed: int | None = None):
    """The RPN's training targets for one image: ``rpn_targets`` on anchors (A, 4) and
    normalised ground truth (G,), (G, 4). Returns labels (A,) int (1 positive, 0 negative,
    -1 not sampled) and deltas (A, 4) (zero except for positives)."""
    if seed is not None:
        tf.random.set_seed(seed)
    labels, deltas = rpn_targets(tf.constant(anchors, tf.float32),
                                 tf.constant(np.asarray(gt_class_ids, np.int32)[None]),
                                 tf.constant(np.asarray(gt_boxes, np.float32)[None]), config)
    return labels[0].numpy(), deltas[0].numpy()


def roi_targets(config, proposals, gt_class_ids, gt_boxes, gt_masks, seed: int | None = None):
    """The heads' training targets for one image: ``detection_targets`` on proposals (N, 4)
    and normalised ground truth (G,), (G, 4), masks (h, w, G). Returns a dict: ``rois``
    (T, 4), ``class_ids`` (T,), ``deltas`` (T, 4), ``masks`` (P, mh, mw) for the first P
    ROIs (the positives), ``weights`` (T,) (0 for padding), T = TRAIN_ROIS_PER_IMAGE."""
    if seed is not None:
        tf.random.set_seed(seed)
    rois, class_ids, deltas, masks, weights = detection_targets(
        tf.constant(np.asarray(proposals, np.float32)[None]),
        tf.constant(np.asarray(gt_class_ids, np.int32)[None]),
        tf.constant(np.asarray(gt_boxes, np.float32)[None]),
        tf.constant(np.asarray(gt_masks, np.uint8)[None]), config)
    positives = int(np.sum(class_ids[0].numpy() > 0))
    return {"rois": rois[0].numpy(), "class_ids": class_ids[0].numpy(),
            "deltas": deltas[0].numpy(), "masks": masks[0, :positives].numpy(),
            "weights": weights[0].numpy()}


# ---------------------------------------------------------------------- numbers
def apply_deltas(boxes, deltas, std_dev) -> np.ndarray:
    """(N, 4) boxes moved by their (N, 4) deltas (divided by ``std_dev``, e.g. the config's
    RPN_BBOX_STD_DEV for anchors, BBOX_STD_DEV for ROIs), as the graph decodes them."""
    return decode_deltas(tf.constant(np.asarray(boxes, np.float32)),
                         tf.constant(np.asarray(deltas, np.float32)), std_dev).numpy()


def box_iou(boxes1, boxes2) -> np.ndarray:
    """IoU of every pair of (N, 4) and (M, 4) boxes -> (N, M), numpy (the evaluation's
    ``compute_overlaps``)."""
    return compute_overlaps(boxes1, boxes2)


def rpn_recall(proposals, gt_boxes, iou_threshold: float = 0.5) -> float:
    """The share of ground-truth boxes that some proposal overlaps with IoU >= threshold
    (matterport's "RPN recall"); boxes in one frame (both normalised or both pixels). NaN
    without ground truth."""
    gt = np.asarray(gt_boxes).reshape(-1, 4)
    if len(gt) == 0:
        return float("nan")
    proposals = np.asarray(proposals).reshape(-1, 4)
    if len(proposals) == 0:
        return 0.0
    return float(np.mean(box_iou(proposals, gt).max(axis=0) >= iou_threshold))


def detections_by_class(detections) -> dict[int, np.ndarray]:
    """(K, 6) detections -> class id -> the (n, 6) rows of that class."""
    detections = np.asarray(detections).reshape(-1, 6)
    ids = detections[:, 4].astype(int)
    return {int(c): detections[ids == c] for c in np.unique(ids) if c > 0}


def weight_values(model, pattern: str | None = None) -> dict[str, np.ndarray]:
    """Weight path -> its values, flattened, for every weight of the network (those whose
    path contains ``pattern`` when given), in the network's layer order."""
    network = network_of(model)
    out = {}
    for w in network.weights:
        name = getattr(w, "path", None) or w.name
        if pattern is None or pattern in name:
            out[name] = np.asarray(w).ravel()
    return out


# ---------------------------------------------------------------------- data as training sees it
def mini_mask_round_trip(masks, mini_shape) -> tuple[np.ndarray, pd.DataFrame]:
    """What USE_MINI_MASK costs: each (H, W, N) mask cropped to its box, shrunk to
    ``mini_shape`` (the config's MINI_MASK_SHAPE) and grown back, as training stores and the
    mask loss reads it. Returns the (H, W, N) restored masks and a table per object:
    ``pixels`` of the mask, ``lost`` and ``added`` pixels, ``IoU`` of the two masks and
    ``changed (%)``, (lost + added) / pixels in percent."""
    masks = np.asarray(masks, bool)
    boxes = extract_bboxes(masks)
    restored = expand_mask(boxes, minimize_mask(boxes, masks, tuple(mini_shape)), masks.shape)
    pixels = masks.sum(axis=(0, 1)).astype(np.int64)
    lost = (masks & ~restored).sum(axis=(0, 1)).astype(np.int64)
    added = (~masks & restored).sum(axis=(0, 1)).astype(np.int64)
    union = (masks | restored).sum(axis=(0, 1))
    table = pd.DataFrame({
        "pixels": pixels, "lost": lost, "added": added,
        "IoU": np.where(union > 0, (masks & restored).sum(axis=(0, 1)) / np.maximum(union, 1),
                        np.nan),
        "changed (%)": np.where(pixels > 0, 100.0 * (lost + added) / np.maximum(pixels, 1),
                                np.nan)})
    return restored, table


def positive_roi_ratio(model, dataset, image_ids, seed: int | None = 0) -> pd.DataFrame:
    """The heads' training ROIs of each image (the model's proposals plus the ground truth,
    sampled as ``detection_targets`` does): one row per image with ``rois`` (non-padding),
    ``positive`` (IoU >= 0.5 with an object) and ``positive (%)``; matterport's positive ROI
    ratio over many images. A ratio far under ROI_POSITIVE_RATIO means proposals that miss
    the objects (or few objects per image)."""
    config = network_of(model).config
    rows = []
    for image_id in image_ids:
        gt = ground_truth(dataset, config, int(image_id))
        parts = inspect_image(model, gt["image"], window=gt["window"])
        targets = roi_targets(config, parts.proposals, gt["class_ids"], gt["norm_boxes"],
                              gt["masks"], seed=seed)
        used = int(np.sum(targets["weights"] > 0))
        positive = int(np.sum(targets["class_ids"] > 0))
        rows.append({"image_id": int(image_id), "objects": len(gt["class_ids"]),
                     "proposals": len(parts.proposals), "rois": used, "positive": positive,
                     "positive (%)": 100.0 * positive / used if used else float("nan")})
    return pd.DataFrame(rows)
