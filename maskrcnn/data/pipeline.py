"""The training input pipeline: load, resize and pad, augment, mini-masks, batch (tf.data).

Each image is prepared by plain numpy code (``load_image_gt``) run on tf.data's thread pool;
anchor and ROI targets are not made here but inside the model's graph. No worker processes,
so nothing can hang waiting on a dead child; an error in one image stops training with a
DatasetError naming it.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import DatasetError
from .transforms import (compose_image_meta, extract_bboxes, minimize_mask, resize_image,
                         resize_mask)

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
        out = augmentation(image=image, masks=[m for m in np.moveaxis(masks.astype(np.uint8), -1, 0)])
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


def load_image_gt(dataset, config, image_id: int, augmentation=None,
                  rng: np.random.Generator | None = None):
    """One training sample.

    Returns image (H, W, 3) uint8 (resized and padded), image_meta (META_SIZE,) float32,
    class_ids (N,) int32, boxes (N, 4) int32 in padded-image pixels (y2, x2 exclusive), and
    masks (h, w, N) bool: mini-masks when config.USE_MINI_MASK, else full size. Instances that
    resizing or augmentation leave empty are dropped (they have nothing left to learn from).
    """
    image, masks, class_ids = dataset.load_image_and_masks(image_id)
    original_shape = image.shape
    image, window, scale, padding, crop = resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, max_dim=config.IMAGE_MAX_DIM,
        min_scale=config.IMAGE_MIN_SCALE, mode=config.IMAGE_RESIZE_MODE, rng=rng)
    masks = resize_mask(masks, scale, padding, crop)
    if augmentation is not None:
        shape = image.shape
        image, masks = augment(augmentation, image, masks)
        if image.shape != shape or masks.shape[:2] != shape[:2]:
            raise DatasetError(f"{dataset.image_reference(image_id)}: the augmentation changed "
                               f"the image shape from {shape} to {image.shape}; use "
                               "shape-preserving transforms")
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


def make_training_dataset(dataset, config, shuffle: bool = True, augmentation=None,
                          repeat: bool = True, seed: int | None = None):
    """A ``tf.data.Dataset`` of batches (dicts) for ``MaskRCNN.train``.

    Keys: ``image`` (B, H, W, 3) uint8, ``image_meta`` (B, META), ``gt_class_ids`` (B, G)
    int32, ``gt_boxes`` (B, G, 4) float32 pixels, ``gt_masks`` (B, h, w, G) bool; G is the
    batch's largest instance count, padded with zeros.
    """
    import tensorflow as tf

    if len(dataset.image_ids) == 0:
        raise DatasetError(f"{dataset!r} has no images")
    rng_seed = np.random.SeedSequence(seed)

    def load(index):
        index = int(index)
        rng = np.random.default_rng([int(rng_seed.generate_state(1)[0]), index,
                                     np.random.randint(1 << 30)])
        try:
            return load_image_gt(dataset, config, index, augmentation, rng)
        except DatasetError:
            raise
        except Exception as err:  # name the image, keep the cause
            raise DatasetError(f"{dataset.image_reference(index)}: {type(err).__name__}: "
                               f"{err}") from err

    def load_tf(index):
        image, meta, class_ids, boxes, masks = tf.numpy_function(
            load, [index], [tf.uint8, tf.float32, tf.int32, tf.int32, tf.bool], stateful=True)
        mh, mw = (config.MINI_MASK_SHAPE if config.USE_MINI_MASK else (None, None))
        fixed = config.IMAGE_RESIZE_MODE in ("square", "crop")
        image.set_shape(list(config.IMAGE_SHAPE[:2]) + [3] if fixed else [None, None, 3])
        meta.set_shape([config.IMAGE_META_SIZE])
        class_ids.set_shape([None])
        boxes.set_shape([None, 4])
        if not config.USE_MINI_MASK and fixed:
            mh, mw = config.IMAGE_SHAPE[:2]
        masks.set_shape([mh, mw, None])
        return {"image": image, "image_meta": meta, "gt_class_ids": class_ids,
                "gt_boxes": tf.cast(boxes, tf.float32), "gt_masks": masks}

    ds = tf.data.Dataset.from_tensor_slices(np.asarray(dataset.image_ids, dtype=np.int64))
    if shuffle:
        ds = ds.shuffle(len(dataset.image_ids), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(load_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
    ds = ds.padded_batch(config.BATCH_SIZE, drop_remainder=repeat)
    return ds.prefetch(tf.data.AUTOTUNE)
