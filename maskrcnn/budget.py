"""TrainingBudget: fit a run into a number of steps and/or minutes of wall time, with what
follows training (validation, checkpoint writes, the batch-norm pass, calibration) reserved out
of the time, and progress that says where the run stands in its budget. TrainingProgress: the
one progress line of a training without a budget's own lines (steps, time left, loss).

    budget = TrainingBudget(max_seconds=180, started=command_start,
                            reserve=lambda step_s: finishing_seconds(config, step_s, ...))
"""
from __future__ import annotations

import math
import time

import keras
import numpy as np

from .errors import ConfigError
from .progress import progress_bar

# Measured on kudzu (ResNet-18, 2 shared CPU cores): graphs built in 12-21 s, the batch-norm
# pass 1.3 s an image, calibration 1.9 s an image, a checkpoint write 0.3 s.
#: Seconds to build a graph once (the batch-norm pass's forward, calibration's detection), CPU.
GRAPH_SECONDS = 20.0
#: A forward pass costs this share of a training step (batch-norm pass, validation).
FORWARD_SHARE = 0.7
#: A detection of one image (calibration) costs this many training steps of one image.
DETECTION_STEPS = 1.5
#: Seconds assumed for a checkpoint write before the first one was timed.
SAVE_SECONDS = 5.0
#: Seconds for the process to end after its last line (TensorFlow's teardown), and slack.
EXIT_SECONDS = 5.0
#: Shares of the batch-norm and calibration images tried, largest first, to fit a budget.
SHARES = (1.0, 0.5, 0.25, 0.125, 0.0)


def finishing_seconds(config, step_seconds: float, bn_images: int = 0,
                      calibration_images: int = 0, validating: bool = False,
                      save_seconds: float | None = None) -> float:
    """Seconds the end of a run takes after its last training step, estimated from the
    seconds of one training step (``config.BATCH_SIZE`` images): the epoch's validation
    steps, three checkpoint writes (the epoch's, after the batch-norm pass, after
    calibration), the batch-norm pass over ``bn_images`` and calibration on
    ``calibration_images`` (each with its graph to build; 0: not run), the process's end."""
    per_image = step_seconds / max(1, config.BATCH_SIZE)
    seconds = EXIT_SECONDS + 3 * (save_seconds or SAVE_SECONDS)
    if validating and config.VALIDATION_STEPS:
        seconds += config.VALIDATION_STEPS * step_seconds * FORWARD_SHARE
    if bn_images:
        seconds += GRAPH_SECONDS + bn_images * per_image * FORWARD_SHARE
    if calibration_images:
        seconds += GRAPH_SECONDS + calibration_images * per_image * DETECTION_STEPS
    return seconds


def fit_finishing(seconds: float, config, step_seconds: float, bn_images: int,
                  calibration_images: int, save_seconds: float | None = None) -> tuple[int, int]:
    """The batch-norm and calibration image counts, the same share of each (:data:`SHARES`),
    whose :func:`finishing_seconds` fit in ``seconds``; (0, 0) when none does."""
    for share in SHARES:
        plan = (math.ceil(bn_images * share), math.ceil(calibration_images * share))
        if finishing_seconds(config, step_seconds, *plan, save_seconds=save_seconds) <= seconds:
            return plan
    return 0, 0


class TrainingBudget(keras.callbacks.Callback):
    """Fits a run into ``max_steps`` training steps (counted from where this training starts)
    and/or ``max_seconds`` of wall time from ``started`` (a ``time.monotonic()`` value;
    default: when training starts). The learning rate warms up linearly over the first
    ``warmup`` of the budget (from 1 % of the rate the optimiser starts with), drops by
    ``decay`` at ``decay_at`` of it, and training stops before the next step plus
    ``reserve(step_seconds)`` (seconds for what follows training) would overrun it. The epoch
    it stops in ends there, so its checkpoint is written as at any epoch end; then
    ``plan(seconds_left, step_seconds)`` may cut what follows to the time left. With
    ``report_seconds``, prints a progress line that often (steps done of the budget, time
    left, loss). Progress is the larger of the step and the time fraction used."""

    def __init__(self, max_steps: int | None = None, max_seconds: float | None = None,
                 warmup: float = 0.05, decay_at: float = 0.8, decay: float = 0.1,
                 reserve=None, started: float | None = None,
                 report_seconds: float | None = None, plan=None):
        super().__init__()
        if not max_steps and not max_seconds:
            raise ConfigError("a training budget needs max_steps or max_seconds")
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.warmup, self.decay_at, self.decay = warmup, decay_at, decay
        self.reserve, self.started, self.report_seconds = reserve, started, report_seconds
        self.plan = plan
        self.steps, self.start, self.base, self.train_begin = 0, None, None, None
        self.first_step_end, self.last_report, self.stopped_by = None, None, None

    def elapsed(self) -> float:
        """Seconds of the budget used."""
        return time.monotonic() - self.start if self.start is not None else 0.0

    def step_seconds(self) -> float:
        """Seconds a training step takes (the first one, which builds the graph, left out
        once there are others)."""
        if self.steps >= 2 and self.first_step_end is not None:
            return (time.monotonic() - self.first_step_end) / (self.steps - 1)
        if self.first_step_end is not None:
            return self.first_step_end - self.train_begin
        return 0.0

    def reserved(self) -> float:
        """Seconds kept for what follows training, once a step after the first (which builds
        the graph) says how long steps take."""
        return (float(self.reserve(self.step_seconds())) if self.reserve and self.steps >= 2
                else 0.0)

    def progress(self) -> float:
        """The share of the budget used, 0..1."""
        used = [self.steps / self.max_steps] if self.max_steps else []
        if self.max_seconds and self.start is not None:
            used.append(self.elapsed() / max(1e-9, self.max_seconds - self.reserved()))
        return min(1.0, max(used or [0.0]))

    def factor(self, progress: float) -> float:
        """Learning-rate multiplier at ``progress``: warm-up, plateau, then decay."""
        warm = 0.01 + 0.99 * min(1.0, progress / self.warmup) if self.warmup > 0 else 1.0
        return warm * (self.decay if progress >= self.decay_at else 1.0)

    def on_train_begin(self, logs=None):
        self.train_begin = time.monotonic()
        self.start = self.started if self.started is not None else self.train_begin
        self.base = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(self.base * self.factor(self.progress()))

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == 1:
            self.first_step_end = time.monotonic()
        if self.max_steps and self.steps >= self.max_steps:
            self.stopped_by = f"{self.max_steps} steps"
        elif self.max_seconds and (self.elapsed() + self.step_seconds() + self.reserved()
                                   > self.max_seconds):
            self.stopped_by = f"{self.max_seconds / 60:g} minutes"
        if self.stopped_by:
            self.model.stop_training = True
        if self.report_seconds is not None and (
                self.stopped_by or self.last_report is None
                or time.monotonic() - self.last_report >= self.report_seconds):
            self.last_report = time.monotonic()
            print(self.describe(logs), flush=True)

    def on_train_end(self, logs=None):
        if self.plan is not None and self.max_seconds and self.steps:
            self.plan(self.max_seconds - self.elapsed(), self.step_seconds())

    def planned_steps(self) -> int | None:
        """Steps the budget allows: ``max_steps``, or those the time left allows."""
        if self.max_steps:
            return self.max_steps
        if not self.steps:
            return None
        left = self.max_seconds - self.elapsed() - self.reserved()
        return self.steps + max(0, int(left / max(1e-9, self.step_seconds())))

    def describe(self, logs=None) -> str:
        """One progress line: steps done of the budget, time left, loss."""
        planned = self.planned_steps()
        parts = [f"step {self.steps}" + (f"/{planned}" if planned else "")]
        if self.max_seconds:
            left = max(0.0, self.max_seconds - self.elapsed())
            parts.append(f"{int(left // 60)}:{int(left % 60):02d} of the budget left "
                         f"({self.reserved():.0f} s kept for checkpoints and calibration)")
        if logs and "loss" in logs:
            parts.append(f"loss {float(logs['loss']):.3f}")
        if self.stopped_by:
            parts.append(f"stopped: budget of {self.stopped_by} reached")
        return " · ".join(parts)


def command_budget(model, train_set, val_set=None, minutes: float | None = None,
                   steps: int | None = None, started: float | None = None,
                   report_seconds: float | None = 10) -> TrainingBudget:
    """The TrainingBudget of ``maskrcnn train --steps/--budget-minutes`` (and of
    train.ipynb's ``BUDGET_MINUTES``) for ``model`` (mode "training"): what follows training
    (validation, checkpoints, the batch-norm pass, calibration on ``val_set`` or else
    ``train_set``) is reserved out of the time, and cut to the time left when training stops
    (said in one line); a progress line every ``report_seconds``."""
    config = model.config
    train_images = len(train_set.image_ids)
    bn_images = min(config.BN_RECOMPUTE_IMAGES, train_images) if config.TRAIN_BN else 0
    calibration_images = (min(model.calibration_images, len((val_set or train_set).image_ids))
                          if config.CALIBRATE_THRESHOLD else 0)

    def reserve(step_seconds: float) -> float:
        return finishing_seconds(config, step_seconds, bn_images, calibration_images,
                                 val_set is not None, model.checkpointer.save_seconds)

    def plan(seconds_left: float, step_seconds: float) -> None:
        bn, calibration = fit_finishing(seconds_left, config, step_seconds, bn_images,
                                        calibration_images, model.checkpointer.save_seconds)
        if (bn, calibration) != (bn_images, calibration_images):
            print(f"budget: {seconds_left:.0f} s left: batch-norm pass on {bn} of {bn_images} "
                  f"images, calibration on {calibration} of {calibration_images}", flush=True)
            config.BN_RECOMPUTE_IMAGES = bn if bn else 0
            model.calibration_images = calibration
    return TrainingBudget(max_steps=steps, max_seconds=minutes * 60 if minutes else None,
                          reserve=reserve, started=started, report_seconds=report_seconds,
                          plan=plan)


class TrainingProgress(keras.callbacks.Callback):
    """The one progress line of a training: steps done of ``total_steps``, time left and the
    running loss (with the validation loss once an epoch has it), over all epochs and, passed
    to every stage of a schedule, over all stages. ``fit`` runs with ``verbose=0``, so Keras'
    own "Epoch 1/6" lines never show. With a ``budget`` (a TrainingBudget that prints no
    lines of its own) the total is the steps the budget allows, as it estimates them.
    ``close_at_train_end=False`` leaves the line open across ``fit`` calls until
    :meth:`close`."""

    def __init__(self, total_steps: int, close_at_train_end: bool = True, budget=None):
        super().__init__()
        self.total, self.close_at_train_end = max(0, int(total_steps)), close_at_train_end
        self.budget, self.bar, self.postfix = budget, None, {}

    def on_train_begin(self, logs=None):
        if self.bar is None:
            self.bar = progress_bar(total=self.total, desc="training", unit="step",
                                    mininterval=1.0)

    def on_train_batch_end(self, batch, logs=None):
        if logs and "loss" in logs:
            self.postfix["loss"] = f"{float(np.asarray(logs['loss'])):.3f}"
        if self.bar is None:
            return
        planned = self.budget.planned_steps() if self.budget is not None else None
        if planned:  # the steps the budget leaves after this one, once it can tell
            left = 0 if self.budget.stopped_by else max(0, planned - self.budget.steps)
            self.bar.total = self.bar.n + 1 + left
        self.bar.set_postfix(self.postfix, refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if logs and "val_loss" in logs and self.bar is not None:
            self.postfix["val_loss"] = f"{float(np.asarray(logs['val_loss'])):.3f}"
            self.bar.set_postfix(self.postfix)

    def on_train_end(self, logs=None):
        if self.close_at_train_end:
            self.close()

    def close(self) -> None:
        """End the line (it stays shown at its last state)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_for(callbacks, total_steps: int, close_at_train_end: bool = True):
    """The TrainingProgress to add to ``callbacks``, None where one of them already shows the
    training's progress (a TrainingProgress, a TrainingBudget that prints its lines)."""
    budgets = [cb for cb in callbacks if isinstance(cb, TrainingBudget)]
    if any(isinstance(cb, TrainingProgress) for cb in callbacks) or any(
            b.report_seconds is not None for b in budgets):
        return None
    return TrainingProgress(total_steps, close_at_train_end, budgets[0] if budgets else None)
