"""Config.CHECKPOINTS_KEEP: "all" keeps one checkpoint per epoch (matterport), "last_and_best"
keeps the newest and the one with the lowest validation loss, deleting the others as training
goes; find_last and resuming work on what is left."""
import os

import numpy as np
import pytest

from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.info import read_checkpoint_info
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import ConfigError


def _epochs(folder):
    return sorted(int(name[-7:-3]) for name in os.listdir(folder) if name.endswith(".h5"))


def test_prune_keeps_the_last_and_the_best(tiny_config, tmp_path):
    tiny_config.CHECKPOINTS_KEEP = "last_and_best"
    ckpt = MaskRCNN("training", tiny_config, str(tmp_path)).checkpointer
    ckpt.set_log_dir()
    os.makedirs(ckpt.log_dir)
    foreign = ckpt.checkpoint_path.format(epoch=0)  # saved no loss: never deleted
    ckpt.save(foreign, epoch=0)
    kept = []
    for epoch, val_loss in enumerate([3.0, 1.0, 2.0, 4.0], start=1):
        ckpt.save(ckpt.checkpoint_path.format(epoch=epoch), epoch,
                  logs={"loss": 9.0 - epoch, "val_loss": val_loss, "lr": 0.1})
        ckpt.prune()
        kept.append(_epochs(ckpt.log_dir))
    assert kept == [[0, 1], [0, 2], [0, 2, 3], [0, 2, 4]]
    assert ckpt.find_best() == ckpt.checkpoint_path.format(epoch=2)
    assert ckpt.find_last() == ckpt.checkpoint_path.format(epoch=4)
    info = read_checkpoint_info(ckpt.checkpoint_path.format(epoch=4))
    assert info["losses"] == {"loss": 5.0, "val_loss": 4.0}
    ckpt.save(ckpt.checkpoint_path.format(epoch=4), 4)  # a rewrite keeps the epoch's losses
    assert read_checkpoint_info(ckpt.find_last())["losses"] == {"loss": 5.0, "val_loss": 4.0}
    ckpt.config.CHECKPOINTS_KEEP = "all"
    ckpt.save(ckpt.checkpoint_path.format(epoch=5), 5, logs={"loss": 1.0, "val_loss": 5.0})
    assert ckpt.prune() == [] and _epochs(ckpt.log_dir) == [0, 2, 4, 5]


def test_unknown_retention_is_a_config_error(tiny_config):
    tiny_config.CHECKPOINTS_KEEP = "best"
    with pytest.raises(ConfigError, match="CHECKPOINTS_KEEP"):
        tiny_config.validate()


@pytest.mark.slow
def test_three_epochs_leave_the_last_and_the_best_and_resume(tiny_config, tmp_path):
    """A tiny run of 3 epochs with validation: the files left are epoch 3 and the epoch of
    the lowest val_loss in the history; init_with="last" resumes at epoch 3 and goes on."""
    tiny_config.CHECKPOINTS_KEEP = "last_and_best"
    tiny_config.VALIDATION_STEPS = 1
    train, val = ShapesDataset(6, 64, 64, seed=1), ShapesDataset(2, 64, 64, seed=2)
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    history = model.train(train, val, 0.01, epochs=3, layers="all", verbose=0)
    val_losses = history.history["val_loss"]
    best = int(np.argmin(val_losses)) + 1
    assert _epochs(model.log_dir) == sorted({best, 3})
    assert model.find_best() == model.checkpointer.checkpoint_path.format(epoch=best)
    saved = read_checkpoint_info(model.find_last())["losses"]
    assert saved["val_loss"] == pytest.approx(val_losses[-1])

    resumed = MaskRCNN("training", tiny_config, str(tmp_path))
    resumed.init_weights("last")
    assert resumed.epoch == 3
    resumed.train(train, val, 0.01, epochs=4, layers="all", verbose=0)
    assert resumed.log_dir == model.log_dir
    left = _epochs(model.log_dir)
    assert {3, 4} <= set(left) and len(left) <= 3  # 3: where this training started
    assert resumed.find_last().endswith("mask_rcnn_tiny_0004.h5")


def _save_epochs(ckpt, losses):
    for epoch, logs in enumerate(losses, start=1):
        ckpt.save(ckpt.checkpoint_path.format(epoch=epoch), epoch, logs=logs)
        ckpt.prune()


def test_without_validation_the_newest_are_kept_never_ranked_by_training_loss(tiny_config,
                                                                              tmp_path):
    assert type(tiny_config).__mro__[-2].CHECKPOINTS_KEEP == 2  # Config's default
    ckpt = MaskRCNN("training", tiny_config, str(tmp_path)).checkpointer
    ckpt.set_log_dir()
    _save_epochs(ckpt, [{"loss": 0.5}, {"loss": 3.0}, {"loss": 2.0}, {"loss": 1.0}])
    assert _epochs(ckpt.log_dir) == [3, 4]  # epoch 1, lowest training loss, is not "best"
    assert ckpt.find_best() is None


def test_pruning_keeps_what_was_evaluated_or_started_from(tiny_config, tmp_path):
    tiny_config.CHECKPOINTS_KEEP = 1
    ckpt = MaskRCNN("training", tiny_config, str(tmp_path)).checkpointer
    ckpt.set_log_dir()
    _save_epochs(ckpt, [{"loss": 1.0, "val_loss": 5.0}, {"loss": 1.0, "val_loss": 4.0}])
    os.makedirs(ckpt.checkpoint_path.format(epoch=2)[:-3] + "_evaluation_val")  # evaluated
    _save_epochs(ckpt, [{"loss": 1.0, "val_loss": 5.0}, {"loss": 1.0, "val_loss": 4.0},
                        {"loss": 1.0, "val_loss": 3.0}, {"loss": 1.0, "val_loss": 6.0}])
    assert _epochs(ckpt.log_dir) == [2, 3, 4]  # 2 evaluated, 3 the best, 4 the newest

    child = MaskRCNN("training", tiny_config, str(tmp_path)).checkpointer
    child.load(ckpt.checkpoint_path.format(epoch=4))  # another run starts from epoch 4
    child.log_dir = str(tmp_path / "tiny20990101T000000")
    child.save(os.path.join(child.log_dir, "mask_rcnn_tiny_0005.h5"), 5, logs={"loss": 1.0})
    for epoch in (5, 6):
        ckpt.save(ckpt.checkpoint_path.format(epoch=epoch), epoch, logs={"val_loss": 9.0})
        ckpt.prune()
    assert _epochs(ckpt.log_dir) == [2, 3, 4, 6]  # 4: the child run's starting point
