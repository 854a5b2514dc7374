"""Multi-stage schedules, learning-rate warm-up, and resuming a schedule with init_with='last'."""
import os

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
