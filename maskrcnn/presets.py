"""Small configs shared by the demo, the notebooks' smoke mode and the tests.

``ShapesConfig``: the demo's CPU-sized model for 128 x 128 synthetic shapes (3 classes).
``TinyShapesConfig``: the same made tiny (64 px images, a narrow network, 4 steps an epoch),
for smoke runs that must finish in seconds; tests subclass it.
"""
from __future__ import annotations

from .config import Config


class ShapesConfig(Config):
    """A small, CPU-sized Mask R-CNN for 128 x 128 shapes images (3 classes)."""
    NAME = "shapes"
    NUM_CLASSES = 1 + 3
    # images and batches
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    IMAGES_PER_GPU = 8
    STEPS_PER_EPOCH = 100
    VALIDATION_STEPS = 3
    # a narrow network, trained from scratch
    BACKBONE = "small"
    TOP_DOWN_PYRAMID_SIZE = 64
    RPN_HEAD_CHANNELS = 64
    FPN_CLASSIF_FC_LAYERS_SIZE = 256
    MASK_HEAD_CHANNELS = 32
    TRAIN_BN = True
    LEARNING_RATE = 0.02
    # Trained from scratch, so no matterport weights to match: the aligned convention's
    # sub-pixel ROI pooling and mask pasting gave the demo mask AP 81.8 where matterport's
    # gave 77.2 (box AP 79.3 and 78.7; one run each, 2-core CPU).
    BOX_CONVENTION = "aligned"
    # anchors, proposals and ROIs for a few objects per image
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 128
    PRE_NMS_LIMIT = 1000
    POST_NMS_ROIS_TRAINING, POST_NMS_ROIS_INFERENCE = 256, 128
    TRAIN_ROIS_PER_IMAGE = 32
    MAX_GT_INSTANCES = 8
    DETECTION_MIN_CONFIDENCE = 0.5


class TinyShapesConfig(ShapesConfig):
    """The shapes config made tiny: 64 px images, a narrow network, 4 steps an epoch."""
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 64
    IMAGES_PER_GPU = 2
    STEPS_PER_EPOCH = 4
    VALIDATION_STEPS = 1
    # narrower still
    TOP_DOWN_PYRAMID_SIZE = RPN_HEAD_CHANNELS = 32
    FPN_CLASSIF_FC_LAYERS_SIZE = 64
    MASK_HEAD_CHANNELS = 16
    # anchors at half the scales, fewer proposals and ROIs
    RPN_ANCHOR_SCALES = (4, 8, 16, 32, 64)
    PRE_NMS_LIMIT = 500
    POST_NMS_ROIS_TRAINING, POST_NMS_ROIS_INFERENCE = 64, 32
    TRAIN_ROIS_PER_IMAGE = 16


FROM_SCRATCH = {
    # What ``maskrcnn train`` uses without --weights, for fields --config and --set leave
    # out (README, "Training from scratch", gives the measurements behind each choice).
    "BACKBONE": "resnet18",         # basic blocks: trains from scratch; "small" is too weak
    "TRAIN_BN": True,               # random batch norms must learn; inference then uses each
    "BOX_CONVENTION": "aligned",    # image's statistics (BN_INFERENCE_STATISTICS = "auto")
    "IMAGES_PER_GPU": 1,
    "IMAGE_RESIZE_MODE": "pad64",   # keep the aspect ratio: no square padding to compute on
    "LEARNING_RATE": 0.01,
    "STEPS_PER_EPOCH": 100,         # a checkpoint every 100 images
    # Heads at half to a quarter of matterport's widths, fewer proposals and ROIs: a step at
    # 768 x 576 takes 0.70 s instead of 1.44 s; in 20 minutes on kudzu 2.6 times the steps
    # scored about the same (mask AP 2.3 against 2.1) and left room for the augmentations.
    "TOP_DOWN_PYRAMID_SIZE": 128,
    "RPN_HEAD_CHANNELS": 128,
    "FPN_CLASSIF_FC_LAYERS_SIZE": 256,
    "MASK_HEAD_CHANNELS": 128,
    "PRE_NMS_LIMIT": 2000,
    "POST_NMS_ROIS_TRAINING": 1000,
    "TRAIN_ROIS_PER_IMAGE": 128,
    # Every image gets a random half of another image's instances pasted on (Simple
    # Copy-Paste): kudzu, 20 minutes, mask AP 4.3 (all images) and 4.1 (half) against 2.9
    # without; with the crops below 6.2 (all) and 5.4 (half).
    "COPY_PASTE": 1.0,
    # Steps on random 384 px squares of the image at detection's scale: 0.43 s a step
    # instead of 0.70 on kudzu's 768 x 576 photos, and mask AP 5.4 against 4.1 in 20 minutes.
    "TRAIN_CROP": 384,
}
"""Config fields of the from-scratch recipe; see :func:`from_scratch_settings`."""


def from_scratch_settings(given=()) -> dict:
    """The fields of :data:`FROM_SCRATCH` whose names are not in ``given``."""
    return {k: v for k, v in FROM_SCRATCH.items() if k not in set(given)}


SUGGEST_IMAGES = 200  # images looked at to suggest sizes, anchors and instance counts


def training_config(dataset, given: dict | None = None, from_scratch: bool = False,
                    suggest: bool = True, say=print) -> Config:
    """The one Config a run trains, for ``maskrcnn train`` and train.ipynb alike: the
    user's fields ``given`` (Config field names), NUM_CLASSES from ``dataset``, then for
    the fields ``given`` leaves out what the data suggests (``suggest``:
    :func:`maskrcnn.data.inspect.suggest_settings` on at most 200 images: image size, anchor
    scales, instances per image) and, training ``from_scratch``, the recipe
    :data:`FROM_SCRATCH`. ``say`` gets one line for each of the two sources; the result is
    what ``config.display()`` shows and training uses."""
    values = dict(given or {})
    values.setdefault("NAME", "custom")
    values["NUM_CLASSES"] = dataset.num_classes
    if suggest:
        from .data.inspect import inspect_dataset, suggest_settings
        suggested = suggest_settings(inspect_dataset(dataset, max_images=SUGGEST_IMAGES))
        taken = {k: v for k, v in suggested.items() if k not in values}
        if taken:
            say("from the data (maskrcnn inspect; your settings choose otherwise): "
                + ", ".join(f"{k}={v}" for k, v in taken.items()))
        values.update(taken)
    if from_scratch:
        taken = from_scratch_settings(given=values)
        if taken:
            say("from-scratch recipe (your settings choose otherwise): "
                + ", ".join(f"{k}={v}" for k, v in taken.items()))
        values.update(taken)
    return Config.from_dict(values)
