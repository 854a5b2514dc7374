"""MaskRCNN: matterport's ``modellib.MaskRCNN`` surface over MaskRCNNNetwork.

    model = MaskRCNN(mode="training", config=config, model_dir="logs")
    model.load_weights(path, by_name=True, exclude=[...])
    model.train(train_set, val_set, learning_rate=config.LEARNING_RATE, epochs=10, layers="heads")
    results = model.detect([image])   # [{"rois", "class_ids", "scores", "masks"}]
"""
from __future__ import annotations

import datetime
import json
import os
import re
import warnings

import keras
import numpy as np
import tensorflow as tf

from ..config import Config
from ..data.image_io import to_rgb_uint8
from ..data.pipeline import make_training_dataset
from ..data.transforms import resize_image
from ..errors import ConfigError, DatasetError, WeightsError
from ..training import CheckpointCallback, make_optimizer, set_trainable
from ..weights import (CHECKPOINT_FORMAT, load_weights_by_name, read_checkpoint_info,
                       save_weights_h5)
from .distribute import choose_strategy, precision_policy
from .conventions import denormalize_boxes, normalize_boxes
from .mask_head import paste_masks, paste_masks_as_matterport
from .network import MaskRCNNNetwork
from .precise_bn import recompute_after_training, set_inference_statistics


class MaskRCNN:
    """Build, train and run Mask R-CNN. ``mode`` is "training" or "inference" (both build the
    same weights; the mode says which of ``train`` / ``detect`` the object is for)."""

    def __init__(self, mode: str, config: Config, model_dir: str = "logs", strategy=None):
        if mode not in ("training", "inference"):
            raise ConfigError(f"mode must be 'training' or 'inference', got {mode!r}")
        config.validate()
        if config.NUM_CLASSES < 2:
            raise ConfigError(f"NUM_CLASSES is {config.NUM_CLASSES}; it counts the background "
                              "too, so a one-class dataset needs NUM_CLASSES = 1 + 1")
        self.mode = mode
        self.config = config
        self.model_dir = str(model_dir)
        self.strategy = strategy or choose_strategy(config)
        with self.strategy.scope(), precision_policy(config.MIXED_PRECISION):
            self.keras_model = MaskRCNNNetwork(config)
        set_inference_statistics(self.keras_model, config.BN_INFERENCE_STATISTICS)
        self.epoch = 0
        self.class_names: list[str] | None = None
        self.log_dir: str | None = None
        self.checkpoint_path: str | None = None
        self._detect_fn = tf.function(self.keras_model.detect_batch, reduce_retracing=True,
                                      jit_compile=False)
        self._paste_fn = tf.function(paste_masks, reduce_retracing=True, jit_compile=False)

    @classmethod
    def from_checkpoint(cls, path: str, mode: str = "inference", model_dir: str | None = None,
                        config: Config | None = None, **overrides) -> "MaskRCNN":
        """A model rebuilt from a checkpoint alone: its config, class names and weights.

        A matterport .h5 carries no config: pass ``config`` (and set ``class_names``).
        ``overrides`` set config fields, e.g. ``DETECTION_MIN_CONFIDENCE=0.5``.
        """
        info = read_checkpoint_info(path)
        if config is None:
            if not info["config"]:
                raise WeightsError(f"{path}: this file carries no config (a matterport .h5?); "
                                   "pass config=YourConfig() to from_checkpoint")
            config = Config.from_json(info["config"], default_version=1)
        for name, value in overrides.items():
            if not name.isupper() or not hasattr(config, name):
                raise ConfigError(f"unknown config field {name!r}")
            setattr(config, name, value)
        model_dir = model_dir or os.path.dirname(os.path.dirname(os.path.abspath(path)))
        model = cls(mode, config, model_dir)
        model.load_weights(path)
        return model

    # ------------------------------------------------------------------ files
    def _name(self) -> str:
        return str(self.config.NAME or "maskrcnn").lower()

    def set_log_dir(self, model_path: str | None = None) -> None:
        """Start a new run folder ``model_dir/<name><timestamp>/``, or continue the one that
        holds ``model_path`` (a checkpoint of this project)."""
        if model_path and os.path.dirname(os.path.abspath(model_path)).startswith(
                os.path.abspath(self.model_dir)):
            self.log_dir = os.path.dirname(os.path.abspath(model_path))
        else:
            stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
            self.log_dir = os.path.join(self.model_dir, f"{self._name()}{stamp}")
        self.checkpoint_path = os.path.join(self.log_dir,
                                            f"mask_rcnn_{self._name()}_{{epoch:04d}}.h5")

    def find_last(self) -> str:
        """Path of the newest usable checkpoint of this config's NAME in model_dir.

        Run folders are ``<name><timestamp>`` for exactly this NAME ("tiny" does not pick
        "tiny_big..."), newest first; epochs compare as numbers (9999 before 10000). Files not
        written to the end, damaged, or holding NaN/infinite weights are skipped, each with a
        warning."""
        from ..weights import checkpoint_problem
        name = self._name()
        run_pattern = re.compile(re.escape(name) + r"(\d{8}T\d{4}(?:\d{2})?)")
        file_pattern = re.compile(r"mask_rcnn_" + re.escape(name) + r"_(\d+)\.h5")

        def listing(folder):
            try:
                return os.listdir(folder)
            except OSError:
                return []

        runs = sorted((m.group(1).ljust(15, "0"), entry) for entry in listing(self.model_dir)
                      if (m := run_pattern.fullmatch(entry))
                      and os.path.isdir(os.path.join(self.model_dir, entry)))
        for _, run in reversed(runs):
            folder = os.path.join(self.model_dir, run)
            files = sorted((int(m.group(1)), entry) for entry in listing(folder)
                           if (m := file_pattern.fullmatch(entry)))
            for _, entry in reversed(files):
                path = os.path.join(folder, entry)
                problem = checkpoint_problem(path)
                if problem is None:
                    return path
                warnings.warn(f"find_last skips {path}: {problem}", stacklevel=2)
        raise FileNotFoundError(f"no complete checkpoint of {self._name()!r} under "
                                f"{os.path.abspath(self.model_dir)}")

    def save_weights(self, path: str, epoch: int | None = None) -> str:
        """Write a checkpoint (weights, config, class names, epoch) atomically."""
        attrs = {"maskrcnn_format": CHECKPOINT_FORMAT,
                 "maskrcnn_config": self.config.to_json(),
                 "class_names": json.dumps(self.class_names or []),
                 "epoch": int(self.epoch if epoch is None else epoch)}
        save_weights_h5(self.keras_model.leaf_layers(), path, attrs)
        return path

    def load_weights(self, filepath: str, by_name: bool = False, exclude=None):
        """Load an h5 file: this project's checkpoints or matterport's (by layer name; the
        ``by_name`` flag is accepted for compatibility, loading is always by name).
        Returns a LoadReport. Loading a project checkpoint continues its epoch count.
        Also loads a Keras 3 ``.weights.h5`` or ``.keras`` file of this model (weights only;
        Keras builds no objects from such files), returning None then."""
        from ..weights import load_keras3_weights, open_h5
        filepath = os.fspath(filepath)
        if filepath.endswith(".keras"):
            return load_keras3_weights(self.keras_model, filepath)
        with open_h5(filepath) as f:  # WeightsError for a missing, non-HDF5 or truncated file
            keras2_layout = "layer_names" in f.attrs or "model_weights" in f
        if not keras2_layout:
            return load_keras3_weights(self.keras_model, filepath)
        info = read_checkpoint_info(filepath)  # damaged attributes: refused before assigning
        report = load_weights_by_name(self.keras_model.leaf_layers(), filepath, exclude)
        self._warn_if_other_convention(filepath, info["config"])
        if info["class_names"]:
            self.class_names = info["class_names"]
        if info["epoch"] is not None:
            self.epoch = info["epoch"]
            self.set_log_dir(filepath)
        return report

    def _warn_if_other_convention(self, filepath: str, config_json: str | None) -> None:
        """A checkpoint trained in one box convention detects best in the same one."""
        if not config_json:
            return  # a matterport file: it was trained in matterport's convention
        try:
            saved = Config.from_json(config_json, default_version=1).BOX_CONVENTION
        except ConfigError:
            return
        if saved != self.config.BOX_CONVENTION:
            warnings.warn(f"{filepath} was trained with BOX_CONVENTION={saved!r} but this "
                          f"model uses {self.config.BOX_CONVENTION!r}: detections will differ "
                          f"from the trained model's. Set BOX_CONVENTION = {saved!r} (or use "
                          "MaskRCNN.from_checkpoint, which takes the checkpoint's config), "
                          "unless you mean to fine-tune in the other convention.", stacklevel=3)

    # ------------------------------------------------------------------ training
    def train(self, train_dataset, val_dataset, learning_rate: float, epochs: int,
              layers: str = "all", augmentation=None, custom_callbacks=None,
              verbose: int | str = "auto"):
        """Train until epoch ``epochs`` (counting on from ``self.epoch``), one checkpoint per
        epoch. ``layers``: heads, 3+, 4+, 5+, all, or a regex of layer names."""
        if self.mode != "training":
            raise ConfigError("create the model with mode='training' to train it")
        c = self.config
        c.validate()
        for name, ds in (("train", train_dataset), ("validation", val_dataset)):
            if ds is not None and getattr(ds, "num_classes", c.NUM_CLASSES) != c.NUM_CLASSES:
                raise ConfigError(f"config NUM_CLASSES is {c.NUM_CLASSES} but the {name} dataset "
                                  f"has {ds.num_classes} classes (background included): set "
                                  f"NUM_CLASSES = {ds.num_classes}")
        val_names = getattr(val_dataset, "class_names", None)
        if val_names is not None and list(val_names) != list(train_dataset.class_names):
            raise DatasetError(
                f"the train and validation datasets have different class lists: train "
                f"{list(train_dataset.class_names)}, validation {list(val_names)}; a class id "
                "must mean the same class in both: add the classes in the same order to both "
                "datasets (or build both from one annotation file)")
        self.class_names = list(train_dataset.class_names)
        if self.log_dir is None:
            self.set_log_dir()
        train_data = make_training_dataset(train_dataset, c, shuffle=True,
                                           augmentation=augmentation)
        val_data = (make_training_dataset(val_dataset, c, shuffle=True)
                    if val_dataset is not None and c.VALIDATION_STEPS else None)
        set_trainable(self.keras_model.leaf_layers(), layers, c.TRAIN_BN)
        with self.strategy.scope():
            self.keras_model.compile(optimizer=make_optimizer(c, learning_rate),
                                     jit_compile=False)
        from ..errors import NonFiniteWeightsError
        from ..training import DEFAULT_LOSS_LIMIT, DivergenceGuard
        previous = self.checkpoint_path.format(epoch=self.epoch) if self.epoch else None
        guard = DivergenceGuard(learning_rate, getattr(c, "LOSS_LIMIT", DEFAULT_LOSS_LIMIT),
                                previous if previous and os.path.isfile(previous) else None,
                                c.STEPS_PER_EPOCH)

        def save_checkpoint(epoch):  # never writes non-finite weights
            path = self.checkpoint_path.format(epoch=epoch)
            try:
                self.save_weights(path, epoch=epoch)
            except NonFiniteWeightsError as err:
                raise guard.diverged(f"the weights after epoch {epoch} are not finite "
                                     f"({err})") from None
            guard.last_checkpoint = path

        callbacks = [guard,  # first: a diverged epoch must stop before its checkpoint
                     keras.callbacks.TensorBoard(self.log_dir, write_graph=False),
                     CheckpointCallback(save_checkpoint)]
        callbacks += list(custom_callbacks or [])
        if epochs <= self.epoch:
            warnings.warn(f"already at epoch {self.epoch}; epochs={epochs} trains nothing")
            return None
        try:
            history = self.keras_model.fit(
                train_data, initial_epoch=self.epoch, epochs=epochs,
                steps_per_epoch=c.STEPS_PER_EPOCH, validation_data=val_data,
                validation_steps=c.VALIDATION_STEPS if val_data is not None else None,
                callbacks=callbacks, verbose=verbose, shuffle=False)
        except tf.errors.OpError as err:
            raise _dataset_error_from(err) from None
        # Trained batch norms get the statistics of the final weights (PreciseBN), and the
        # last checkpoint is rewritten with them (Config.BN_RECOMPUTE_IMAGES).
        recompute_after_training(self, train_dataset, history, verbose)
        self.epoch = max(self.epoch, epochs)
        return history

    # ------------------------------------------------------------------ detection
    def mold_inputs(self, images):
        """Resize and pad images as in training. Returns uint8 (B, H, W, 3), image metas as
        dicts (window in padded pixels, scale, original shape) and normalised windows."""
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

    def detect(self, images, verbose: int = 0) -> list[dict]:
        """Detect instances in a list of images of any sizes (RGB, gray or RGBA arrays).

        Returns one dict per image: ``rois`` (N, 4) int32 y1, x1, y2, x2 in the image's own
        pixels; ``class_ids`` (N,) int32; ``scores`` (N,) float32; ``masks`` (H, W, N) bool.
        """
        if isinstance(images, np.ndarray) and images.ndim in (2, 3):
            raise TypeError("detect() takes a list of images: use model.detect([image])")
        images = list(images)
        molded, metas = self.mold_inputs(images)
        results: list[dict | None] = [None] * len(images)
        # Images of one padded shape go through the graph together, BATCH_SIZE at a time.
        groups: dict[tuple, list[int]] = {}
        for i, m in enumerate(metas):
            groups.setdefault(tuple(m["molded_shape"]), []).append(i)
        for shape, members in groups.items():
            for start in range(0, len(members), self.config.BATCH_SIZE):
                chunk = members[start:start + self.config.BATCH_SIZE]
                batch = np.stack([molded[i] for i in chunk])
                windows = np.stack([normalize_boxes(metas[i]["window"].astype(np.float64),
                                                    shape[0], shape[1],
                                                    self.config.BOX_CONVENTION)
                                    for i in chunk]).astype(np.float32)
                detections, masks = self._detect_batch(batch, windows)
                for j, i in enumerate(chunk):
                    results[i] = self._unmold(detections[j].numpy(), masks[j], metas[i], shape)
        if verbose:
            for i, r in enumerate(results):
                print(f"image {i}: {len(r['class_ids'])} detections")
        return results

    def _detect_batch(self, images: np.ndarray, windows: np.ndarray):
        """Run the detection graph on a batch, split over the strategy's replicas when there
        are several (IMAGES_PER_GPU images each; a short batch is padded with blank images
        whose results are dropped). Returns detections (B, K, 6) and masks (B, K, h, w)."""
        replicas = self.strategy.num_replicas_in_sync
        if replicas == 1:
            return self._detect_fn(tf.constant(images), tf.constant(windows))
        count, per_replica = len(images), -(-len(images) // replicas)
        pad = per_replica * replicas - count
        images = np.concatenate([images, np.zeros((pad,) + images.shape[1:], images.dtype)])
        windows = np.concatenate([windows, np.tile([[0, 0, 1, 1]], (pad, 1)).astype(np.float32)])

        def replica_slice(context):
            part = slice(context.replica_id_in_sync_group * per_replica,
                         (context.replica_id_in_sync_group + 1) * per_replica)
            return tf.constant(images[part]), tf.constant(windows[part])

        values = self.strategy.experimental_distribute_values_from_function(replica_slice)
        outputs = self.strategy.run(lambda v: self._detect_fn(*v), args=(values,))
        detections, masks = (tf.concat(self.strategy.experimental_local_results(o), axis=0)
                             for o in outputs)
        return detections[:count], masks[:count]

    def _unmold(self, detections: np.ndarray, masks: tf.Tensor, meta: dict, molded_shape):
        """One image's padded, normalised detections -> the result dict in its own pixels."""
        keep = detections[:, 4] > 0
        h, w = meta["original_shape"][:2]
        if self.config.BOX_CONVENTION == "matterport":
            # Normalised to the padded image -> to the window -> the image's integer pixels;
            # the mask then fills the rounded box, as matterport's unmold_detections.
            window = normalize_boxes(meta["window"].astype(np.float64), molded_shape[0],
                                     molded_shape[1], "matterport")
            shift = np.array([window[0], window[1], window[0], window[1]])
            span = np.array([window[2] - window[0], window[3] - window[1]] * 2)
            boxes = np.round(denormalize_boxes((detections[keep, :4] - shift) / span, h, w,
                                               "matterport"))
        else:  # continuous pixel coordinates; the mask is pasted with sub-pixel edges
            hp, wp = molded_shape[:2]
            y0, x0 = meta["window"][:2]
            boxes = detections[keep, :4] * np.array([hp, wp, hp, wp], dtype=np.float32)
            boxes = (boxes - np.array([y0, x0, y0, x0])) / meta["scale"]
        boxes = np.clip(boxes, 0, [h, w, h, w])
        rois = np.round(boxes).astype(np.int32)
        nonempty = (rois[:, 2] > rois[:, 0]) & (rois[:, 3] > rois[:, 1])
        index = np.flatnonzero(keep)[nonempty]
        if self.config.BOX_CONVENTION == "matterport":
            pasted = paste_masks_as_matterport(np.asarray(tf.gather(masks, index)),
                                               rois[nonempty], h, w)
        else:
            pasted = self._paste_fn(tf.gather(masks, index),
                                    tf.constant(boxes[nonempty], tf.float32),
                                    tf.constant(h, tf.int32), tf.constant(w, tf.int32)).numpy()
        return {"rois": rois[nonempty],
                "class_ids": detections[index, 4].astype(np.int32),
                "scores": detections[index, 5].astype(np.float32),
                "masks": pasted}

    # ------------------------------------------------------------------ matterport extras
    def get_trainable_layers(self) -> list:
        return [layer for layer in self.keras_model.leaf_layers() if layer.trainable]

    def set_trainable(self, layer_regex: str) -> list[str]:
        return set_trainable(self.keras_model.leaf_layers(), layer_regex, self.config.TRAIN_BN)

    # ------------------------------------------------------------------ starting points, schedules
    def init_weights(self, init_with: str = "coco", exclude="auto", path: str | None = None,
                     verbose: int = 1):
        """Start from ``init_with``: "coco" (matterport's mask_rcnn_coco.h5 from ``path`` or
        the cache, downloaded once), "imagenet" (Keras' ResNet-50/101 backbone; ``path`` may
        name a local Keras weights file), "last" (newest checkpoint in model_dir; the epoch
        count continues) or the path of a weights file.

        ``exclude="auto"`` leaves out the class-specific head layers when the file's class
        count differs from NUM_CLASSES; pass a list to choose. Returns the LoadReport.
        """
        from ..weights import HEAD_LAYERS, coco_weights_path, file_num_classes
        if init_with == "imagenet":
            report = self.load_weights(self.get_imagenet_weights(path or "imagenet"))
        elif init_with == "last":
            report = self.load_weights(self.find_last())
        else:
            source = coco_weights_path(path) if init_with == "coco" else os.fspath(init_with)
            if not os.path.exists(source):
                raise WeightsError(f"init_with={init_with!r}: use 'coco', 'imagenet', 'last' "
                                   "or the path of an existing weights file")
            if exclude == "auto":
                classes = file_num_classes(source)
                exclude = (HEAD_LAYERS if classes not in (None, self.config.NUM_CLASSES)
                           else [])
                if exclude and verbose:
                    print(f"{source} has {classes} classes, NUM_CLASSES is "
                          f"{self.config.NUM_CLASSES}: not loading {exclude}")
            report = self.load_weights(source, by_name=True, exclude=exclude)
        if verbose and report is not None:
            print(report.summary())
        return report

    def get_imagenet_weights(self, weights="imagenet") -> str:
        """matterport's method: path of an h5 file with ImageNet ResNet weights under this
        model's layer names (converted from keras.applications and cached), for
        ``load_weights(path, by_name=True)``. ``weights`` may be a local Keras weights file."""
        from ..weights import imagenet_weights_path
        return imagenet_weights_path(self.config.BACKBONE, weights)

    def train_schedule(self, train_dataset, val_dataset, stages, augmentation=None,
                       warmup_steps: int = 0, custom_callbacks=None, verbose="auto") -> list:
        """Train in stages ``[(layers, until_epoch, learning_rate), ...]``, e.g.
        ``[("heads", 40, lr), ("4+", 120, lr), ("all", 160, lr / 10)]``; finished stages are
        skipped, so after ``init_weights("last")`` the same call resumes. See
        ``maskrcnn.training.train_schedule``."""
        from ..training import train_schedule
        return train_schedule(self, train_dataset, val_dataset, stages, augmentation,
                              warmup_steps, custom_callbacks, verbose)

    def export(self, path: str, format: str = "saved_model") -> str:
        """Write the model for use elsewhere: ``format="saved_model"`` (the inference graph
        with a fixed input signature, for TF Serving) or ``"weights"`` (a Keras 3
        ``.weights.h5``). See ``maskrcnn.export``."""
        from .. import export
        if format == "saved_model":
            return export.export_saved_model(self, path)
        if format == "weights":
            return export.export_keras_weights(self, path)
        raise ConfigError(f"format must be 'saved_model' or 'weights', got {format!r}")


def _dataset_error_from(err: Exception) -> Exception:
    """tf.data wraps exceptions raised in the input pipeline; unwrap ours."""
    message = str(getattr(err, "message", err))
    match = re.search(r"DatasetError: (.*)", message)
    if match:
        return DatasetError(match.group(1).strip())
    return err
