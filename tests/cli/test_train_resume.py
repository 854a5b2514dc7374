"""``maskrcnn train --weights CKPT|last``: the checkpoint is the starting point (config,
classes, layers); Ctrl-C saves the step reached and says how to resume."""
import argparse
import os
import re
from types import SimpleNamespace

from maskrcnn.checkpoint.h5 import HEAD_LAYERS
from maskrcnn.checkpoint.info import read_checkpoint_info
from maskrcnn.cli import main


def test_a_checkpoint_brings_its_config_classes_and_layers(trained_tiny, capsys):
    from maskrcnn.cli.train import config_from_checkpoint_args, starting_checkpoint
    model, path = trained_tiny
    assert read_checkpoint_info(path)["layers"] == "all"  # trained from scratch, all layers
    args = argparse.Namespace(weights="last", model_dir=model.model_dir, name=None,
                              config=None, set=["LEARNING_RATE=0.002"], lr=None)
    assert starting_checkpoint(args) == path
    same = SimpleNamespace(class_names=model.class_names, num_classes=len(model.class_names))
    config, exclude = config_from_checkpoint_args(args, path, same)
    assert config.BACKBONE == model.config.BACKBONE and config.IMAGE_MAX_DIM == 64
    assert config.LEARNING_RATE == 0.002 and exclude == []  # --set wins, nothing else changes
    assert "changed: LEARNING_RATE=0.002" in capsys.readouterr().out

    other = SimpleNamespace(class_names=["BG", "leaf"], num_classes=2)
    args.set = None
    config, exclude = config_from_checkpoint_args(args, path, other)
    assert config.NUM_CLASSES == 2 and exclude == list(HEAD_LAYERS)
    assert config.BACKBONE == model.config.BACKBONE
    out = capsys.readouterr().out
    assert "['leaf']" in out and "start anew" in out and "NUM_CLASSES=2" in out


def test_ctrl_c_saves_the_step_reached_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    from conftest import tiny_config_file

    from maskrcnn.trainer import StepLosses
    config = tiny_config_file(tmp_path / "tiny.json", STEPS_PER_EPOCH=3, BN_RECOMPUTE_IMAGES=0)
    original, calls = StepLosses.on_train_batch_end, []

    def interrupt(self, batch, logs=None):
        original(self, batch, logs)
        calls.append(batch)
        if len(calls) == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(StepLosses, "on_train_batch_end", interrupt)
    logs = tmp_path / "logs"
    argv = ["train", "--dataset", "4x64", "--format", "shapes", "--config", config,
            "--steps", "6", "--no-augment", "--model-dir", str(logs),
            "--keep-checkpoints", "1"]
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "interrupted at epoch 1, step 2" in lines[0]
    assert lines[0].endswith("--keep-checkpoints 1 --weights last")
    saved = re.search(r"saved (\S+);", lines[0]).group(1)
    assert os.path.isfile(saved) and read_checkpoint_info(saved)["epoch"] == 1
    assert not [name for name in os.listdir(os.path.dirname(saved)) if ".partial" in name]
    assert "checkpoints: keeping the newest and the best" not in captured.out  # no validation
    assert "checkpoints: keeping the newest (no validation" in captured.out
    from maskrcnn.cli.train import starting_checkpoint
    resume = argparse.Namespace(weights="last", model_dir=str(logs), name=None)
    assert starting_checkpoint(resume) == saved


def test_a_full_disk_while_training_is_one_line_and_leaves_nothing_partial(tmp_path, capsys,
                                                                           monkeypatch):
    import errno

    import h5py
    from conftest import tiny_config_file
    config = tiny_config_file(tmp_path / "tiny.json", STEPS_PER_EPOCH=1, BN_RECOMPUTE_IMAGES=0)
    original, calls = h5py.Group.create_dataset, []

    def create_dataset(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 20:  # part of the checkpoint is written already
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)
    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    logs = tmp_path / "logs"
    assert main(["train", "--dataset", "4x64", "--format", "shapes", "--config", config,
                 "--steps", "1", "--no-augment", "--model-dir", str(logs)]) == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1
    assert not [f for _, _, files in os.walk(logs) for f in files if f.endswith((".h5",
                                                                                ".partial"))]
