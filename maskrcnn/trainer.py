"""Trainer: ``fit`` with matterport's ``layers=`` presets, schedules of stages, the optimiser,
per-epoch checkpoints, TensorBoard, the divergence guard and the batch-norm statistics step.

    trainer = Trainer(network, config, checkpointer)
    trainer.train(train_set, val_set, learning_rate=0.001, epochs=40, layers="heads")
    trainer.train_schedule(train_set, val_set, [("heads", 40, lr), ("all", 80, lr / 10)])
"""
from __future__ import annotations

import math
import os
import re
import warnings
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from .budget import TrainingBudget, TrainingProgress, progress_for  # noqa: F401
from .data.pipeline import make_training_dataset
from .errors import (
    ConfigError,
    DatasetError,
    NonFiniteWeightsError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from .modeling.distribute import distribute_training_data, worker_lost_error
from .modeling.precise_bn import recompute_after_training

HEADS = r"(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)"
LAYER_PRESETS = {
    "heads": HEADS,
    "3+": r"(res3.*)|(bn3.*)|(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + HEADS,
    "4+": r"(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + HEADS,
    "5+": r"(res5.*)|(bn5.*)|" + HEADS,
    "all": r".*",
}


def layer_regex(layers: str) -> str:
    """A preset name (heads, 3+, 4+, 5+, all) or a regex -> the regex."""
    if layers in LAYER_PRESETS:
        return LAYER_PRESETS[layers]
    try:
        re.compile(layers)
    except re.error as err:
        raise ConfigError(f"layers={layers!r} is neither a preset {sorted(LAYER_PRESETS)} nor "
                          f"a valid regex ({err})") from None
    return layers


def set_trainable(leaf_layers, layers: str, train_bn: bool) -> list[str]:
    """Make the layers whose names fully match ``layers`` trainable, all others frozen.

    Batch-norm layers train only when ``train_bn`` is true; a frozen batch-norm layer uses
    its moving statistics (Keras 3 runs it in inference mode). Returns the trainable names.
    """
    regex = re.compile(layer_regex(layers))
    trainable = []
    for layer in leaf_layers:
        on = bool(regex.fullmatch(layer.name))
        if isinstance(layer, keras.layers.BatchNormalization):
            on = on and bool(train_bn)
        layer.trainable = on
        if on:
            trainable.append(layer.name)
    if not trainable:
        raise ConfigError(f"layers={layers!r} matches no trainable layer")
    return trainable


def make_optimizer(config, learning_rate: float) -> keras.optimizers.Optimizer:
    """``config.OPTIMIZER`` (SGD with momentum, as matterport trained, or AdamW) with
    gradient clipping by global norm and decoupled weight decay (not on batch-norm scales and
    offsets)."""
    common = dict(learning_rate=learning_rate, global_clipnorm=config.GRADIENT_CLIP_NORM or None)
    if config.OPTIMIZER == "AdamW":
        optimizer = keras.optimizers.AdamW(beta_1=config.LEARNING_MOMENTUM,
                                           weight_decay=config.WEIGHT_DECAY, **common)
    else:
        optimizer = keras.optimizers.SGD(momentum=config.LEARNING_MOMENTUM,
                                         weight_decay=config.WEIGHT_DECAY or None, **common)
    if config.WEIGHT_DECAY:
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta"])
    if config.MIXED_PRECISION == "float16":  # float16 gradients underflow without it
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class CheckpointCallback(keras.callbacks.Callback):
    """Writes ``save(epoch, logs)`` at the end of every epoch (epochs counted from 1)."""

    def __init__(self, save):
        super().__init__()
        self._save = save

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1, logs)


DEFAULT_LOSS_LIMIT = 1e4  # Mask R-CNN losses stay well under 100 unless training diverges


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training with TrainingDivergedError at the first batch whose loss (or any loss
    part) is NaN, infinite or above ``loss_limit``, and at an epoch end whose validation
    losses are. Put it before the checkpoint callback so that a diverged epoch writes
    nothing; ``last_checkpoint`` (updated by the caller) is named in the message."""

    def __init__(self, learning_rate: float, loss_limit: float | None = DEFAULT_LOSS_LIMIT,
                 last_checkpoint: str | None = None, steps_per_epoch: int | None = None):
        super().__init__()
        self.learning_rate = float(learning_rate)
        self.loss_limit = None if loss_limit is None else float(loss_limit)
        if self.loss_limit is not None and not self.loss_limit > 0:
            raise ConfigError(f"loss_limit must be > 0 (or None for no limit), got {loss_limit}")
        self.last_checkpoint = last_checkpoint
        self.steps_per_epoch = steps_per_epoch
        self.epoch, self.step, self.logs = 0, 0, {}  # where training is, its last losses

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.step = epoch + 1, 0

    def on_train_batch_end(self, batch, logs=None):
        steps = f" of {self.steps_per_epoch}" if self.steps_per_epoch else ""
        self.check(logs, f"epoch {self.epoch}, step {batch + 1}{steps}")
        self.step, self.logs = batch + 1, dict(logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.check(logs, f"the end of epoch {epoch + 1}")

    def check(self, logs, where: str) -> None:
        for key, value in (logs or {}).items():
            try:
                value = float(np.asarray(value))
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                raise self.diverged(f"{key} is {value} at {where}")
            if self.loss_limit is not None and "loss" in key and abs(value) > self.loss_limit:
                raise self.diverged(f"{key} is {value:.4g} at {where}, above the limit "
                                    f"{self.loss_limit:g}")

    def current_learning_rate(self) -> float:
        try:
            return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            return self.learning_rate

    def diverged(self, what: str) -> TrainingDivergedError:
        """The error to raise, saying where training diverged and what to do."""
        lr = self.current_learning_rate()
        kept = (f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint
                else "no checkpoint of this run was written before")
        return TrainingDivergedError(
            f"training diverged: {what} (learning rate {lr:g}). Training stopped and no "
            f"checkpoint with these weights was written; {kept}. Lower the learning rate "
            f"(e.g. to {lr / 10:g}), keep GRADIENT_CLIP_NORM set, check the data for broken "
            "boxes or masks (maskrcnn inspect), then load the last good checkpoint "
            "(init_with='last') and train again. The model in memory holds the diverged "
            "weights: reload before detecting.")


class StepLosses(keras.callbacks.Callback):
    """Writes every ``every``-th training step's own losses to TensorBoard (run
    ``train_steps``, tags ``step_<loss>``, x = global step counted from the first epoch of the
    run): Keras logs only running means over the epoch. A step's value is recovered from two
    consecutive running means: k * mean_k - (k - 1) * mean_(k-1)."""

    def __init__(self, log_dir: str, first_step: int = 0, every: int = 1):
        super().__init__()
        self.log_dir, self.step, self.every = log_dir, int(first_step), max(1, int(every))
        self._writer, self._means = None, {}

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "train_steps"))

    def on_epoch_begin(self, epoch, logs=None):
        self._means = {}

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        k = batch + 1
        values = {}
        for name, mean in (logs or {}).items():
            if "loss" not in name:
                continue
            mean = float(np.asarray(mean))
            values[name] = k * mean - (k - 1) * self._means.get(name, 0.0)
            self._means[name] = mean
        if self.step % self.every == 0 and self._writer is not None:
            with self._writer.as_default():
                for name, value in values.items():
                    tf.summary.scalar(f"step_{name}", value, step=self.step)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


class LearningRateWarmup(keras.callbacks.Callback):
    """Linear learning-rate warm-up over the first ``steps`` batches of training.

    The rate rises from ``start_factor * lr`` to the optimiser's ``lr`` (read when training
    starts), then stays there. Pass it in ``custom_callbacks``; counts batches across epochs.
    """

    def __init__(self, steps: int, start_factor: float = 0.01):
        super().__init__()
        if steps < 0 or not 0.0 <= start_factor <= 1.0:
            raise ConfigError(f"warm-up needs steps >= 0 and 0 <= start_factor <= 1, got "
                              f"steps={steps}, start_factor={start_factor}")
        self.steps, self.start_factor = int(steps), float(start_factor)
        self.seen = 0
        self.target = None

    def on_train_begin(self, logs=None):
        self.target = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def rate(self, step: int) -> float:
        """Learning rate for batch ``step`` (0-based)."""
        if step >= self.steps:
            return self.target
        fraction = (step + 1) / self.steps
        return self.target * (self.start_factor + (1.0 - self.start_factor) * fraction)

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen <= self.steps:
            self.model.optimizer.learning_rate.assign(self.rate(self.seen))
        self.seen += 1


class Stage(NamedTuple):
    """One step of a schedule: train ``layers`` until epoch ``epochs`` (counted from the start,
    as matterport's ``epochs=``) at ``learning_rate``."""
    layers: str
    epochs: int
    learning_rate: float


def as_stages(stages) -> list[Stage]:
    """Tuples ``(layers, epochs, learning_rate)`` or dicts with those keys -> checked Stages."""
    out = []
    for i, stage in enumerate(stages):
        if isinstance(stage, dict):
            stage = (stage["layers"], stage["epochs"], stage["learning_rate"])
        if len(stage) != 3:
            raise ConfigError(f"stage {i} is {stage!r}; each stage is (layers, epochs, "
                              "learning_rate), e.g. ('heads', 40, 0.001)")
        stage = Stage(stage[0], int(stage[1]), float(stage[2]))
        layer_regex(stage.layers)
        if stage.learning_rate <= 0:
            raise ConfigError(f"stage {i}: learning_rate must be > 0, got {stage.learning_rate}")
        if out and stage.epochs <= out[-1].epochs:
            raise ConfigError(f"stage {i} ends at epoch {stage.epochs}, not after the previous "
                              f"stage's {out[-1].epochs}: epochs count from the start of "
                              "training, as in matterport (heads to 40, then 4+ to 120)")
        out.append(stage)
    if not out:
        raise ConfigError("a schedule needs at least one stage")
    return out


def coco_schedule(learning_rate: float, scale: float = 1.0) -> list[Stage]:
    """matterport's COCO recipe: heads to 40 epochs, 4+ to 120, all to 160 at lr/10.
    ``scale`` multiplies the epoch counts (e.g. 0.25 for a quick run)."""
    epochs = [max(1, round(e * scale)) for e in (40, 120, 160)]
    epochs = [epochs[0], max(epochs[1], epochs[0] + 1), max(epochs[2], epochs[1] + 2)]
    return [Stage("heads", epochs[0], learning_rate), Stage("4+", epochs[1], learning_rate),
            Stage("all", epochs[2], learning_rate / 10)]


class Trainer:
    """Trains ``network`` (a MaskRCNNNetwork built under ``strategy``) for ``config``, writing
    checkpoints through ``checkpointer`` (whose ``epoch`` is the count that goes on)."""

    def __init__(self, network, config, checkpointer, strategy=None):
        self.network, self.config, self.checkpointer = network, config, checkpointer
        self.strategy = strategy or tf.distribute.get_strategy()

    def set_trainable(self, layers: str) -> list[str]:
        """Make the layers matching ``layers`` (a preset or regex) trainable, others frozen."""
        return set_trainable(self.network.leaf_layers(), layers, self.config.TRAIN_BN)

    def train(self, train_dataset, val_dataset, learning_rate: float, epochs: int,
              layers: str = "all", augmentation=None, custom_callbacks=None,
              verbose: int | str = "auto"):
        """Train until epoch ``epochs`` (counting on from the checkpointer's epoch), one
        checkpoint per epoch. ``layers``: heads, 3+, 4+, 5+, all, or a regex of layer names.
        ``verbose``: 0 shows nothing, anything else one progress line (a TrainingProgress,
        unless a callback such as a TrainingBudget that prints its lines shows its own).
        Returns the Keras History (None when there was nothing left to train)."""
        c, ckpt = self.config, self.checkpointer
        c.validate()
        check_datasets(c, train_dataset, val_dataset)
        ckpt.class_names = list(train_dataset.class_names)
        if epochs <= ckpt.epoch:
            warnings.warn(f"already at epoch {ckpt.epoch}; epochs={epochs} trains nothing",
                          stacklevel=2)
            return None
        ckpt.calibration = None  # the weights change: a calibration no longer describes them
        ckpt.layers = layers
        if ckpt.loaded_from is None and ckpt.epoch == 0 and layers in ("heads", "3+", "4+", "5+"):
            warnings.warn(f"layers={layers!r} on weights that were never loaded trains those "
                          "layers on a frozen, random backbone: load a starting point first "
                          "(model.init_weights('coco' or 'imagenet')) or train layers='all'",
                          stacklevel=3)
        if ckpt.log_dir is None:
            ckpt.set_log_dir()
        train_data = distribute_training_data(self.strategy, c, lambda **shard: (
            make_training_dataset(train_dataset, c, True, augmentation, **shard)))
        val_data = (distribute_training_data(self.strategy, c, lambda **shard: (
            make_training_dataset(val_dataset, c, True, **shard)))
            if val_dataset is not None and c.VALIDATION_STEPS else None)
        self.set_trainable(layers)
        with self.strategy.scope():
            self.network.compile(optimizer=make_optimizer(c, learning_rate), jit_compile=False)
        previous = ckpt.checkpoint_path.format(epoch=ckpt.epoch) if ckpt.epoch else None
        guard = DivergenceGuard(learning_rate, c.LOSS_LIMIT,
                                previous if previous and os.path.isfile(previous) else None,
                                c.STEPS_PER_EPOCH)

        def save_checkpoint(epoch, logs=None):  # never writes non-finite weights
            path = ckpt.checkpoint_path.format(epoch=epoch)
            try:
                ckpt.save(path, epoch=epoch, logs=logs)
            except NonFiniteWeightsError as err:
                raise guard.diverged(f"the weights after epoch {epoch} are not finite "
                                     f"({err})") from None
            guard.last_checkpoint = path
            ckpt.prune()  # Config.CHECKPOINTS_KEEP

        callbacks = [guard,  # first: a diverged epoch must stop before its checkpoint
                     keras.callbacks.TensorBoard(ckpt.log_dir, write_graph=False),
                     StepLosses(ckpt.log_dir, ckpt.epoch * c.STEPS_PER_EPOCH,
                                every=max(1, c.STEPS_PER_EPOCH // 200)),
                     CheckpointCallback(save_checkpoint)]
        callbacks += list(custom_callbacks or [])
        progress = (progress_for(callbacks, (epochs - ckpt.epoch) * c.STEPS_PER_EPOCH)
                    if verbose else None)
        if progress is not None:
            callbacks.append(progress)
        try:  # Keras' own progress (verbose) stays off: TrainingProgress is the one line
            history = self.network.fit(
                train_data, initial_epoch=ckpt.epoch, epochs=epochs,
                steps_per_epoch=c.STEPS_PER_EPOCH, validation_data=val_data,
                validation_steps=c.VALIDATION_STEPS if val_data is not None else None,
                callbacks=callbacks, verbose=0, shuffle=False)
        except tf.errors.OpError as err:
            lost = worker_lost_error(err, self.strategy, guard.epoch, guard.last_checkpoint)
            raise (lost or dataset_error_from(err)) from None
        except KeyboardInterrupt:
            raise self.interrupted(guard, save_checkpoint) from None
        finally:
            if progress is not None:
                progress.close()
        # The epochs that ran (a budget or a callback may have stopped before ``epochs``).
        ran = [int(e) + 1 for e in (getattr(history, "epoch", None) or [])]
        # Trained batch norms get the statistics of the final weights (PreciseBN), and the
        # run's last checkpoint is rewritten with them (Config.BN_RECOMPUTE_IMAGES).
        recompute_after_training(
            self.network, train_dataset,
            (lambda: ckpt.save(ckpt.checkpoint_path.format(epoch=ran[-1]), ran[-1]))
            if ran else None, verbose)
        ckpt.epoch = max([ckpt.epoch] + ran)
        return history

    def interrupted(self, guard, save_checkpoint) -> TrainingInterrupted:
        """Ctrl-C during ``fit``: the weights of the step reached, saved as the checkpoint of
        the epoch under way (atomically), and the error that names it."""
        if not guard.epoch or not guard.step:  # no step of this call finished
            return TrainingInterrupted("training interrupted before its first step: nothing "
                                       "new to save", guard.last_checkpoint)
        save_checkpoint(guard.epoch, guard.logs)
        self.checkpointer.epoch = guard.epoch
        return TrainingInterrupted(f"training interrupted at epoch {guard.epoch}, step "
                                   f"{guard.step}: saved {guard.last_checkpoint}",
                                   guard.last_checkpoint)

    def train_schedule(self, train_dataset, val_dataset, stages, augmentation=None,
                       warmup_steps: int = 0, custom_callbacks=None, verbose="auto") -> list:
        """Train in stages ``[(layers, until_epoch, learning_rate), ...]``, e.g.
        ``[("heads", 40, lr), ("4+", 120, lr), ("all", 160, lr / 10)]``. Stages already done
        (the checkpointer's epoch, e.g. after ``init_with='last'``) are skipped, so the same
        call resumes an interrupted schedule. ``warmup_steps`` > 0 warms the learning rate up
        over the first batches of the first stage that runs. Returns each stage's History."""
        histories, first = [], True
        stages = as_stages(stages)
        steps = (stages[-1].epochs - self.checkpointer.epoch) * self.config.STEPS_PER_EPOCH
        progress = (progress_for(list(custom_callbacks or []), steps, close_at_train_end=False)
                    if verbose else None)  # one line over all the stages that run
        try:
            for stage in stages:
                if stage.epochs <= self.checkpointer.epoch:
                    continue
                callbacks = list(custom_callbacks or [])
                if first and warmup_steps:
                    callbacks.append(LearningRateWarmup(warmup_steps))
                if progress is not None:
                    callbacks.append(progress)
                first = False
                histories.append(self.train(train_dataset, val_dataset, stage.learning_rate,
                                            stage.epochs, stage.layers, augmentation,
                                            callbacks, verbose))
        finally:
            if progress is not None:
                progress.close()
        return histories


def check_datasets(config, train_dataset, val_dataset) -> None:
    """Both datasets must have NUM_CLASSES classes and the same class list."""
    for name, ds in (("train", train_dataset), ("validation", val_dataset)):
        if ds is not None and getattr(ds, "num_classes", config.NUM_CLASSES) != config.NUM_CLASSES:
            raise ConfigError(f"config NUM_CLASSES is {config.NUM_CLASSES} but the {name} "
                              f"dataset has {ds.num_classes} classes (background included): "
                              f"set NUM_CLASSES = {ds.num_classes}")
    val_names = getattr(val_dataset, "class_names", None)
    if val_names is not None and list(val_names) != list(train_dataset.class_names):
        raise DatasetError(
            f"the train and validation datasets have different class lists: train "
            f"{list(train_dataset.class_names)}, validation {list(val_names)}; a class id "
            "must mean the same class in both: add the classes in the same order to both "
            "datasets (or build both from one annotation file)")


def dataset_error_from(err: Exception) -> Exception:
    """tf.data wraps exceptions raised in the input pipeline; unwrap ours."""
    message = str(getattr(err, "message", err))
    match = re.search(r"DatasetError: (.*)", message)
    if match:
        return DatasetError(match.group(1).strip())
    return err
