"""The training input pipeline: load, resize and pad, augment, mini-masks, batch (tf.data).

Each image is prepared by plain numpy code (``load_image_gt``) run on tf.data's thread pool;
anchor and ROI targets are not made here but inside the model's graph. No worker processes,
so nothing can hang waiting on a dead child; an error in one image stops training with a
DatasetError naming it.
"""
from __future__ import annotations

import collections
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import DatasetError
from .copy_paste import paste_instances
from .transforms import (
    compose_image_meta,
    extract_bboxes,
    minimize_mask,
    random_crop,
    resize_image,
    resize_mask,
)

# imgaug augmenters that move pixels, and so must be applied to masks too.
IMGAUG_GEOMETRIC = {"Sequential", "SomeOf", "OneOf", "Sometimes", "Fliplr", "Flipud", "CropAndPad",
                    "Affine", "PiecewiseAffine", "Rot90", "Crop", "Pad", "PerspectiveTransform",
                    "ElasticTransformation", "Resize", "ShearX", "ShearY", "TranslateX",
                    "TranslateY", "Rotate", "ScaleX", "ScaleY"}


def augment(augmentation, image: np.ndarray, masks: np.ndarray):
    """Apply an albumentations transform, an imgaug augmenter or a callable
    ``f(image, masks) -> (image, masks)`` to an image and its (H, W, N) bool masks."""
    if augmentation is None:
        return image, masks
    if hasattr(augmentation, "to_deterministic"):  # imgaug, or a fork of it
        import imgaug  # noqa: F401  (only reached when the user passed an imgaug augmenter)

        def activator(images, augmenter, parents, default):
            return augmenter.__class__.__name__ in IMGAUG_GEOMETRIC

        det = augmentation.to_deterministic()
        new_image = det.augment_image(image)
        new_masks = det.augment_image(masks.astype(np.uint8),
                                      hooks=imgaug.HooksImages(activator=activator))
        return new_image, new_masks.astype(bool)
    if _is_albumentations(augmentation):
        out = augmentation(image=image, masks=list(np.moveaxis(masks.astype(np.uint8), -1, 0)))
        new_masks = out["masks"]
        stacked = (np.stack([np.asarray(m) for m in new_masks], axis=-1) if len(new_masks)
                   else np.zeros(out["image"].shape[:2] + (0,), dtype=np.uint8))
        return out["image"], stacked.astype(bool)
    if callable(augmentation):
        return augmentation(image, masks)
    raise TypeError(f"augmentation must be an albumentations transform, an imgaug augmenter "
                    f"or a callable, got {type(augmentation).__name__}")


def _is_albumentations(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "albumentations"


def _prepare(dataset, config, image_id: int, augmentation, rng, training: bool):
    """An image with its (H, W, N) masks and class ids, resized, padded, cut to a random
    ``config.TRAIN_CROP`` square (``training`` only) and augmented, and the original shape,
    window and scale."""
    image, masks, class_ids = dataset.load_image_and_masks(image_id)
    original_shape = image.shape
    image, window, scale, padding, crop = resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, max_dim=config.IMAGE_MAX_DIM,
        min_scale=config.IMAGE_MIN_SCALE, mode=config.IMAGE_RESIZE_MODE, rng=rng,
        convention=config.BOX_CONVENTION)
    masks = resize_mask(masks, scale, padding, crop)
    side = getattr(config, "TRAIN_CROP", 0)
    if training and side:
        rng = rng or np.random.default_rng()
        image, masks, window = random_crop(image, masks, window, side, rng)
    if augmentation is not None:
        shape = image.shape
        image, masks = augment(augmentation, image, masks)
        if image.shape != shape or masks.shape[:2] != shape[:2]:
            raise DatasetError(f"{dataset.image_reference(image_id)}: the augmentation changed "
                               f"the image shape from {shape} to {image.shape}; use "
                               "shape-preserving transforms")
    return image, masks, class_ids, original_shape, window, scale


def load_image_gt(dataset, config, image_id: int, augmentation=None,
                  rng: np.random.Generator | None = None, training: bool = True):
    """One training sample.

    Returns image (H, W, 3) uint8 (resized and padded), image_meta (META_SIZE,) float32,
    class_ids (N,) int32, boxes (N, 4) int32 in padded-image pixels (y2, x2 exclusive), and
    masks (h, w, N) bool: mini-masks when config.USE_MINI_MASK, else full size. Instances that
    resizing or augmentation leave empty are dropped (they have nothing left to learn from).
    Two random transforms run in ``training`` only (False: the image as detection molds
    it): with ``config.TRAIN_CROP``, a random square of that side is cut from the resized
    image, and with ``config.COPY_PASTE`` > 0, that share of the samples get instances of
    another image pasted on (``maskrcnn.data.copy_paste``).
    """
    image, masks, class_ids, original_shape, window, scale = _prepare(
        dataset, config, image_id, augmentation, rng, training)
    paste = getattr(config, "COPY_PASTE", 0.0) if training else 0.0
    if paste > 0 and len(dataset.image_ids) > 1:
        rng = rng or np.random.default_rng()
        if rng.random() < paste:
            ids = dataset.image_ids  # another image, uniformly: the last stands in for this one
            donor_id = int(ids[rng.integers(len(ids) - 1)])
            donor_id = int(ids[-1]) if donor_id == image_id else donor_id
            donor = _prepare(dataset, config, donor_id, augmentation, rng, training)
            image, masks, class_ids = paste_instances(
                image, masks, class_ids, donor[0], donor[1], donor[2], window, rng,
                config.MAX_GT_INSTANCES)
    keep = masks.any(axis=(0, 1))
    masks, class_ids = masks[..., keep], class_ids[keep]
    if class_ids.shape[0] > config.MAX_GT_INSTANCES:
        warnings.warn(f"{dataset.image_reference(image_id)}: {class_ids.shape[0]} instances, "
                      f"more than MAX_GT_INSTANCES={config.MAX_GT_INSTANCES}; training on a "
                      "random subset. Raise MAX_GT_INSTANCES to use them all.", stacklevel=2)
        rng = rng or np.random.default_rng()
        pick = np.sort(rng.choice(class_ids.shape[0], config.MAX_GT_INSTANCES, replace=False))
        masks, class_ids = masks[..., pick], class_ids[pick]
    boxes = extract_bboxes(masks)
    if config.USE_MINI_MASK:
        masks = minimize_mask(boxes, masks, config.MINI_MASK_SHAPE)
    meta = compose_image_meta(image_id, original_shape, image.shape, window, scale,
                              dataset.active_class_ids(image_id))
    return image, meta, class_ids.astype(np.int32), boxes.astype(np.int32), masks


class BatchLoader:
    """Iterable of training batches (dicts of numpy arrays), prepared ahead on a thread pool.

    Samples are loaded by ``workers`` Python threads (image decoding and resizing release
    the GIL), ``prefetch`` batches ahead. The iterator owns its threads and shuts them down
    when it is closed or garbage-collected. Keys and shapes as ``make_training_dataset``.
    """

    def __init__(self, dataset, config, shuffle: bool = True, augmentation=None,
                 repeat: bool = True, seed: int | None = None, workers: int | None = None,
                 prefetch: int = 3, shard: tuple[int, int] = (0, 1)):
        index, count = (int(v) for v in shard)
        if len(dataset.image_ids[index::count]) == 0:
            part = f" for input pipeline {index} of {count}" if count > 1 else ""
            raise DatasetError(f"{dataset!r} has no images{part}")
        self.dataset, self.config = dataset, config
        self.shuffle, self.augmentation, self.repeat = shuffle, augmentation, repeat
        self.seed = seed
        self.workers = workers or min(4, (os.cpu_count() or 2))
        self.prefetch = prefetch
        self.shard = (index, count)

    def _load(self, index: int, rng: np.random.Generator):
        try:
            return load_image_gt(self.dataset, self.config, index, self.augmentation, rng)
        except DatasetError:
            raise
        except Exception as err:  # name the image, keep the cause
            raise DatasetError(f"{self.dataset.image_reference(index)}: "
                               f"{type(err).__name__}: {err}") from err

    def _order(self):
        rng = np.random.default_rng(self.seed)
        index, count = self.shard  # one worker's images: every count-th from index
        ids = np.asarray(self.dataset.image_ids)[index::count]
        while True:
            yield from (rng.permutation(ids) if self.shuffle else ids)
            if not self.repeat:
                return

    def __iter__(self):
        batch_size = self.config.BATCH_SIZE
        seeds = np.random.SeedSequence(self.seed)
        order = self._order()
        pending: collections.deque = collections.deque()
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="maskrcnn-loader")
        try:
            def fill():
                while len(pending) < batch_size * self.prefetch:
                    index = next(order, None)
                    if index is None:
                        return
                    rng = np.random.default_rng(seeds.spawn(1)[0])
                    pending.append(pool.submit(self._load, int(index), rng))

            while True:
                fill()
                if not pending or (self.repeat and len(pending) < batch_size):
                    return
                count = min(batch_size, len(pending))
                if count < batch_size and self.repeat:
                    return
                samples = [pending.popleft().result() for _ in range(count)]
                fill()
                yield collate(samples)
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)


def collate(samples) -> dict:
    """Stack ``load_image_gt`` samples into one batch, zero-padding images to the largest
    height and width and instances to the largest count (at least 1)."""
    h = max(s[0].shape[0] for s in samples)
    w = max(s[0].shape[1] for s in samples)
    g = max(1, max(len(s[2]) for s in samples))
    mh = max(s[4].shape[0] for s in samples)
    mw = max(s[4].shape[1] for s in samples)
    n = len(samples)
    images = np.zeros((n, h, w, 3), np.uint8)
    class_ids = np.zeros((n, g), np.int32)
    boxes = np.zeros((n, g, 4), np.float32)
    masks = np.zeros((n, mh, mw, g), np.uint8)  # 0/1; tf.distribute cannot batch bools
    for i, (image, _, ids, bb, mm) in enumerate(samples):
        images[i, :image.shape[0], :image.shape[1]] = image
        class_ids[i, :len(ids)] = ids
        boxes[i, :len(ids)] = bb
        masks[i, :mm.shape[0], :mm.shape[1], :len(ids)] = mm
    return {"image": images, "image_meta": np.stack([s[1] for s in samples]),
            "gt_class_ids": class_ids, "gt_boxes": boxes, "gt_masks": masks}


def make_training_dataset(dataset, config, shuffle: bool = True, augmentation=None,
                          repeat: bool = True, seed: int | None = None,
                          shard: tuple[int, int] = (0, 1)):
    """A ``tf.data.Dataset`` of batches (dicts) for ``MaskRCNN.train``.

    Keys: ``image`` (B, H, W, 3) uint8, ``image_meta`` (B, META), ``gt_class_ids`` (B, G)
    int32, ``gt_boxes`` (B, G, 4) float32 pixels, ``gt_masks`` (B, h, w, G) uint8 0/1; G is the
    batch's largest instance count, padded with zeros.

    The Python work runs in ``BatchLoader``'s own threads; tf.data only hands its batches
    over, without prefetching or parallel calls of its own. (A tf.data iterator destroyed
    while its parallel map has Python calls in flight deadlocks on the GIL: that is how the
    older generators hung.)

    ``shard=(index, count)``: only every ``count``-th image from ``index`` (one worker's
    part of the data in multi-worker training; batches stay ``config.BATCH_SIZE``).
    """
    import tensorflow as tf

    limit = getattr(config, "MAX_IMAGE_PIXELS", None)
    if limit is not None and getattr(dataset, "max_image_pixels", None) is None:
        dataset.max_image_pixels = int(limit)  # images over it are refused before decoding
    loader = BatchLoader(dataset, config, shuffle, augmentation, repeat, seed, shard=shard)
    fixed = config.IMAGE_RESIZE_MODE == "crop" or (
        config.IMAGE_RESIZE_MODE == "square" and not getattr(config, "TRAIN_CROP", 0))
    hw = [int(v) for v in config.IMAGE_SHAPE[:2]] if fixed else [None, None]
    mask_hw = (list(config.MINI_MASK_SHAPE) if config.USE_MINI_MASK else hw)
    signature = {
        "image": tf.TensorSpec([None] + hw + [3], tf.uint8),
        "image_meta": tf.TensorSpec([None, config.IMAGE_META_SIZE], tf.float32),
        "gt_class_ids": tf.TensorSpec([None, None], tf.int32),
        "gt_boxes": tf.TensorSpec([None, None, 4], tf.float32),
        "gt_masks": tf.TensorSpec([None] + mask_hw + [None], tf.uint8),
    }
    ds = tf.data.Dataset.from_generator(lambda: iter(loader), output_signature=signature)
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    options.experimental_optimization.inject_prefetch = False
    return ds.with_options(options)
