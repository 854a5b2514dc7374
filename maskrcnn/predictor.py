"""Predictor: images in, matterport's result dicts out, around any detection graph.

It molds images (resize and pad as in training), batches those of one padded shape, spreads a
batch over the ``tf.distribute`` replicas, runs the graph and unmolds its output to each
image's own pixels. The graph is the Keras network's ``detect_batch`` or a served model's
signature; both take uint8 (B, H, W, 3) padded images and (B, 4) normalised windows and
return detections (B, K, 6) and mask probabilities (B, K, h, w).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from .data.borders import touches_border
from .data.box_masks import BoxMasks
from .data.image_io import to_rgb_uint8
from .data.transforms import resize_image
from .errors import ConfigError
from .modeling.conventions import denormalize_boxes, normalize_boxes
from .modeling.mask_head import paste_mask_crops, paste_mask_crops_as_matterport
from .modeling.mask_postprocess import duplicate_detections

#: ``detect(masks="auto")`` gives the (H, W, N) bool array while it takes at most this many
#: bytes (H * W * N), else a :class:`~maskrcnn.data.box_masks.BoxMasks` (box crops).
FULL_MASKS_MAX_BYTES = 2**30
MASK_FORMATS = ("auto", "full", "crops")


class Predictor:
    """``detect(images)`` for ``config`` over the graph that ``make_graph()`` returns.

    ``make_graph`` is called again whenever the config has changed since the last call (a
    threshold set after the first ``detect`` takes effect), so it should read the config.
    """

    def __init__(self, config, make_graph: Callable[[], Callable], strategy=None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self._make_graph = make_graph
        self._graph, self._graph_config = None, None

    # ------------------------------------------------------------------ the graph
    def graph(self) -> Callable:
        """The traced detection function for the config as it is now."""
        key = self.config.to_json()
        if self._graph is None or key != self._graph_config:
            self.config.validate()
            self._graph = tf.function(self._make_graph(), reduce_retracing=True,
                                      jit_compile=False)
            self._graph_config = key
        return self._graph

    def reset(self) -> None:
        """Trace the graph anew at the next call (after the model's layers changed)."""
        self._graph = None

    # ------------------------------------------------------------------ molding
    def mold_inputs(self, images):
        """Resize and pad images as in training. Returns the uint8 molded images and one
        meta dict each: window (y1, x1, y2, x2) in padded pixels, scale, original and molded
        shapes. ``crop`` mode crops in training only: detection pads as ``pad64``."""
        c = self.config
        mode = "pad64" if c.IMAGE_RESIZE_MODE == "crop" else c.IMAGE_RESIZE_MODE
        molded, metas = [], []
        for i, image in enumerate(images):
            image = to_rgb_uint8(image, source=f"image {i}")
            resized, window, scale, _, _ = resize_image(
                image, min_dim=c.IMAGE_MIN_DIM, max_dim=c.IMAGE_MAX_DIM,
                min_scale=c.IMAGE_MIN_SCALE, mode=mode, convention=c.BOX_CONVENTION)
            molded.append(resized)
            metas.append({"original_shape": image.shape, "window": np.array(window),
                          "scale": scale, "molded_shape": resized.shape})
        return molded, metas

    def normalized_window(self, meta: dict) -> np.ndarray:
        """(4,) float32: the image's window in the graph's 0..1 coordinates."""
        shape = meta["molded_shape"]
        return normalize_boxes(np.asarray(meta["window"], np.float64), shape[0], shape[1],
                               self.config.BOX_CONVENTION).astype(np.float32)

    # ------------------------------------------------------------------ detection
    def detect(self, images, verbose: int = 0, masks: str = "auto") -> list[dict]:
        """Detect instances in a list of images of any sizes (RGB, gray or RGBA arrays).

        Returns one dict per image: ``rois`` (N, 4) int32 y1, x1, y2, x2 in the image's own
        pixels; ``class_ids`` (N,) int32; ``scores`` (N,) float32; ``masks`` (H, W, N) bool;
        ``dropped``: how many detections :meth:`postprocess` left out, per reason.

        ``masks`` says what ``masks`` holds: "full", the (H, W, N) bool array (matterport's);
        "crops", a :class:`~maskrcnn.data.box_masks.BoxMasks` (each mask kept in its box,
        bit-packed; it indexes like the array, ``np.asarray`` builds it), whose memory follows
        the boxes rather than the image; "auto" (default), the array unless it would take
        over ``FULL_MASKS_MAX_BYTES`` (1 GiB: e.g. a 12000 x 9000 photo with 10 or more
        detections), then crops.
        """
        if isinstance(images, np.ndarray) and images.ndim in (2, 3):
            raise TypeError("detect() takes a list of images: use model.detect([image])")
        if masks not in MASK_FORMATS:
            raise ConfigError(f"masks must be one of {', '.join(MASK_FORMATS)}, got {masks!r}")
        images = list(images)
        molded, metas = self.mold_inputs(images)
        results: list[dict | None] = [None] * len(images)
        # Images of one padded shape go through the graph together, BATCH_SIZE at a time.
        groups: dict[tuple, list[int]] = {}
        for i, m in enumerate(metas):
            groups.setdefault(tuple(m["molded_shape"]), []).append(i)
        for members in groups.values():
            for start in range(0, len(members), self.config.BATCH_SIZE):
                chunk = members[start:start + self.config.BATCH_SIZE]
                batch = np.stack([molded[i] for i in chunk])
                windows = np.stack([self.normalized_window(metas[i]) for i in chunk])
                detections, probabilities = self.run_graph(batch, windows)
                for j, i in enumerate(chunk):
                    results[i] = self.unmold(detections[j].numpy(), probabilities[j], metas[i],
                                             masks)
        if verbose:
            for i, r in enumerate(results):
                print(f"image {i}: {len(r['class_ids'])} detections")
        return results

    def run_graph(self, images: np.ndarray, windows: np.ndarray):
        """Run the detection graph on a batch, split over the strategy's replicas when there
        are several (a short batch is padded with blank images whose results are dropped).
        Returns detections (B, K, 6) and masks (B, K, h, w)."""
        graph = self.graph()
        replicas = self.strategy.num_replicas_in_sync
        if replicas == 1:
            return graph(tf.constant(images), tf.constant(windows))
        count, per_replica = len(images), -(-len(images) // replicas)
        pad = per_replica * replicas - count
        images = np.concatenate([images, np.zeros((pad,) + images.shape[1:], images.dtype)])
        windows = np.concatenate([windows, np.tile([[0, 0, 1, 1]], (pad, 1)).astype(np.float32)])

        def replica_slice(context):
            part = slice(context.replica_id_in_sync_group * per_replica,
                         (context.replica_id_in_sync_group + 1) * per_replica)
            return tf.constant(images[part]), tf.constant(windows[part])

        values = self.strategy.experimental_distribute_values_from_function(replica_slice)
        outputs = self.strategy.run(lambda v: graph(*v), args=(values,))
        detections, masks = (tf.concat(self.strategy.experimental_local_results(o), axis=0)
                             for o in outputs)
        return detections[:count], masks[:count]

    def unmold(self, detections: np.ndarray, masks: tf.Tensor, meta: dict,
               mask_format: str = "full") -> dict:
        """One image's padded, normalised detections -> the result dict in its own pixels;
        ``mask_format`` as ``detect``'s ``masks``."""
        # padding rows out, and rows under the operating threshold (an exported graph
        # detects from a lower one) before any mask is pasted
        keep = (detections[:, 4] > 0) & (detections[:, 5] >= self.config.DETECTION_MIN_CONFIDENCE)
        h, w = meta["original_shape"][:2]
        shape = meta["molded_shape"]
        matterport = self.config.BOX_CONVENTION == "matterport"
        if matterport:
            # Normalised to the padded image -> to the window -> the image's integer pixels;
            # the mask then fills the rounded box, as matterport's unmold_detections.
            window = self.normalized_window(meta).astype(np.float64)
            shift = np.array([window[0], window[1], window[0], window[1]])
            span = np.array([window[2] - window[0], window[3] - window[1]] * 2)
            boxes = np.round(denormalize_boxes((detections[keep, :4] - shift) / span, h, w,
                                               "matterport"))
        else:  # continuous pixel coordinates; the mask is pasted with sub-pixel edges
            y0, x0 = meta["window"][:2]
            boxes = detections[keep, :4] * np.array([shape[0], shape[1]] * 2, np.float32)
            boxes = (boxes - np.array([y0, x0, y0, x0])) / meta["scale"]
        boxes = np.clip(boxes, 0, [h, w, h, w])
        rois = np.round(boxes).astype(np.int32)
        nonempty = (rois[:, 2] > rois[:, 0]) & (rois[:, 3] > rois[:, 1])
        index = np.flatnonzero(keep)[nonempty]
        # Each mask is pasted in its box only: memory follows the boxes, not the image.
        if matterport:
            regions = rois[nonempty]
            crops = paste_mask_crops_as_matterport(np.asarray(tf.gather(masks, index)), regions)
        else:
            crops, regions = paste_mask_crops(tf.gather(masks, index), boxes[nonempty], h, w)
        pasted = BoxMasks(crops, regions, h, w)
        rois, class_ids = rois[nonempty], detections[index, 4].astype(np.int32)
        scores = detections[index, 5].astype(np.float32)
        keep, dropped = self.postprocess(pasted, class_ids, scores)
        if not keep.all():
            pasted, rois, class_ids, scores = pasted[..., keep], rois[keep], class_ids[keep], \
                scores[keep]
        if mask_format == "full" or (mask_format == "auto"
                                     and h * w * len(scores) <= FULL_MASKS_MAX_BYTES):
            pasted = pasted.full()
        return {"rois": rois, "class_ids": class_ids, "scores": scores, "masks": pasted,
                "dropped": dropped}

    def postprocess(self, masks: BoxMasks, class_ids: np.ndarray, scores: np.ndarray):
        """Which detections to keep after the mask head: those at or above the operating
        threshold (an exported graph may detect from a lower one), not repeating a
        higher-scoring detection (mask NMS and containment within a class, mask NMS across
        classes), and, with
        DETECTION_BORDER_OBJECTS = "drop", not touching the image border. Returns (N,) bool
        and the number dropped for each reason: {"duplicate": n, "border": n}."""
        c = self.config
        keep = scores >= c.DETECTION_MIN_CONFIDENCE
        duplicate = duplicate_detections(masks.boxes, masks.crop, class_ids, scores,
                                         c.DETECTION_MASK_NMS_THRESHOLD,
                                         c.DETECTION_MASK_CONTAINMENT,
                                         c.DETECTION_MASK_NMS_ACROSS_CLASSES) & keep
        border = np.zeros_like(keep)
        if c.DETECTION_BORDER_OBJECTS == "drop":
            border = touches_border(masks.boxes, masks.crop, masks.height, masks.width) \
                & keep & ~duplicate
        return keep & ~duplicate & ~border, {"duplicate": int(duplicate.sum()),
                                             "border": int(border.sum())}
