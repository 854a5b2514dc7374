"""Faults around weights and training (issue 14): damaged checkpoints, all-or-nothing loading,
a full disk, diverging training, mismatched class lists, find_last's matching and order."""
import errno
import math
import os
import shutil

import h5py
import numpy as np
import pytest
from conftest import TinyConfig

from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.h5 import _Arrays, save_weights_h5
from maskrcnn.checkpoint.info import checkpoint_is_finite, read_checkpoint_info
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import (
    DatasetError,
    DiskFullError,
    NonFiniteWeightsError,
    TrainingDivergedError,
    WeightsError,
)
from maskrcnn.trainer import DivergenceGuard


@pytest.fixture(scope="module")
def model():
    return MaskRCNN("training", TinyConfig(), "unused")


def snapshot(model):
    return [np.array(v.numpy()) for layer in model.keras_model.leaf_layers()
            for v in layer.weights]


def assert_unchanged(model, before):
    after = snapshot(model)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def fake_checkpoint(path, epoch=1, class_names='["BG", "square"]', values=(1.0, 2.0)):
    """A small checkpoint-like file (the attributes find_last and read_checkpoint_info see)."""
    attrs = {"maskrcnn_config": "{}", "class_names": class_names, "epoch": epoch}
    save_weights_h5([_Arrays("conv1", {"kernel": np.array(values, np.float32)})], str(path),
                    attrs)
    return str(path)


# ------------------------------------------------------------------ case 5: damaged attributes
@pytest.mark.parametrize("name,value", [
    ("class_names", "not json ["),
    ("class_names", '{"BG": 0}'),
    ("class_names", "[1, 2]"),
    ("epoch", b"three"),
    ("epoch", 1.5),
    ("epoch", -2),
    ("maskrcnn_complete", "yes"),
])
def test_damaged_checkpoint_attribute_is_a_weights_error(tmp_path, name, value):
    path = fake_checkpoint(tmp_path / "mask_rcnn_tiny_0001.h5")
    with h5py.File(path, "a") as f:
        f.attrs[name] = value
    with pytest.raises(WeightsError, match=f"mask_rcnn_tiny_0001.h5: checkpoint attribute "
                                           f"'{name}' is unusable"):
        read_checkpoint_info(path)


def test_good_checkpoint_attributes_read_back(tmp_path):
    path = fake_checkpoint(tmp_path / "c.h5", epoch=np.int64(12))
    info = read_checkpoint_info(path)
    assert info["epoch"] == 12 and isinstance(info["epoch"], int)
    assert info["class_names"] == ["BG", "square"] and info["complete"] and info["finite"]


def test_load_weights_refuses_a_damaged_checkpoint_before_assigning(model, tmp_path):
    path = str(tmp_path / "mask_rcnn_tiny_0001.h5")
    model.save_weights(path, epoch=1)
    with h5py.File(path, "a") as f:
        f["conv1/conv1/kernel:0"][...] += 1.0
        f.attrs["epoch"] = "one"
    before = snapshot(model)
    with pytest.raises(WeightsError, match="'epoch'"):
        model.load_weights(path)
    assert_unchanged(model, before)


# ------------------------------------------------------------------ cases 5, 11, 13: find_last
def test_find_last_skips_damaged_and_non_finite_checkpoints_with_a_warning(tmp_path):
    run = tmp_path / "tiny20240101T000000"
    good = fake_checkpoint(run / "mask_rcnn_tiny_0001.h5", epoch=1)
    nan = fake_checkpoint(run / "mask_rcnn_tiny_0002.h5", epoch=2)
    with h5py.File(nan, "a") as f:  # as a writer without the finite check would leave it
        f["conv1/conv1/kernel:0"][0] = np.nan
        del f.attrs["maskrcnn_finite"]
    damaged = fake_checkpoint(run / "mask_rcnn_tiny_0003.h5", epoch=3, class_names="[oops")
    finder = MaskRCNN("training", TinyConfig(), str(tmp_path))
    with pytest.warns(UserWarning) as caught:
        assert finder.find_last() == good
    messages = " ".join(str(w.message) for w in caught)
    assert damaged in messages and "'class_names'" in messages
    assert nan in messages and "NaN" in messages
    assert not checkpoint_is_finite(nan) and checkpoint_is_finite(good)


def test_find_last_matches_the_exact_name_and_sorts_epochs_as_numbers(tmp_path):
    run = tmp_path / "tiny20240101T000000"
    fake_checkpoint(run / "mask_rcnn_tiny_9999.h5", epoch=9999)
    newest = fake_checkpoint(run / "mask_rcnn_tiny_10000.h5", epoch=10000)
    fake_checkpoint(run / "mask_rcnn_tiny_big_20000.h5", epoch=20000)  # another NAME's file
    # later runs of other names, or not run folders at all
    fake_checkpoint(tmp_path / "tiny_big20250101T000000" / "mask_rcnn_tiny_0001.h5")
    fake_checkpoint(tmp_path / "tiny_big20250101T000000" / "mask_rcnn_tiny_big_0001.h5")
    fake_checkpoint(tmp_path / "tinyx" / "mask_rcnn_tiny_0005.h5")
    fake_checkpoint(tmp_path / "tiny20250101T000000.bak" / "mask_rcnn_tiny_0005.h5")
    finder = MaskRCNN("training", TinyConfig(), str(tmp_path))
    assert finder.find_last() == newest
    config = TinyConfig()
    config.NAME = "tiny_big"
    big = MaskRCNN("training", config, str(tmp_path))
    assert big.find_last().endswith(os.path.join("tiny_big20250101T000000",
                                                 "mask_rcnn_tiny_big_0001.h5"))


# ------------------------------------------------------------------ case 6: all or nothing
@pytest.mark.parametrize("damage", ["text", "nan", "overflow", "complex"])
def test_weights_are_loaded_all_or_nothing(model, tmp_path, damage):
    path = str(tmp_path / "w.h5")
    model.save_weights(path, epoch=0)
    last = [layer for layer in model.keras_model.leaf_layers() if layer.weights][-1]
    key = f"{last.name}/{last.weights[0].name.split('/')[-1]}:0"
    with h5py.File(path, "a") as f:
        for layer in model.keras_model.leaf_layers():
            for v in layer.weights:  # every value differs from the model's
                f[f"{layer.name}/{layer.name}/{v.name.split('/')[-1]}:0"][...] += 1.0
        group = f[last.name]
        shape = group[key].shape
        del group[key]
        if damage == "text":
            group.create_dataset(key, data=np.full(shape, b"x", dtype="S1"))
        elif damage == "nan":
            group.create_dataset(key, data=np.full(shape, np.nan, np.float32))
        elif damage == "overflow":  # finite in float64, infinite as float32
            group.create_dataset(key, data=np.full(shape, 1e300, np.float64))
        else:
            group.create_dataset(key, data=np.ones(shape, np.complex64))
    before = snapshot(model)
    expected = NonFiniteWeightsError if damage in ("nan", "overflow") else WeightsError
    with pytest.raises(expected, match=f"layer .{last.name}.*[Nn]othing was loaded"):
        model.load_weights(path)
    assert_unchanged(model, before)


def test_float64_weights_still_load(model, tmp_path):
    path = str(tmp_path / "w64.h5")
    model.save_weights(path, epoch=0)
    with h5py.File(path, "a") as f:
        data = np.asarray(f["conv1/conv1/kernel:0"], np.float64) + 0.5
        del f["conv1/conv1/kernel:0"]
        f["conv1"].create_dataset("conv1/kernel:0", data=data)
    model.load_weights(path)
    conv1 = next(layer for layer in model.keras_model.leaf_layers() if layer.name == "conv1")
    np.testing.assert_allclose(conv1.weights[0].numpy(), data.astype(np.float32))


# ------------------------------------------------------------------ case 7: disk full
@pytest.mark.parametrize("where", ["dataset", "open", "rename"])
def test_disk_full_while_saving_says_so_and_keeps_the_previous_file(model, tmp_path,
                                                                    monkeypatch, where):
    path = str(tmp_path / "run" / "mask_rcnn_tiny_0001.h5")
    model.save_weights(path, epoch=1)
    with open(path, "rb") as f:
        previous = f.read()
    full = OSError(errno.ENOSPC, "No space left on device")
    if where == "dataset":
        original, calls = h5py.Group.create_dataset, []

        def create_dataset(self, *args, **kwargs):
            calls.append(1)
            if len(calls) > 20:  # part of the file is written already
                raise full
            return original(self, *args, **kwargs)
        monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    elif where == "open":
        def refuse(*args, **kwargs):
            raise full
        monkeypatch.setattr("maskrcnn.checkpoint.h5.h5py.File", refuse)
    else:
        def refuse(*args, **kwargs):
            raise full
        monkeypatch.setattr("maskrcnn.checkpoint.h5.os.replace", refuse)
    other = str(tmp_path / "run" / "mask_rcnn_tiny_0002.h5")
    for target in (path, other):  # overwriting the same name, and a new epoch
        with pytest.raises(DiskFullError, match="disk is full") as err:
            model.save_weights(target, epoch=2)
        assert target in str(err.value)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path / "run")) == ["mask_rcnn_tiny_0001.h5"]
    with open(path, "rb") as f:
        assert f.read() == previous
    assert read_checkpoint_info(path)["epoch"] == 1


def test_other_write_errors_are_weights_errors(model, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")
    monkeypatch.setattr("maskrcnn.checkpoint.h5.h5py.File", refuse)
    with pytest.raises(WeightsError, match="cannot write") as err:
        model.save_weights(str(tmp_path / "w.h5"))
    assert not isinstance(err.value, DiskFullError)


# ------------------------------------------------------------------ case 11: divergence
def test_non_finite_weights_are_never_written(tmp_path):
    path = fake_checkpoint(tmp_path / "mask_rcnn_tiny_0001.h5")
    with open(path, "rb") as f:
        previous = f.read()
    with pytest.raises(NonFiniteWeightsError, match="'conv1'.*1 NaN or infinite"):
        fake_checkpoint(path, values=(1.0, np.inf))
    assert os.listdir(tmp_path) == ["mask_rcnn_tiny_0001.h5"]
    with open(path, "rb") as f:
        assert f.read() == previous


@pytest.mark.parametrize("logs,where", [({"loss": math.nan}, "step 3 of 7"),
                                        ({"loss": 1.0, "rpn_bbox_loss": math.inf}, "step 3"),
                                        ({"loss": 2e12}, "above the limit")])
def test_divergence_guard_stops_at_a_non_finite_or_exploding_loss(logs, where):
    guard = DivergenceGuard(learning_rate=100.0, last_checkpoint="logs/x/mask_rcnn_tiny_0001.h5",
                            steps_per_epoch=7)
    guard.on_epoch_begin(1)
    guard.on_train_batch_end(1, {"loss": 3.0, "rpn_class_loss": 0.5})  # fine
    with pytest.raises(TrainingDivergedError) as err:
        guard.on_train_batch_end(2, logs)
    message = str(err.value)
    assert "epoch 2" in message and where in message and "learning rate 100" in message
    assert "mask_rcnn_tiny_0001.h5" in message and "Lower the learning rate" in message
    with pytest.raises(TrainingDivergedError, match="val_loss is nan at the end of epoch 2"):
        guard.on_epoch_end(1, {"loss": 1.0, "val_loss": math.nan})


def test_diverging_training_stops_and_keeps_the_last_good_checkpoint(trained_tiny, tmp_path):
    import tensorflow as tf

    model, good = trained_tiny
    run = tmp_path / os.path.basename(os.path.dirname(good))
    run.mkdir()
    shutil.copy(good, run / os.path.basename(good))
    tf.random.set_seed(0)
    resumed = MaskRCNN("training", model.config, str(tmp_path))
    resumed.load_weights(resumed.find_last())
    data = ShapesDataset(4, 64, 64, seed=4)
    with pytest.raises(TrainingDivergedError,
                       match=r"loss is .* at epoch 2, step \d of 3.*learning rate 1e\+08"):
        resumed.train(data, None, learning_rate=1e8, epochs=3, layers="all", verbose=0)
    checkpoints = sorted(n for n in os.listdir(run) if n.endswith(".h5"))
    assert checkpoints == [os.path.basename(good)]
    assert resumed.find_last() == str(run / os.path.basename(good))
    assert not any(n.endswith(".partial") for n in os.listdir(run))


# ------------------------------------------------------------------ case 12: class lists
class Renamed(ShapesDataset):
    def __init__(self):
        super().__init__(2, 64, 64, seed=1)
        self.class_info[2]["name"] = "dog"
        self.prepare()


def test_train_and_validation_class_lists_must_agree(tiny_config, tmp_path):
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    with pytest.raises(DatasetError, match=r"train \['BG', 'square', 'circle', 'triangle'\], "
                                           r"validation \['BG', 'square', 'dog', 'triangle'\]"):
        model.train(ShapesDataset(2, 64, 64), Renamed(), 0.01, 1, "heads", verbose=0)
    assert not os.listdir(tmp_path)  # refused before a run folder was made
