"""Config: every setting of the model, training and detection, with matterport's names.

Subclass it and override UPPER_CASE fields, as with matterport's ``mrcnn.config.Config``::

    class BalloonConfig(Config):
        NAME = "balloon"
        NUM_CLASSES = 1 + 1      # background + balloon
        IMAGES_PER_GPU = 2

A config is checked when it is built and again when a model takes it; a bad value raises
ConfigError saying what to change. ``to_json`` / ``from_json`` round-trip every field, which is
how checkpoints carry their config.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from .errors import ConfigError

RESIZE_MODES = ("square", "pad64", "pad32", "crop", "none")
# What each padding mode rounds the image sides up to (square: IMAGE_MAX_DIM, a multiple of it).
PAD_MULTIPLES = {"square": 64, "pad64": 64, "pad32": 32, "none": 64}
LOSS_NAMES = ("rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
              "mrcnn_mask_loss")
BUILTIN_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "small")
BOX_CONVENTIONS = ("matterport", "aligned")
OPTIMIZERS = ("SGD", "AdamW")
BORDER_RULES = ("auto", "count", "drop")
# Version of the config's meaning. 1: checkpoints written before BOX_CONVENTION existed (they
# were trained and detect with the "aligned" convention); 2: BOX_CONVENTION is a field.
CONFIG_VERSION = 2


class Config:
    """Base configuration. Field meanings and defaults follow matterport's Mask_RCNN."""

    NAME = None  # short name of the experiment; checkpoints and log folders use it
    CONFIG_VERSION = CONFIG_VERSION  # what a checkpoint's config means; see migrate_fields
    GPU_COUNT = 1
    IMAGES_PER_GPU = 2
    STEPS_PER_EPOCH = 1000
    VALIDATION_STEPS = 50

    # Backbone: "resnet50", "resnet101", "resnet18" / "resnet34" (basic blocks, for training
    # from scratch on a CPU), "small" (a narrow ResNet for tests), or a callable
    # f(input_image, train_bn) -> [C2, C3, C4, C5] (a longer list is accepted; its last four
    # entries are used). Strides of the feature maps P2..P6, in pixels.
    BACKBONE = "resnet101"
    BACKBONE_STRIDES = [4, 8, 16, 32, 64]
    FPN_CLASSIF_FC_LAYERS_SIZE = 1024
    TOP_DOWN_PYRAMID_SIZE = 256
    MASK_HEAD_CHANNELS = 256

    NUM_CLASSES = 1  # background included

    # Anchors: side length in pixels of the square anchor on each level (or a list of sides,
    # as many on every level), and aspect ratios (width / height).
    RPN_ANCHOR_SCALES = (32, 64, 128, 256, 512)
    RPN_ANCHOR_RATIOS = [0.5, 1, 2]
    RPN_ANCHOR_STRIDE = 1
    RPN_NMS_THRESHOLD = 0.7
    RPN_HEAD_CHANNELS = 512  # channels of rpn_conv_shared
    RPN_TRAIN_ANCHORS_PER_IMAGE = 256
    PRE_NMS_LIMIT = 6000
    POST_NMS_ROIS_TRAINING = 2000
    POST_NMS_ROIS_INFERENCE = 1000

    # Instance masks are stored cropped to their box and resized to this shape during training.
    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)

    # "square": resize so the short side is IMAGE_MIN_DIM and the long side at most
    # IMAGE_MAX_DIM, then pad to IMAGE_MAX_DIM x IMAGE_MAX_DIM. "pad64": resize as square, pad
    # each side to a multiple of 64. "pad32": the same to a multiple of 32, the backbone's
    # largest stride (P6 rounds up), as torchvision pads: 800x1024 stays 800x1024, where
    # pad64 makes it 832x1024 (4 % more pixels to compute). "crop": random IMAGE_MIN_DIM
    # crops (training only).
    # "none": no resize, pad to a multiple of 64.
    IMAGE_RESIZE_MODE = "square"
    IMAGE_MIN_DIM = 800
    IMAGE_MAX_DIM = 1024
    IMAGE_MIN_SCALE = 0
    # Training on random TRAIN_CROP x TRAIN_CROP squares (pixels, a multiple of 64) of each
    # image resized and padded as detection does it, so objects keep the size detection sees
    # them at; a side of TRAIN_CROP or less is kept whole. 0: whole images. Cheaper steps and
    # more varied ones: on kudzu, 384 px squares of the 768 x 576 photos ran 1.9 times the
    # steps of whole photos in 20 minutes.
    TRAIN_CROP = 0
    IMAGE_CHANNEL_COUNT = 3
    # Images with more pixels are refused before they are decoded (decompression bombs);
    # None: maskrcnn.data.image_io.MAX_IMAGE_PIXELS (PIL's limit, about 179 million).
    MAX_IMAGE_PIXELS = None
    MEAN_PIXEL = np.array([123.7, 116.8, 103.9])

    # How boxes meet pixels, everywhere: anchors, targets, ROI pooling, windows, resizing and
    # unmolding. "matterport" (the default): matterport's conventions, so that its .h5
    # weights (mask_rcnn_coco.h5, or a model trained with its code) give its detections:
    # boxes normalised as (y1, x1, y2 - 1, x2 - 1) / (H - 1, W - 1, H - 1, W - 1), ROIs pooled
    # by a plain crop_and_resize, images resized with scikit-image (bilinear, truncated to
    # uint8), masks resized to the rounded box and thresholded at 0.5. "aligned": boxes
    # divided by (H, W), ROIAlign sampling bin centres (half-pixel offsets, as torchvision and
    # detectron2), cv2 resizing, masks pasted with sub-pixel box edges. A model is trained and
    # evaluated in one convention; checkpoints record it.
    BOX_CONVENTION = "matterport"

    TRAIN_ROIS_PER_IMAGE = 200
    ROI_POSITIVE_RATIO = 0.33
    POOL_SIZE = 7
    MASK_POOL_SIZE = 14
    MASK_SHAPE = [28, 28]
    MAX_GT_INSTANCES = 100

    RPN_BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])
    BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])

    DETECTION_MAX_INSTANCES = 100
    DETECTION_MIN_CONFIDENCE = 0.7
    DETECTION_NMS_THRESHOLD = 0.3
    # Which (ROI, class) pairs may become detections: "argmax" (matterport: each ROI its most
    # likely class, none when that is the background, so a threshold below 0.5 adds little
    # for one class) or "per_class" (torchvision, detectron2: every non-background class of
    # every ROI with its own probability and box; the ranked list COCO evaluation expects).
    DETECTION_CLASS_RULE = "argmax"
    # After the mask head (maskrcnn/modeling/mask_postprocess.py): a detection whose mask has
    # IoU >= DETECTION_MASK_NMS_THRESHOLD with a higher-scoring one of its class, or lies
    # inside it by DETECTION_MASK_CONTAINMENT of its own pixels, repeats that object and is
    # dropped (box NMS misses a part inside its whole). A detection whose mask has IoU >=
    # DETECTION_MASK_NMS_ACROSS_CLASSES with a higher-scoring one of ANOTHER class is one
    # object given two labels and is dropped too. None switches a rule off.
    DETECTION_MASK_NMS_THRESHOLD = 0.5
    DETECTION_MASK_CONTAINMENT = 0.8
    DETECTION_MASK_NMS_ACROSS_CLASSES = 0.7
    # Detections whose mask touches the image border: "count", "drop" (for annotations that
    # leave out objects cut by the border, as microscopy and inspection data often do), or
    # "auto": training sets "drop" or "count" from the training annotations
    # (maskrcnn/data/borders.py); a model whose config still says "auto" counts them.
    DETECTION_BORDER_OBJECTS = "auto"
    # The score threshold DETECTION_MIN_CONFIDENCE is the operating point: counts, pictures
    # and CSVs use it. With CALIBRATE_THRESHOLD, training ends by setting it to the threshold
    # whose per-image counts come closest to the truth on the validation images (the
    # training images without a validation set; maskrcnn/evaluation/calibration.py).
    CALIBRATE_THRESHOLD = True

    # Share of training images that get a random half of another training image's instances
    # pasted onto them (Simple Copy-Paste, Ghiasi et al. 2021; maskrcnn/data/copy_paste.py).
    COPY_PASTE = 0.0
    LEARNING_RATE = 0.001
    # "SGD" (with LEARNING_MOMENTUM, as matterport trained) or "AdamW" (LEARNING_MOMENTUM is
    # its beta_1; take a learning rate about a tenth of SGD's). Both clip the gradients'
    # global norm at GRADIENT_CLIP_NORM and decay weights (not batch-norm scales and offsets)
    # by WEIGHT_DECAY, decoupled from the gradient.
    OPTIMIZER = "SGD"
    LEARNING_MOMENTUM = 0.9
    WEIGHT_DECAY = 0.0001
    GRADIENT_CLIP_NORM = 5.0
    LOSS_WEIGHTS = {name: 1.0 for name in LOSS_NAMES}
    # Training stops with TrainingDivergedError at the first loss that is not finite or
    # exceeds this (the learning rate is too high for the batch); no checkpoint is written.
    LOSS_LIMIT = 1e4
    # Which checkpoints of a run stay on disk (maskrcnn/checkpoint/retention.py): "all" (one
    # per epoch, as matterport), or N: the newest N and the one with the lowest validation
    # loss (a run without validation keeps the newest N; training loss never ranks);
    # "last_and_best" is N = 1. Checkpoints evaluated or started from always stay. A
    # ResNet-101 checkpoint is about 250 MB: 2 keeps a Colab or Drive disk from filling.
    CHECKPOINTS_KEEP = 2
    TRAIN_BN = False  # batch norm layers stay frozen: batches are too small to estimate them
    # After a train() call that trained batch norms, set their moving mean and variance to the
    # average batch statistics of this many training images run through the final weights
    # (PreciseBN; the last checkpoint is rewritten). 0 keeps Keras' moving averages.
    BN_RECOMPUTE_IMAGES = 200
    # What batch norms normalise with at inference: "moving" (the stored statistics), "image"
    # (the backbone's: each image's own, as training at a few images per step did; the
    # heads': the stored ones) or "auto" ("image" when TRAIN_BN with IMAGES_PER_GPU <= 4,
    # else "moving"). From scratch at 2 images per step, shapes mAP50 0.53 (moving), 0.63
    # (recomputed), 0.975 ("image"). Set "moving" when TRAIN_BN trains only part of a
    # pretrained backbone (layers="heads", "4+"...): its frozen batch norms keep the
    # pretrained statistics. See maskrcnn/model/precise_bn.py.
    BN_INFERENCE_STATISTICS = "auto"
    # None (float32), "float16" (with loss scaling; GPUs) or "bfloat16" (GPUs and TPUs).
    MIXED_PRECISION = None

    def __init__(self) -> None:
        self.validate()

    # ----------------------------------------------------------------- derived fields
    @property
    def BATCH_SIZE(self) -> int:
        return int(self.IMAGES_PER_GPU) * int(self.GPU_COUNT)

    @property
    def IMAGE_SHAPE(self) -> np.ndarray:
        side = self.IMAGE_MIN_DIM if self.IMAGE_RESIZE_MODE == "crop" else self.IMAGE_MAX_DIM
        return np.array([side, side, self.IMAGE_CHANNEL_COUNT])

    @property
    def IMAGE_META_SIZE(self) -> int:
        return 1 + 3 + 3 + 4 + 1 + int(self.NUM_CLASSES)

    # ----------------------------------------------------------------- checks
    def validate(self) -> None:
        """Raise ConfigError naming the first field whose value cannot work."""

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(f"{type(self).__name__}: {message}")

        for name in ("NUM_CLASSES", "GPU_COUNT", "IMAGES_PER_GPU", "STEPS_PER_EPOCH",
                     "IMAGE_MAX_DIM", "IMAGE_MIN_DIM", "MAX_GT_INSTANCES", "TRAIN_ROIS_PER_IMAGE",
                     "DETECTION_MAX_INSTANCES", "POST_NMS_ROIS_TRAINING",
                     "POST_NMS_ROIS_INFERENCE", "PRE_NMS_LIMIT", "RPN_TRAIN_ANCHORS_PER_IMAGE"):
            value = getattr(self, name)
            positive = (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                        and value >= 1)
            need(positive, f"{name} must be a positive integer, got {value!r}")
        need(self.IMAGE_RESIZE_MODE in RESIZE_MODES,
             f"IMAGE_RESIZE_MODE must be one of {RESIZE_MODES}, got {self.IMAGE_RESIZE_MODE!r}")
        if self.IMAGE_RESIZE_MODE in ("square", "pad64", "pad32"):
            m = PAD_MULTIPLES[self.IMAGE_RESIZE_MODE]
            need(self.IMAGE_MAX_DIM % m == 0,
                 f"IMAGE_MAX_DIM must be divisible by {m} in {self.IMAGE_RESIZE_MODE} mode, "
                 f"got {self.IMAGE_MAX_DIM}; use {max(m, round(self.IMAGE_MAX_DIM / m) * m)}")
            need(self.IMAGE_MIN_DIM <= self.IMAGE_MAX_DIM,
                 f"IMAGE_MIN_DIM ({self.IMAGE_MIN_DIM}) must not exceed IMAGE_MAX_DIM "
                 f"({self.IMAGE_MAX_DIM})")
        if self.IMAGE_RESIZE_MODE == "crop":
            need(self.IMAGE_MIN_DIM % 64 == 0,
                 f"IMAGE_MIN_DIM must be divisible by 64 in crop mode, got {self.IMAGE_MIN_DIM}")
        crop = self.TRAIN_CROP
        need(isinstance(crop, (int, np.integer)) and not isinstance(crop, bool) and crop >= 0
             and crop % 64 == 0,
             f"TRAIN_CROP must be 0 (off) or a positive multiple of 64, got {crop!r}")
        need(not (crop and self.IMAGE_RESIZE_MODE == "crop"),
             'TRAIN_CROP crops the image resized as detection sees it; IMAGE_RESIZE_MODE = '
             '"crop" crops already: use one of them (TRAIN_CROP with "pad64" keeps the scale)')
        need(self.MAX_IMAGE_PIXELS is None or (
            isinstance(self.MAX_IMAGE_PIXELS, (int, np.integer)) and self.MAX_IMAGE_PIXELS > 0),
             f"MAX_IMAGE_PIXELS must be None or a positive integer, got "
             f"{self.MAX_IMAGE_PIXELS!r}")
        need(self.BOX_CONVENTION in BOX_CONVENTIONS,
             f"BOX_CONVENTION must be one of {BOX_CONVENTIONS}, got {self.BOX_CONVENTION!r}")
        need(self.CONFIG_VERSION == CONFIG_VERSION,
             f"CONFIG_VERSION is {self.CONFIG_VERSION!r}; this version of the package writes "
             f"{CONFIG_VERSION}: read older configs with Config.from_dict / from_json, which "
             "migrate them")
        need(callable(self.BACKBONE) or self.BACKBONE in BUILTIN_BACKBONES,
             f"BACKBONE must be one of {BUILTIN_BACKBONES} or a callable, got {self.BACKBONE!r}")
        need(len(self.BACKBONE_STRIDES) == 5,
             f"BACKBONE_STRIDES needs 5 strides (P2..P6), got {list(self.BACKBONE_STRIDES)}")
        need(len(self.RPN_ANCHOR_SCALES) == len(self.BACKBONE_STRIDES),
             f"RPN_ANCHOR_SCALES needs one scale per pyramid level "
             f"({len(self.BACKBONE_STRIDES)}), got {len(self.RPN_ANCHOR_SCALES)}")
        sides = [np.ravel(entry) for entry in self.RPN_ANCHOR_SCALES]
        need(all(len(s) == len(sides[0]) >= 1 and np.all(s > 0) for s in sides),
             "RPN_ANCHOR_SCALES: each level's entry must be a positive side in pixels, or a "
             "list of sides of the same length on every level (the RPN head is shared), got "
             f"{list(self.RPN_ANCHOR_SCALES)}")
        need(len(self.RPN_ANCHOR_RATIOS) >= 1 and all(r > 0 for r in self.RPN_ANCHOR_RATIOS),
             f"RPN_ANCHOR_RATIOS must be positive numbers, got {self.RPN_ANCHOR_RATIOS}")
        need(len(np.ravel(self.MEAN_PIXEL)) == self.IMAGE_CHANNEL_COUNT,
             f"MEAN_PIXEL has {len(np.ravel(self.MEAN_PIXEL))} values but IMAGE_CHANNEL_COUNT "
             f"is {self.IMAGE_CHANNEL_COUNT}")
        need(list(self.MASK_SHAPE) == [2 * self.MASK_POOL_SIZE] * 2,
             f"MASK_SHAPE must be twice MASK_POOL_SIZE (the mask head upsamples once), got "
             f"MASK_SHAPE={list(self.MASK_SHAPE)}, MASK_POOL_SIZE={self.MASK_POOL_SIZE}")
        need(0 < self.ROI_POSITIVE_RATIO <= 1 and
             int(self.TRAIN_ROIS_PER_IMAGE * self.ROI_POSITIVE_RATIO) >= 1,
             "TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO must allow at least one positive ROI")
        need(0 <= self.DETECTION_MIN_CONFIDENCE <= 1,
             f"DETECTION_MIN_CONFIDENCE must be in [0, 1], got {self.DETECTION_MIN_CONFIDENCE}")
        need(self.DETECTION_CLASS_RULE in ("argmax", "per_class"),
             f"DETECTION_CLASS_RULE must be 'argmax' or 'per_class', got "
             f"{self.DETECTION_CLASS_RULE!r}")
        for name in ("DETECTION_MASK_NMS_THRESHOLD", "DETECTION_MASK_CONTAINMENT",
                     "DETECTION_MASK_NMS_ACROSS_CLASSES"):
            value = getattr(self, name)
            need(value is None or (isinstance(value, (int, float)) and 0 < value <= 1),
                 f"{name} must be in (0, 1], or None (off), got {value!r}")
        need(self.DETECTION_BORDER_OBJECTS in BORDER_RULES,
             f"DETECTION_BORDER_OBJECTS must be one of {BORDER_RULES}, got "
             f"{self.DETECTION_BORDER_OBJECTS!r}")
        for name in ("DETECTION_NMS_THRESHOLD", "RPN_NMS_THRESHOLD"):
            need(0 < getattr(self, name) <= 1, f"{name} must be in (0, 1]")
        unknown = set(self.LOSS_WEIGHTS) - set(LOSS_NAMES)
        need(not unknown, f"LOSS_WEIGHTS has unknown keys {sorted(unknown)}; known: {LOSS_NAMES}")
        need(isinstance(self.BN_RECOMPUTE_IMAGES, (int, np.integer)) and
             not isinstance(self.BN_RECOMPUTE_IMAGES, bool) and self.BN_RECOMPUTE_IMAGES >= 0,
             f"BN_RECOMPUTE_IMAGES must be an integer >= 0, got {self.BN_RECOMPUTE_IMAGES!r}")
        need(self.BN_INFERENCE_STATISTICS in ("auto", "moving", "image"),
             f"BN_INFERENCE_STATISTICS must be 'auto', 'moving' or 'image', got "
             f"{self.BN_INFERENCE_STATISTICS!r}")
        need(self.MIXED_PRECISION in (None, "float16", "bfloat16"),
             f"MIXED_PRECISION must be None, 'float16' or 'bfloat16', got "
             f"{self.MIXED_PRECISION!r}")
        keep = self.CHECKPOINTS_KEEP
        need(keep in ("all", "last_and_best") or (isinstance(keep, (int, np.integer)) and
                                                  not isinstance(keep, bool) and keep >= 1),
             f"CHECKPOINTS_KEEP must be 'all', 'last_and_best' or a number >= 1 (the newest "
             f"checkpoints kept beside the best), got {keep!r}")
        need(self.LOSS_LIMIT > 0, f"LOSS_LIMIT must be positive, got {self.LOSS_LIMIT}")
        need(0 <= self.COPY_PASTE <= 1, f"COPY_PASTE must be in [0, 1], got {self.COPY_PASTE}")
        need(self.OPTIMIZER in OPTIMIZERS,
             f"OPTIMIZER must be one of {OPTIMIZERS}, got {self.OPTIMIZER!r}")
        need(self.LEARNING_RATE > 0, f"LEARNING_RATE must be positive, got {self.LEARNING_RATE}")
        need(len(self.MINI_MASK_SHAPE) == 2 and min(self.MINI_MASK_SHAPE) >= 1,
             f"MINI_MASK_SHAPE must be (height, width), got {self.MINI_MASK_SHAPE}")

    # ----------------------------------------------------------------- serialisation
    def fields(self) -> dict[str, Any]:
        """All UPPER_CASE settings, derived ones included, as plain Python values."""
        out = {}
        for name in sorted(dir(self)):
            if not name.isupper() or name.startswith("_"):
                continue
            value = getattr(self, name)
            if callable(value):
                value = getattr(value, "__name__", repr(value))
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, np.generic):
                value = value.item()
            out[name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.fields(), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any], default_version: int = CONFIG_VERSION,
                  extra_fields: bool = False) -> Config:
        """A config whose fields are ``values`` (derived fields are recomputed, not read).

        ``values`` without CONFIG_VERSION are taken as ``default_version``: the current one for
        a config a person wrote (matterport's fields, say), 1 for the config of a checkpoint
        that this package wrote before the field existed. Older versions are migrated.
        A field this class does not define is refused (ConfigError naming the nearest valid
        one: a typo would otherwise be ignored), unless ``extra_fields``: a checkpoint's
        config, written from a subclass with fields of its own, keeps them.
        """
        derived = {"BATCH_SIZE", "IMAGE_SHAPE", "IMAGE_META_SIZE"}
        values = migrate_fields(values, values.get("CONFIG_VERSION", default_version))
        attrs = {}
        for name, value in values.items():
            if name in derived:
                continue
            if not name.isupper():
                raise ConfigError(f"config field names are UPPER_CASE, got {name!r}")
            if not extra_fields and not hasattr(cls, name):
                raise ConfigError(unknown_field(cls, name))
            if name in ("MEAN_PIXEL", "RPN_BBOX_STD_DEV", "BBOX_STD_DEV"):
                value = np.array(value, dtype=np.float64)
            attrs[name] = value
        if isinstance(attrs.get("BACKBONE"), str) and attrs["BACKBONE"] not in BUILTIN_BACKBONES:
            raise ConfigError(f"the saved config names a custom backbone "
                              f"{attrs['BACKBONE']!r}; pass a Config with that callable instead")
        klass = type(f"{cls.__name__}FromFile", (cls,), attrs)
        return klass()

    @classmethod
    def from_json(cls, text: str, default_version: int = CONFIG_VERSION,
                  extra_fields: bool = False) -> Config:
        """:meth:`from_dict` of a JSON object."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"config JSON is malformed at line {err.lineno} column "
                              f"{err.colno}: {err.msg}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config JSON must be an object of fields, got "
                              f"{type(values).__name__}")
        return cls.from_dict(values, default_version, extra_fields)

    def display(self) -> None:
        """Print every setting, one a line, as matterport's Config.display() did."""
        print("Configurations:")
        for name, value in self.fields().items():
            print(f"{name:30} {value}")
        print()


def unknown_field(cls, name: str) -> str:
    """The message refusing ``name``, which ``cls`` does not define, with the nearest field."""
    from difflib import get_close_matches

    known = sorted(n for n in dir(cls) if n.isupper() and not n.startswith("_"))
    close = get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}?" if close else "see Config().display() for the fields"
    return f"unknown config field {name!r}: {hint}"


def migrate_fields(values: dict[str, Any], version) -> dict[str, Any]:
    """Config fields of ``version`` rewritten to mean the same under CONFIG_VERSION.

    Version 1 (checkpoints written before BOX_CONVENTION existed) computed everything in the
    "aligned" convention: such a checkpoint keeps it, so it detects exactly as before.
    """
    if not isinstance(version, (int, np.integer)) or isinstance(version, bool) or not (
            1 <= version <= CONFIG_VERSION):
        raise ConfigError(f"CONFIG_VERSION {version!r} is not one this package knows (1 to "
                          f"{CONFIG_VERSION}); a newer package wrote it: upgrade maskrcnn")
    values = dict(values)
    if version < 2:
        values.setdefault("BOX_CONVENTION", "aligned")
    values["CONFIG_VERSION"] = CONFIG_VERSION
    return values
