"""Multi-stage schedules, learning-rate warm-up, resuming a schedule with init_with='last',
and the one progress line that a schedule shows."""
import os
import re

import keras
import numpy as np
import pytest
from conftest import TinyConfig

from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.info import read_checkpoint_info
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import ConfigError
from maskrcnn.trainer import LearningRateWarmup, Stage, as_stages, coco_schedule


def test_stages_are_checked():
    assert as_stages([("heads", 2, 0.01), {"layers": "all", "epochs": 3,
                                           "learning_rate": 1e-3}]) == [
        Stage("heads", 2, 0.01), Stage("all", 3, 0.001)]
    with pytest.raises(ConfigError, match="not after the previous"):
        as_stages([("heads", 4, 0.01), ("all", 4, 0.001)])
    with pytest.raises(ConfigError, match="each stage is"):
        as_stages([("heads", 4)])
    with pytest.raises(ConfigError, match="neither a preset"):
        as_stages([("([", 4, 0.01)])
    with pytest.raises(ConfigError, match="learning_rate"):
        as_stages([("heads", 4, 0.0)])
    assert coco_schedule(0.02) == [Stage("heads", 40, 0.02), Stage("4+", 120, 0.02),
                                   Stage("all", 160, 0.002)]


def test_warmup_rates():
    warmup = LearningRateWarmup(4, start_factor=0.0)
    warmup.target = 0.1
    assert [round(warmup.rate(s), 6) for s in range(6)] == [0.025, 0.05, 0.075, 0.1, 0.1, 0.1]
    with pytest.raises(ConfigError):
        LearningRateWarmup(3, start_factor=2.0)


class RecordRate(keras.callbacks.Callback):
    """Learning rate used by each batch, and the trainable layers of each stage."""

    def __init__(self):
        super().__init__()
        self.rates, self.trainable = [], []

    def on_train_begin(self, logs=None):
        self.trainable.append({w.path.split("/")[0] for w in self.model.trainable_weights})

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def test_schedule_stops_and_resumes_with_init_with_last(tmp_path):
    config = TinyConfig()
    config.STEPS_PER_EPOCH, config.VALIDATION_STEPS = 2, 0
    data = ShapesDataset(4, 64, 64, seed=4)
    stages = [("heads", 1, 0.02), ("all", 2, 0.004)]

    first = MaskRCNN("training", config, str(tmp_path))
    first.train_schedule(data, None, stages[:1], verbose=0)  # "stopped" after epoch 1
    assert first.epoch == 1

    resumed = MaskRCNN("training", config, str(tmp_path))
    resumed.init_weights("last", verbose=0)
    assert resumed.epoch == 1 and resumed.log_dir == first.log_dir
    recorder = RecordRate()
    histories = resumed.train_schedule(data, None, stages, warmup_steps=2,
                                       custom_callbacks=[recorder], verbose=0)
    assert len(histories) == 1  # the heads stage was done already
    assert resumed.epoch == 2
    last = resumed.find_last()
    assert last == os.path.join(first.log_dir, "mask_rcnn_tiny_0002.h5")
    assert read_checkpoint_info(last)["epoch"] == 2
    np.testing.assert_allclose(recorder.rates, [0.004 * (0.01 + 0.99 * 0.5), 0.004], rtol=1e-6)
    assert any(name.startswith("res2") for name in recorder.trainable[0])  # "all" trained
    assert resumed.train_schedule(data, None, stages, verbose=0) == []  # nothing left


def test_a_schedule_shows_one_progress_line_and_no_keras_epochs(tmp_path, capfd):
    """Keras' "Epoch 1/1" lines (whose count was the stage's, not the schedule's) never show:
    one line counts the steps of all the stages, with the time left and the loss."""
    config = TinyConfig()
    config.STEPS_PER_EPOCH, config.VALIDATION_STEPS, config.BN_RECOMPUTE_IMAGES = 2, 1, 0
    data = ShapesDataset(4, 64, 64, seed=4)
    model = MaskRCNN("training", config, str(tmp_path))
    model.train_schedule(data, data, [("all", 1, 0.01), ("all", 2, 0.001)], verbose=1)
    out, err = capfd.readouterr()
    assert not re.search(r"Epoch \d+/\d+", out + err), out + err
    lines = [line for line in err.replace("\r", "\n").splitlines() if "training:" in line]
    assert lines and re.search(r"training: 100%.*\b4/4 \[.*<00:00.*loss=.*val_loss=", lines[-1])
    assert not any(re.search(r"\b\d/2 \[", line) for line in lines)  # not per stage
    capfd.readouterr()
    model.train(data, None, 0.001, 3, "all", verbose=0)  # verbose=0: nothing at all
    out, err = capfd.readouterr()
    assert "training:" not in err and "Epoch" not in out + err


def test_the_progress_line_counts_the_steps_a_budget_allows(capsys):
    """Under a TrainingBudget that prints no lines of its own (train.ipynb's, whose stage
    runs "until epoch 10**6") the line's total is the budget's steps, not the epochs'; one
    that prints its own lines gets no second line."""
    from maskrcnn.trainer import TrainingBudget, TrainingProgress, progress_for
    assert progress_for([TrainingBudget(max_steps=5, report_seconds=10)], 10 ** 8) is None
    assert progress_for([TrainingProgress(3)], 10 ** 8) is None
    budget = TrainingBudget(max_steps=5)
    progress = progress_for([budget], 10 ** 8)
    assert progress.budget is budget
    progress.on_train_begin()
    for step in range(3):
        budget.steps += 1  # as the budget's own callback does before this one
        if step == 2:
            budget.stopped_by = "the time"
        progress.on_train_batch_end(step, {"loss": 2.0 - step})
    assert (progress.bar.n, progress.bar.total) == (3, 3)  # it stopped at 3 of the 5
    progress.on_train_end()
    err = capsys.readouterr().err
    assert re.search(r"training: 100%.*\b3/3 \[.*loss=0\.000", err), err
