"""MaskRCNNNetwork: the Keras model that wires backbone, FPN, RPN, targets, ROIAlign and heads.

It holds the layers and does nothing but connect them: every step is a function or a
sub-model from its own module. ``train_step`` / ``test_step`` compute the five losses for
``Model.fit``; ``detect_batch`` is the inference graph.
"""
from __future__ import annotations

from . import backend  # noqa: F401  (TensorFlow and Keras, or how to install them)

# isort: split
import keras
import numpy as np
import tensorflow as tf

from ..config import LOSS_NAMES
from .anchors import graph_anchors
from .backbone import build_backbone
from .box_head import build_box_head, mrcnn_bbox_loss, mrcnn_class_loss
from .conventions import normalize_boxes
from .detection import refine_detections
from .distribute import cluster_task
from .fpn import build_fpn
from .mask_head import build_mask_head, mrcnn_mask_loss, select_class_masks
from .proposals import generate_proposals
from .roi_align import pyramid_roi_align
from .rpn import build_rpn, rpn_bbox_loss, rpn_class_loss
from .targets import detection_targets, rpn_targets


def leaf_layers_of(layer) -> list:
    """The layers that own weights inside ``layer`` (a Keras model, a ConvBN or a plain
    layer), in order."""
    if isinstance(layer, keras.Model):
        return [leaf for sub in layer.layers for leaf in leaf_layers_of(sub)]
    if hasattr(layer, "leaf_layers"):  # ConvBN: a convolution and its batch norm
        return layer.leaf_layers()
    return [layer] if layer.weights else []


class MaskRCNNNetwork(keras.Model):
    """Mask R-CNN as one Keras model. Inputs are uint8 images; see ``compute_losses`` and
    ``detect_batch`` for the two graphs."""

    def __init__(self, config, **kwargs):
        super().__init__(name="mask_rcnn", **kwargs)
        self.config = config
        self.backbone = build_backbone(config)
        self.fpn = build_fpn(config, self.backbone)
        self.rpn = build_rpn(config)
        self.box_head = build_box_head(config)
        self.mask_head = build_mask_head(config)
        self.loss_trackers = {name: keras.metrics.Mean(name=name)
                              for name in ("loss",) + LOSS_NAMES}
        self.mean_pixel = tf.constant(np.asarray(config.MEAN_PIXEL, dtype=np.float32))
        self.built = True

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras' hook before fit/evaluate: it reduces one input batch over the replicas to
        # build the model from it, which fails under MultiWorkerMirroredStrategy for a dict
        # batch (keras-team/keras#20329). This network is built in __init__: only the
        # optimizer is left to build. (tests/test_multi_worker.py runs two workers.)
        strategy = self.distribute_strategy
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        if self.optimizer is not None and not self.optimizer.built:
            with strategy.scope():
                self.optimizer.build(self.trainable_variables)
        return None

    def leaf_layers(self) -> list:
        """Every layer that owns weights, in a fixed order, with matterport's names."""
        return [leaf for part in (self.backbone, self.fpn, self.rpn, self.box_head,
                                  self.mask_head) for leaf in leaf_layers_of(part)]

    # ------------------------------------------------------------------ shared trunk
    def pyramid(self, images: tf.Tensor, training: bool):
        """uint8 (B, H, W, 3) -> [P2..P6], RPN logits (B, A, 2) and deltas (B, A, 4)."""
        x = tf.cast(images, tf.float32) - self.mean_pixel
        features = self.fpn(self.backbone(x, training=training), training=training)
        logits, deltas = zip(*(self.rpn(p, training=training) for p in features))
        return features, tf.concat(logits, axis=1), tf.concat(deltas, axis=1)

    def anchors(self, images: tf.Tensor) -> tf.Tensor:
        """(A, 4) normalised anchors for the padded image size of ``images``, computed in the
        graph: any image size, and config changes take effect at the next trace."""
        return graph_anchors(self.config, tf.shape(images)[1:3])

    def heads(self, features, rois: tf.Tensor, image_hw, training: bool):
        """Box head on (B, N, 4) rois -> class logits (B, N, C), deltas (B, N, C, 4)."""
        c = self.config
        batch, count = tf.shape(rois)[0], tf.shape(rois)[1]
        pooled = pyramid_roi_align(rois, features, image_hw, c.POOL_SIZE, c.BOX_CONVENTION)
        pooled = tf.reshape(pooled, [-1, c.POOL_SIZE, c.POOL_SIZE, pooled.shape[-1]])
        logits, deltas = self.box_head(pooled, training=training)
        return (tf.reshape(logits, [batch, count, c.NUM_CLASSES]),
                tf.reshape(deltas, [batch, count, c.NUM_CLASSES, 4]))

    def masks(self, features, rois: tf.Tensor, image_hw, training: bool) -> tf.Tensor:
        """Mask head on (B, N, 4) rois -> logits (B, N, h, w, NUM_CLASSES)."""
        c = self.config
        batch, count = tf.shape(rois)[0], tf.shape(rois)[1]
        s = c.MASK_POOL_SIZE
        pooled = pyramid_roi_align(rois, features, image_hw, s, c.BOX_CONVENTION)
        logits = self.mask_head(tf.reshape(pooled, [-1, s, s, pooled.shape[-1]]),
                                training=training)
        return tf.reshape(logits, [batch, count, 2 * s, 2 * s, c.NUM_CLASSES])

    # ------------------------------------------------------------------ training graph
    def compute_losses(self, batch: dict, training: bool) -> dict:
        """The five losses of a batch from ``make_training_dataset``."""
        c = self.config
        images = batch["image"]
        hw = tf.cast(tf.shape(images)[1:3], tf.float32)
        gt_class_ids = tf.cast(batch["gt_class_ids"], tf.int32)
        gt_boxes = normalize_boxes(tf.cast(batch["gt_boxes"], tf.float32), hw[0], hw[1],
                                   c.BOX_CONVENTION)
        # Padding rows stay zero (the targets treat all-zero boxes as absent).
        gt_boxes = tf.where((gt_class_ids != 0)[..., None], gt_boxes, 0.0)
        features, rpn_logits, rpn_deltas = self.pyramid(images, training)
        anchors = self.anchors(images)
        rpn_labels, rpn_target_deltas = rpn_targets(anchors, gt_class_ids, gt_boxes, c)
        object_scores = tf.nn.softmax(tf.cast(rpn_logits, tf.float32))[..., 1]
        proposals = generate_proposals(object_scores, rpn_deltas, anchors,
                                       c.POST_NMS_ROIS_TRAINING, c.PRE_NMS_LIMIT,
                                       c.RPN_NMS_THRESHOLD, c.RPN_BBOX_STD_DEV)
        rois, class_ids, target_deltas, target_masks, weights = detection_targets(
            proposals, gt_class_ids, gt_boxes, batch["gt_masks"], c)
        class_logits, deltas = self.heads(features, rois, hw, training)
        n_positive = tf.shape(target_masks)[1]  # the mask head sees positive slots only
        mask_logits = self.masks(features, rois[:, :n_positive], hw, training)
        active = batch["image_meta"][:, 12:]
        return {
            "rpn_class_loss": rpn_class_loss(rpn_labels, rpn_logits),
            "rpn_bbox_loss": rpn_bbox_loss(rpn_labels, rpn_target_deltas, rpn_deltas),
            "mrcnn_class_loss": mrcnn_class_loss(class_ids, class_logits, weights, active),
            "mrcnn_bbox_loss": mrcnn_bbox_loss(target_deltas, class_ids, deltas),
            "mrcnn_mask_loss": mrcnn_mask_loss(target_masks, class_ids[:, :n_positive],
                                               mask_logits),
        }

    def total_loss(self, losses: dict) -> tf.Tensor:
        weights = self.config.LOSS_WEIGHTS
        return tf.add_n([float(weights.get(name, 1.0)) * losses[name] for name in LOSS_NAMES])

    def _record(self, total, losses) -> dict:
        self.loss_trackers["loss"].update_state(total)
        for name in LOSS_NAMES:
            self.loss_trackers[name].update_state(losses[name])
        results = {name: tracker.result() for name, tracker in self.loss_trackers.items()}
        if cluster_task(tf.distribute.get_strategy()) is not None:
            # Over several workers Keras 3 averages each step output with
            # strategy.reduce("MEAN", value, axis=0), which fails on a scalar: give each
            # loss an axis of length 1 (the reduce returns it as a scalar again).
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            losses = self.compute_losses(batch, training=True)
            total = self.total_loss(losses)
            # Gradients are summed over replicas: each replica contributes its share.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(total / replicas)
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(
            [(g, v) for g, v in zip(grads, variables) if g is not None])
        return self._record(total, losses)

    def test_step(self, batch):
        losses = self.compute_losses(batch, training=False)
        return self._record(self.total_loss(losses), losses)

    def call(self, images, training=False):
        """Keras entry point: detections of uint8 images with the whole image as window."""
        batch = tf.shape(images)[0]
        window = tf.tile(tf.constant([[0.0, 0.0, 1.0, 1.0]]), [batch, 1])
        return self.detect_batch(images, window)

    # ------------------------------------------------------------------ inference graph
    def detect_batch(self, images: tf.Tensor, windows: tf.Tensor):
        """uint8 (B, H, W, 3) padded images and their (B, 4) normalised windows ->
        detections (B, K, 6) (normalised box, class id, score) and mask probabilities
        (B, K, h, w) of each detection's class."""
        c = self.config
        hw = tf.cast(tf.shape(images)[1:3], tf.float32)
        features, rpn_logits, rpn_deltas = self.pyramid(images, training=False)
        object_scores = tf.nn.softmax(tf.cast(rpn_logits, tf.float32))[..., 1]
        proposals = generate_proposals(object_scores, rpn_deltas, self.anchors(images),
                                       c.POST_NMS_ROIS_INFERENCE, c.PRE_NMS_LIMIT,
                                       c.RPN_NMS_THRESHOLD, c.RPN_BBOX_STD_DEV)
        class_logits, deltas = self.heads(features, proposals, hw, training=False)
        detections = refine_detections(proposals, class_logits, deltas, windows, c)
        mask_logits = self.masks(features, detections[..., :4], hw, training=False)
        class_ids = tf.cast(detections[..., 4], tf.int32)
        masks = tf.sigmoid(tf.cast(select_class_masks(mask_logits, class_ids), tf.float32))
        return detections, masks
