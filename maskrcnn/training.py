"""Training pieces: which layers train (matterport's ``layers=`` presets), the optimiser, the
per-epoch checkpoint callback and the divergence guard."""
from __future__ import annotations

import math
import re
from typing import NamedTuple

import keras
import numpy as np

from .errors import ConfigError, TrainingDivergedError

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
    """SGD with momentum, gradient clipping by global norm and weight decay (not on batch-norm
    scales and offsets), as matterport trained."""
    optimizer = keras.optimizers.SGD(
        learning_rate=learning_rate, momentum=config.LEARNING_MOMENTUM,
        global_clipnorm=config.GRADIENT_CLIP_NORM or None,
        weight_decay=config.WEIGHT_DECAY or None)
    if config.WEIGHT_DECAY:
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta"])
    if config.MIXED_PRECISION == "float16":  # float16 gradients underflow without it
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class CheckpointCallback(keras.callbacks.Callback):
    """Writes ``save(epoch)`` at the end of every epoch (epochs counted from 1)."""

    def __init__(self, save):
        super().__init__()
        self._save = save

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1)


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
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        steps = f" of {self.steps_per_epoch}" if self.steps_per_epoch else ""
        self.check(logs, f"epoch {self.epoch}, step {batch + 1}{steps}")

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


def train_schedule(model, train_dataset, val_dataset, stages, augmentation=None,
                   warmup_steps: int = 0, custom_callbacks=None, verbose="auto") -> list:
    """Run ``stages`` in turn with ``model.train``; stages already done (``model.epoch``, e.g.
    after ``init_with='last'``) are skipped, so the same call resumes an interrupted schedule.

    ``warmup_steps`` > 0 warms the learning rate up over the first batches of the first stage
    that runs. Returns the Keras History of each stage that ran.
    """
    histories = []
    first = True
    for stage in as_stages(stages):
        if stage.epochs <= model.epoch:
            continue
        callbacks = list(custom_callbacks or [])
        if first and warmup_steps:
            callbacks.append(LearningRateWarmup(warmup_steps))
        first = False
        histories.append(model.train(train_dataset, val_dataset,
                                     learning_rate=stage.learning_rate, epochs=stage.epochs,
                                     layers=stage.layers, augmentation=augmentation,
                                     custom_callbacks=callbacks, verbose=verbose))
    return histories
