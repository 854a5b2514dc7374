"""Checkpointer: one model's run folders and weights files.

Run folders are ``model_dir/<name><timestamp>/`` holding ``mask_rcnn_<name>_<epoch>.h5``.
A checkpoint carries the config, the class names, the epoch and that epoch's losses beside
the weights, so that detection and evaluation need only the file. ``Config.CHECKPOINTS_KEEP``
says which of a run's checkpoints stay (:mod:`.retention`).
``load`` is the one way weights get into a model: this project's checkpoints, matterport's
``.h5`` (by layer name), Keras 3 files.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import re
import time
import warnings

from ..config import Config
from ..errors import ConfigError, WeightsError
from .h5 import HEAD_LAYERS, file_num_classes, load_weights_by_name, open_h5, save_weights_h5
from .info import CHECKPOINT_FORMAT, checkpoint_problem, read_checkpoint_info
from .keras3 import load_keras3_weights
from .retention import keep_count, referenced_checkpoints, was_evaluated


def config_from_checkpoint(path: str, config: Config | None = None, **overrides) -> Config:
    """The config a checkpoint was trained with (migrated from older versions), or
    ``config`` for a file that carries none (a matterport ``.h5``); ``overrides`` set fields,
    e.g. ``DETECTION_MIN_CONFIDENCE=0.5``."""
    if config is None:
        info = read_checkpoint_info(path)
        if not info["config"]:
            raise WeightsError(f"{path}: this file carries no config (a matterport .h5?); "
                               "pass config=YourConfig()")
        config = Config.from_json(info["config"], default_version=1, extra_fields=True)
    for name, value in overrides.items():
        if not name.isupper() or not hasattr(config, name):
            raise ConfigError(f"unknown config field {name!r}")
        setattr(config, name, value)
    return config


RUN_STAMP = r"(\d{8}T\d{4}(?:\d{2})?)"  # the timestamp that ends a run folder's name


def find_last(model_dir: str, name: str | None = None) -> str:
    """Path of the newest usable checkpoint under ``model_dir`` of runs named ``name``
    (lower case; None: any name).

    Run folders are ``<name><timestamp>`` for exactly this NAME ("tiny" does not pick
    "tiny_big..."), newest first; epochs compare as numbers (9999 before 10000). Files not
    written to the end, damaged, or holding NaN/infinite weights are skipped, each with a
    warning."""
    run_pattern = re.compile((re.escape(name) if name else "(.+?)") + RUN_STAMP)
    runs = sorted((m.group(m.lastindex).ljust(15, "0"), entry, name or m.group(1))
                  for entry in _listing(model_dir)
                  if (m := run_pattern.fullmatch(entry))
                  and os.path.isdir(os.path.join(model_dir, entry)))
    for _, run, run_name in reversed(runs):
        for _, path in reversed(run_checkpoints(os.path.join(model_dir, run), run_name)):
            problem = checkpoint_problem(path)
            if problem is None:
                return path
            warnings.warn(f"find_last skips {path}: {problem}", stacklevel=3)
    named = f"of {name!r} " if name else ""
    raise FileNotFoundError(f"no complete checkpoint {named}under "
                            f"{os.path.abspath(model_dir)}")


def run_checkpoints(folder: str, name: str) -> list[tuple[int, str]]:
    """``(epoch, path)`` of the ``mask_rcnn_<name>_<epoch>.h5`` files in one run folder,
    oldest first (epochs compare as numbers)."""
    file_pattern = re.compile(r"mask_rcnn_" + re.escape(name) + r"_(\d+)\.h5")
    return sorted((int(m.group(1)), os.path.join(folder, entry))
                  for entry in _listing(folder) if (m := file_pattern.fullmatch(entry)))


class Checkpointer:
    """Save, find and load the weights of ``network`` (a MaskRCNNNetwork) for ``config``.

    State: ``epoch`` (the last finished epoch), ``class_names``, ``log_dir`` and
    ``checkpoint_path`` (a format string with ``{epoch}``)."""

    def __init__(self, network, config: Config, model_dir: str = "logs"):
        self.network, self.config, self.model_dir = network, config, str(model_dir)
        self.epoch = 0
        self.class_names: list[str] | None = None
        self.log_dir: str | None = None
        self.checkpoint_path: str | None = None
        self.loaded_from: str | None = None  # the last file ``load`` read weights from
        self.epoch_losses: dict[int, dict[str, float]] = {}  # per epoch, as saved
        # JSON of the operating threshold's calibration (maskrcnn.evaluation.calibration),
        # written with every checkpoint; None: the threshold is the config's own.
        self.calibration: str | None = None
        self.layers: str | None = None  # the ``layers=`` these weights were trained with
        self.save_seconds: float | None = None  # how long the last ``save`` took

    @property
    def name(self) -> str:
        return str(self.config.NAME or "maskrcnn").lower()

    # ------------------------------------------------------------------ run folders
    def set_log_dir(self, model_path: str | None = None) -> None:
        """Start a new run folder ``model_dir/<name><timestamp>/``, or continue the one that
        holds ``model_path`` (a checkpoint of this project)."""
        if model_path and os.path.dirname(os.path.abspath(model_path)).startswith(
                os.path.abspath(self.model_dir)):
            self.log_dir = os.path.dirname(os.path.abspath(model_path))
        else:
            stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
            self.log_dir = os.path.join(self.model_dir, f"{self.name}{stamp}")
        self.checkpoint_path = os.path.join(self.log_dir,
                                            f"mask_rcnn_{self.name}_{{epoch:04d}}.h5")

    def find_last(self) -> str:
        """Path of the newest usable checkpoint of this config's NAME in model_dir
        (:func:`find_last`)."""
        return find_last(self.model_dir, self.name)

    def run_checkpoints(self, folder: str) -> list[tuple[int, str]]:
        """``(epoch, path)`` of this NAME's checkpoint files in one run folder, oldest first."""
        return run_checkpoints(folder, self.name)

    # ------------------------------------------------------------------ retention
    def find_best(self, folder: str | None = None) -> str | None:
        """The complete checkpoint of a run folder (default: this run's) with the lowest
        validation loss; None when none saved one (training loss never ranks)."""
        scored = []
        for epoch, path in self.run_checkpoints(folder or self.log_dir or ""):
            info = _info_or_none(path)
            if info and info["complete"] and "val_loss" in (info["losses"] or {}):
                scored.append((info["losses"]["val_loss"], epoch, path))
        return min(scored)[2] if scored else None

    def prune(self) -> list[str]:
        """Apply ``CHECKPOINTS_KEEP`` (:mod:`.retention`) to this run's folder: delete the
        checkpoints training wrote that are neither among the newest N, nor the best by
        validation loss, nor referred to (the run's starting point, a run's parent, one with
        an evaluation folder beside it). Files that saved no loss are left alone. Returns
        the deleted paths."""
        keep = keep_count(self.config.CHECKPOINTS_KEEP)
        if keep is None or not self.log_dir:
            return []
        trained = [path for _, path in self.run_checkpoints(self.log_dir)
                   if (info := _info_or_none(path)) and info["complete"] and info["losses"]]
        kept = set(trained[-keep:]) | {self.find_best(), self.loaded_from}
        kept = {os.path.abspath(p) for p in kept if p} | referenced_checkpoints(self.model_dir)
        removed = [path for path in trained
                   if os.path.abspath(path) not in kept and not was_evaluated(path)]
        for path in removed:
            os.remove(path)
        return removed

    # ------------------------------------------------------------------ files
    def save(self, path: str, epoch: int | None = None, logs: dict | None = None) -> str:
        """Write a checkpoint (weights, config, class names, epoch, and the epoch's losses
        from Keras' ``logs``, or those saved before for this epoch) atomically."""
        epoch = int(self.epoch if epoch is None else epoch)
        if logs is not None:
            self.epoch_losses[epoch] = _losses(logs)
        attrs = {"maskrcnn_format": CHECKPOINT_FORMAT,
                 "maskrcnn_config": self.config.to_json(),
                 "class_names": json.dumps(self.class_names or []),
                 "epoch": epoch,
                 "losses": json.dumps(self.epoch_losses.get(epoch, {}))}
        if self.calibration:
            attrs["calibration"] = self.calibration
        if self.layers:
            attrs["layers"] = self.layers
        if self.loaded_from:
            attrs["parent"] = os.path.abspath(self.loaded_from)
        started = time.monotonic()
        save_weights_h5(self.network.leaf_layers(), path, attrs)
        self.save_seconds = time.monotonic() - started
        return path

    def load(self, path: str, exclude=None):
        """Load ``path``: a checkpoint of this project or a matterport ``.h5`` (by layer
        name, all or nothing; ``exclude`` names layers to leave as they are), or a Keras 3
        ``.weights.h5`` / ``.keras`` file of this model (returns None then). Loading a
        project checkpoint takes its class names and continues its epoch count and run
        folder. Returns a LoadReport."""
        path = os.fspath(path)
        keras2_layout = False
        if not path.endswith(".keras"):
            with open_h5(path) as f:  # WeightsError for a missing, non-HDF5 or truncated file
                keras2_layout = "layer_names" in f.attrs or "model_weights" in f
        if not keras2_layout:  # a Keras 3 file: .keras or .weights.h5
            load_keras3_weights(self.network, path)
            self.loaded_from = path
            return None
        info = read_checkpoint_info(path)  # damaged attributes: refused before assigning
        report = load_weights_by_name(self.network.leaf_layers(), path, exclude)
        self.loaded_from = path
        self._warn_if_other_convention(path, info["config"])
        if info["class_names"]:
            self.class_names = info["class_names"]
        self.calibration = info["calibration"]
        self.layers = info["layers"]
        if info["epoch"] is not None:
            self.epoch = info["epoch"]
            self.set_log_dir(path)
        return report

    def _warn_if_other_convention(self, path: str, config_json: str | None) -> None:
        """A checkpoint trained in one box convention detects best in the same one."""
        if not config_json:
            return  # a matterport file: it was trained in matterport's convention
        try:
            saved = Config.from_json(config_json, default_version=1,
                                     extra_fields=True).BOX_CONVENTION
        except ConfigError:
            return
        if saved != self.config.BOX_CONVENTION:
            warnings.warn(f"{path} was trained with BOX_CONVENTION={saved!r} but this "
                          f"model uses {self.config.BOX_CONVENTION!r}: detections will differ "
                          f"from the trained model's. Set BOX_CONVENTION = {saved!r} (or use "
                          "MaskRCNN.from_checkpoint, which takes the checkpoint's config), "
                          "unless you mean to fine-tune in the other convention.", stacklevel=4)

    # ------------------------------------------------------------------ starting points
    def starting_point(self, init_with: str = "coco", exclude="auto", path: str | None = None,
                       verbose: int = 1):
        """Load the weights to start from: "coco" (matterport's mask_rcnn_coco.h5 from
        ``path`` or the cache, downloaded once), "imagenet" (Keras' ResNet-50/101 backbone;
        ``path`` may name a local Keras weights file), "last" (the newest checkpoint in
        model_dir; the epoch count continues) or the path of a weights file.

        ``exclude="auto"`` leaves out the class-specific head layers when the file's class
        count differs from NUM_CLASSES; pass a list to choose. Returns the LoadReport."""
        from .download import coco_weights_path
        if init_with == "imagenet":
            report = self.load(self.imagenet_weights(path or "imagenet"))
        elif init_with == "last":
            report = self.load(self.find_last())
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
            report = self.load(source, exclude=exclude)
        if verbose and report is not None:
            print(report.summary())
        return report

    def imagenet_weights(self, weights="imagenet") -> str:
        """Path of an h5 file of ImageNet ResNet weights under this model's layer names
        (converted from keras.applications and cached); ``weights`` may be a local Keras
        weights file."""
        from .imagenet import imagenet_weights_path
        return imagenet_weights_path(self.config.BACKBONE, weights)


def _info_or_none(path: str) -> dict | None:
    try:
        return read_checkpoint_info(path)
    except WeightsError:
        return None  # damaged: neither judged nor deleted


def _listing(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _losses(logs: dict) -> dict[str, float]:
    """The finite loss values of Keras' epoch-end ``logs``."""
    out = {}
    for key, value in logs.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if "loss" in key and math.isfinite(value):
            out[key] = value
    return out
