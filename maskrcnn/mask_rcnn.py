"""MaskRCNN: matterport's ``modellib.MaskRCNN`` surface, composing the network with a
Predictor (detect), a Trainer (train) and a Checkpointer (files).

    model = MaskRCNN(mode="training", config=config, model_dir="logs")
    model.load_weights(path, by_name=True, exclude=[...])
    model.train(train_set, val_set, learning_rate=config.LEARNING_RATE, epochs=10, layers="heads")
    results = model.detect([image])   # [{"rois", "class_ids", "scores", "masks"}]
"""
from __future__ import annotations

import os

from .checkpoint.checkpointer import Checkpointer, config_from_checkpoint
from .config import Config
from .errors import ConfigError
from .export import export_model
from .modeling.distribute import choose_strategy, precision_policy
from .modeling.network import MaskRCNNNetwork
from .modeling.precise_bn import set_inference_statistics
from .predictor import Predictor
from .trainer import Trainer

#: Training calibrates its threshold on at most this many images (the first of the split).
CALIBRATION_IMAGES = 200


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
        self.mode, self.config = mode, config
        self.strategy = strategy or choose_strategy(config)
        with self.strategy.scope(), precision_policy(config.MIXED_PRECISION):
            self.keras_model = MaskRCNNNetwork(config)
        self.checkpointer = Checkpointer(self.keras_model, config, model_dir)
        self.trainer = Trainer(self.keras_model, config, self.checkpointer, self.strategy)
        self.predictor = Predictor(config, self._detection_graph, self.strategy)
        # Images that ``finish_training`` calibrates on (the first of the split; 0: none).
        self.calibration_images = CALIBRATION_IMAGES

    def _detection_graph(self):
        set_inference_statistics(self.keras_model, self.config.BN_INFERENCE_STATISTICS)
        return self.keras_model.detect_batch

    @classmethod
    def from_checkpoint(cls, path: str, mode: str = "inference", model_dir: str | None = None,
                        config: Config | None = None, **overrides) -> MaskRCNN:
        """A model rebuilt from a checkpoint alone: its config, class names and weights. A
        matterport .h5 carries no config: pass ``config`` (and set ``class_names``).
        ``overrides`` set config fields, e.g. ``DETECTION_MIN_CONFIDENCE=0.5``."""
        config = config_from_checkpoint(path, config, **overrides)
        model_dir = model_dir or os.path.dirname(os.path.dirname(os.path.abspath(path)))
        model = cls(mode, config, model_dir)
        model.load_weights(path)
        return model

    # ------------------------------------------------------------------ state (matterport's names)
    model_dir = property(lambda self: self.checkpointer.model_dir)
    log_dir = property(lambda self: self.checkpointer.log_dir)
    checkpoint_path = property(lambda self: self.checkpointer.checkpoint_path)

    @property
    def epoch(self) -> int:
        return self.checkpointer.epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.checkpointer.epoch = int(value)

    @property
    def class_names(self):
        return self.checkpointer.class_names

    @class_names.setter
    def class_names(self, names) -> None:
        self.checkpointer.class_names = None if names is None else list(names)

    # ------------------------------------------------------------------ files
    def load_weights(self, filepath: str, by_name: bool = True, exclude=None):
        """Load weights (``Checkpointer.load``: loading is always by layer name; ``by_name``
        is accepted for matterport's call). Returns a LoadReport."""
        return self.checkpointer.load(filepath, exclude)

    def init_weights(self, init_with: str = "coco", exclude="auto", path: str | None = None,
                     verbose: int = 1):
        """Start from "coco", "imagenet", "last" or a file (``Checkpointer.starting_point``)."""
        return self.checkpointer.starting_point(init_with, exclude, path, verbose)

    def save_weights(self, path: str, epoch: int | None = None) -> str:
        return self.checkpointer.save(path, epoch)

    def find_last(self) -> str:
        return self.checkpointer.find_last()

    def find_best(self, folder: str | None = None) -> str | None:
        """The checkpoint of this run (or ``folder``) with the lowest validation loss."""
        return self.checkpointer.find_best(folder)

    def set_log_dir(self, model_path: str | None = None) -> None:
        self.checkpointer.set_log_dir(model_path)

    def get_imagenet_weights(self, weights="imagenet") -> str:
        return self.checkpointer.imagenet_weights(weights)

    # ------------------------------------------------------------------ training
    def train(self, train_dataset, val_dataset, learning_rate: float, epochs: int,
              layers: str = "all", augmentation=None, custom_callbacks=None,
              verbose: int | str = "auto", calibration_dataset=None):
        """Train until epoch ``epochs`` (``Trainer.train``), then :meth:`finish_training`
        (the operating threshold calibrated on ``calibration_dataset``, default the
        validation images, else the training images)."""
        if self.mode != "training":
            raise ConfigError("create the model with mode='training' to train it")
        history = self.trainer.train(train_dataset, val_dataset, learning_rate, epochs, layers,
                                     augmentation, custom_callbacks, verbose)
        if history is not None:
            self.finish_training(train_dataset, calibration_dataset or val_dataset, verbose)
        return history

    def train_schedule(self, train_dataset, val_dataset, stages, augmentation=None,
                       warmup_steps: int = 0, custom_callbacks=None, verbose="auto",
                       calibration_dataset=None) -> list:
        """Train in stages ``[(layers, until_epoch, learning_rate), ...]``
        (``Trainer.train_schedule``; finished stages are skipped), then
        :meth:`finish_training` once, as :meth:`train`."""
        if self.mode != "training":
            raise ConfigError("create the model with mode='training' to train it")
        histories = self.trainer.train_schedule(train_dataset, val_dataset, stages,
                                                augmentation, warmup_steps, custom_callbacks,
                                                verbose)
        if any(h is not None for h in histories):
            self.finish_training(train_dataset, calibration_dataset or val_dataset, verbose)
        return histories

    def finish_training(self, train_dataset, val_dataset=None, verbose=1) -> None:
        """What every training ends with, into the run's last checkpoint: the border rule
        learnt from the training annotations (DETECTION_BORDER_OBJECTS "auto"), and, with
        CALIBRATE_THRESHOLD, the operating threshold calibrated on the validation images
        (the training images without them). Each says what it chose in one line."""
        c = self.config
        self.learn_border_rule(train_dataset, verbose)
        calibration = None
        if c.CALIBRATE_THRESHOLD and not self.calibration_images:
            if verbose:
                print("calibration skipped: no images to calibrate on (calibration_images 0)")
        elif c.CALIBRATE_THRESHOLD:
            from .errors import DatasetError
            for dataset, source in ((val_dataset, "validation"), (train_dataset, "training")):
                if dataset is None:
                    continue
                try:
                    calibration = self.calibrate(dataset, source, self.calibration_images,
                                                 progress=bool(verbose))
                    break
                except DatasetError as err:  # no objects to count there
                    if verbose:
                        print(f"calibration skipped on the {source} images: {err}")
            if calibration is not None and verbose:
                print(f"operating point: {calibration.describe()}")
        last = self.checkpoint_path.format(epoch=self.epoch) if self.checkpoint_path else None
        if last and os.path.isfile(last):
            self.checkpointer.save(last, self.epoch)  # the config as it now stands

    def learn_border_rule(self, dataset, verbose=1) -> None:
        """With DETECTION_BORDER_OBJECTS "auto", set "drop" or "count" from the annotations
        of ``dataset`` (:mod:`maskrcnn.data.borders`) and say which in one line."""
        if self.config.DETECTION_BORDER_OBJECTS != "auto":
            return
        from .data.borders import border_statistics
        stats = border_statistics(dataset)
        self.config.DETECTION_BORDER_OBJECTS = stats.rule
        if verbose:
            print(f"border: {stats.describe()}")

    def calibrate(self, dataset, source: str = "dataset", limit: int | None = None,
                  progress: bool = True):
        """Set DETECTION_MIN_CONFIDENCE to the threshold whose per-image counts on
        ``dataset`` come closest to the truth
        (:func:`maskrcnn.evaluation.calibration.calibrate`); the next checkpoint saved
        carries it. Returns the Calibration."""
        from .evaluation.calibration import calibrate
        calibration = calibrate(self, dataset, source, limit, progress)
        self.checkpointer.calibration = calibration.to_json()
        return calibration

    @property
    def calibration(self):
        """How the operating threshold was chosen (a Calibration), or None when it is the
        config's own DETECTION_MIN_CONFIDENCE."""
        from .evaluation.calibration import Calibration
        return Calibration.from_json(self.checkpointer.calibration)

    def set_trainable(self, layer_regex: str) -> list[str]:
        return self.trainer.set_trainable(layer_regex)

    def get_trainable_layers(self) -> list:
        return [layer for layer in self.keras_model.leaf_layers() if layer.trainable]

    # ------------------------------------------------------------------ detection
    def detect(self, images, verbose: int = 0, masks: str = "auto") -> list[dict]:
        """Detect instances in a list of images of any sizes (``Predictor.detect``; ``masks``
        "full", "crops" or "auto": the (H, W, N) array, or box crops for huge images)."""
        return self.predictor.detect(images, verbose, masks)

    def mold_inputs(self, images):
        return self.predictor.mold_inputs(images)

    # ------------------------------------------------------------------ export
    def export(self, path: str, format: str = "saved_model", **options) -> str:
        """Write the model for use elsewhere (``maskrcnn.export.export_model``):
        "saved_model" (the inference graph, any image size), "weights" (a Keras 3
        ``.weights.h5``), "tflite" (``quantize=`` "float16" or "int8") or "onnx"."""
        return export_model(self, path, format, **options)
