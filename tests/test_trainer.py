"""Training end to end on tiny configs: losses fall, checkpoints, resume, bad input."""
import os

import keras
import numpy as np
import pytest

from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.info import read_checkpoint_info
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import ConfigError, DatasetError


def test_loss_goes_down_on_a_fixed_batch(tiny_config):
    """A few steps on the same images lower the total loss."""
    import tensorflow as tf

    from maskrcnn.data.pipeline import make_training_dataset
    from maskrcnn.trainer import make_optimizer, set_trainable

    tf.random.set_seed(0)
    model = MaskRCNN("training", tiny_config, "unused")
    net = model.keras_model
    batch = next(iter(make_training_dataset(ShapesDataset(2, 64, 64, seed=1), tiny_config,
                                            shuffle=False, seed=0)))
    set_trainable(net.leaf_layers(), "all", True)
    net.compile(optimizer=make_optimizer(tiny_config, 0.01), jit_compile=False)
    step = tf.function(net.train_step, jit_compile=False)

    def loss_now():
        return np.mean([float(net.total_loss(net.compute_losses(batch, training=True)))
                        for _ in range(3)])

    before = loss_now()
    for _ in range(15):
        step(batch)
    after = loss_now()
    assert after < 0.8 * before, (before, after)


@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_first_step_follows_the_optimizers_update_rule(tiny_config, optimizer):
    """OPTIMIZER picks the update: a first Adam step moves every weight with a gradient by
    the learning rate against the gradient's sign (m / sqrt(v) = g / |g| after bias
    correction); a first SGD step moves it by learning rate x gradient."""
    import tensorflow as tf

    from maskrcnn.data.pipeline import make_training_dataset
    from maskrcnn.trainer import make_optimizer, set_trainable

    tiny_config.OPTIMIZER, tiny_config.WEIGHT_DECAY, tiny_config.GRADIENT_CLIP_NORM = \
        optimizer, 0.0, 0.0
    rate = 1e-3
    tf.random.set_seed(0)
    net = MaskRCNN("training", tiny_config, "unused").keras_model
    batch = next(iter(make_training_dataset(ShapesDataset(2, 64, 64, seed=1), tiny_config,
                                            shuffle=False, seed=0)))
    set_trainable(net.leaf_layers(), "all", True)
    net.compile(optimizer=make_optimizer(tiny_config, rate), jit_compile=False)
    kernels = [v for v in net.trainable_variables if "kernel" in v.path]
    with tf.GradientTape() as tape:
        tf.random.set_seed(1)
        loss = net.total_loss(net.compute_losses(batch, training=True))
    grads = [g.numpy() for g in tape.gradient(loss, kernels)]
    before = [v.numpy() for v in kernels]
    tf.random.set_seed(1)
    net.train_step(batch)
    steps = np.concatenate([(v.numpy() - b).ravel() for v, b in zip(kernels, before)])
    grads = np.concatenate([g.ravel() for g in grads])
    clear = np.abs(grads) > 1e-4  # gradients far above Adam's epsilon and float32's rounding
    assert clear.mean() > 0.1
    expected = -rate * (np.sign(grads) if optimizer == "AdamW" else grads)
    close = np.abs(steps[clear] - expected[clear]) <= 0.02 * np.abs(expected[clear]) + 1e-7
    assert close.mean() > 0.9, (optimizer, close.mean())


def test_train_writes_checkpoints_with_config_and_classes(trained_tiny, tiny_config):
    model, path = trained_tiny
    assert path.endswith("mask_rcnn_tiny_0001.h5") and os.path.isfile(path)
    info = read_checkpoint_info(path)
    assert info["epoch"] == 1 and info["class_names"] == ["BG", "square", "circle", "triangle"]
    assert '"NUM_CLASSES": 4' in info["config"]
    assert any(n.startswith("train") for n in os.listdir(os.path.dirname(path)))


def test_save_load_gives_identical_detections(trained_tiny, tmp_path):
    model, path = trained_tiny
    images = [ShapesDataset(2, 64, 64, seed=11).load_image(i) for i in (0, 1)]
    before = model.detect(images)
    other = MaskRCNN("inference", model.config, str(tmp_path))
    other.load_weights(path, by_name=True)
    after = other.detect(images)
    for a, b in zip(before, after):
        # Two traces of one graph (other static shapes) round by a few ulps: scores may
        # differ by 1e-6 (near-equal scores may swap ranks), a box edge may round the other
        # way. So each detection is paired with one of the same class, score and box.
        assert len(a["scores"]) == len(b["scores"])
        free = list(range(len(b["scores"])))
        for i in range(len(a["scores"])):
            same = [j for j in free if b["class_ids"][j] == a["class_ids"][i]
                    and abs(b["scores"][j] - a["scores"][i]) <= 1e-5
                    and np.abs(b["rois"][j] - a["rois"][i]).max() <= 1]
            assert same, (i, a["class_ids"][i], a["scores"][i], a["rois"][i])
            j = same[0]
            free.remove(j)
            assert np.mean(a["masks"][..., i] != b["masks"][..., j]) < 1e-3
    assert other.class_names == model.class_names


def test_find_last_never_picks_a_partial_checkpoint(trained_tiny, tmp_path):
    model, path = trained_tiny
    run = tmp_path / "tiny20990101T000000"
    run.mkdir()
    (run / "mask_rcnn_tiny_0002.h5.partial").write_bytes(b"half written")
    (run / "mask_rcnn_tiny_0003.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    import shutil
    shutil.copy(path, run / "mask_rcnn_tiny_0001.h5")
    finder = MaskRCNN("training", model.config, str(tmp_path))
    assert finder.find_last() == str(run / "mask_rcnn_tiny_0001.h5")
    empty = MaskRCNN("training", model.config, str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError):
        empty.find_last()


def test_resume_continues_the_epoch_count(trained_tiny, tmp_path):
    model, path = trained_tiny
    import shutil
    run = tmp_path / "logs" / "tiny20990101T000000"  # a run of its own: other tests train
    run.mkdir(parents=True)                          # the shared one on
    shutil.copy(path, run / "mask_rcnn_tiny_0001.h5")
    resumed = MaskRCNN("training", model.config, str(tmp_path / "logs"))
    resumed.load_weights(resumed.find_last(), by_name=True)
    assert resumed.epoch == 1
    data = ShapesDataset(4, 64, 64, seed=4)
    resumed.train(data, None, learning_rate=0.001, epochs=2, layers="heads", verbose=0)
    assert resumed.find_last().endswith("mask_rcnn_tiny_0002.h5")
    assert read_checkpoint_info(resumed.find_last())["epoch"] == 2


def test_num_classes_mismatch_is_a_config_error_before_training(tiny_config, tmp_path):
    tiny_config.NUM_CLASSES = 3
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    with pytest.raises(ConfigError, match="NUM_CLASSES is 3 .* 4 classes"):
        model.train(ShapesDataset(2, 64, 64), None, 0.01, 1, "heads")
    assert not os.listdir(tmp_path)


class MixedIds(ShapesDataset):
    """Shapes with alphanumeric ids, and every second image without instances."""

    def __init__(self):
        super().__init__(6, 64, 64, seed=7)
        for i, info in enumerate(self.image_info):
            info["id"] = f"0a{i}f-{'x' * i}"
            if i % 2:
                info["shapes"] = []
        self.prepare()


def test_images_without_instances_and_non_numeric_ids_train(tiny_config, tmp_path):
    tiny_config.STEPS_PER_EPOCH = 3
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    history = model.train(MixedIds(), MixedIds(), 0.01, 1, "all", verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


class BrokenMasks(ShapesDataset):
    def load_mask(self, image_id):
        masks, ids = super().load_mask(image_id)
        return masks, ids[:-1] if image_id == 1 else ids


def test_bad_masks_stop_training_with_a_dataset_error(tiny_config, tmp_path):
    tiny_config.IMAGES_PER_GPU = 1
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    data = BrokenMasks(2, 64, 64, seed=1, max_instances=2)
    with pytest.raises(DatasetError, match="shapes-1-00001"):
        model.train(data, None, 0.01, 1, "all", verbose=0)


def test_layer_presets_freeze_what_matterport_froze(tiny_config):
    model = MaskRCNN("training", tiny_config, "unused")
    names = set(model.set_trainable("heads"))
    assert "mrcnn_mask" in names and "rpn_conv_shared" in names and "fpn_c5p5" in names
    assert not any(n.startswith(("res", "bn", "conv1")) for n in names)
    names = set(model.set_trainable("4+"))
    assert "res4a_branch2a" in names and "res3a_branch2a" not in names
    with pytest.raises(ConfigError):
        model.set_trainable("([")


def test_pad32_images_train_and_detect(tiny_config):
    """IMAGE_RESIZE_MODE "pad32": sides that are multiples of 32 but not of 64 (P5 3x5, P6
    rounded up to 2x3) give anchors matching the RPN's outputs, finite losses and detections."""
    from maskrcnn.data.pipeline import make_training_dataset

    tiny_config.IMAGE_RESIZE_MODE = "pad32"
    tiny_config.IMAGE_MIN_DIM, tiny_config.IMAGE_MAX_DIM = 96, 160
    tiny_config.validate()
    model = MaskRCNN("training", tiny_config, "unused")
    batch = next(iter(make_training_dataset(ShapesDataset(2, 90, 150, seed=1), tiny_config,
                                            shuffle=False, seed=0)))
    assert tuple(batch["image"].shape[1:3]) == (96, 160)
    losses = model.keras_model.compute_losses(batch, training=True)
    assert all(np.isfinite(float(v)) for v in losses.values()), losses
    image = np.random.default_rng(0).integers(0, 255, (70, 150, 3), dtype=np.uint8)
    molded, _ = model.mold_inputs([image])
    assert molded[0].shape[:2] == (96, 160)  # resized to 75x160, padded (pad64: 128x192)
    (result,) = model.detect([image])
    assert result["masks"].shape[:2] == (70, 150)


def test_heads_on_weights_never_loaded_warn(tiny_config, tmp_path, monkeypatch):
    """layers="heads" on a random backbone is almost always a mistake (issue 20: the CLI did
    it by default): it trains, but says so; after a load it does not."""
    from maskrcnn import trainer
    monkeypatch.setattr(trainer.Trainer, "set_trainable", lambda self, layers: [])
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    monkeypatch.setattr(model.keras_model, "fit", lambda *a, **k: None)
    monkeypatch.setattr(trainer, "recompute_after_training", lambda *a, **k: {})
    data = ShapesDataset(2, 64, 64)
    with pytest.warns(UserWarning, match="frozen, random backbone"):
        model.train(data, None, 0.01, 1, "heads", verbose=0)
    model.epoch = 0
    model.checkpointer.loaded_from = "start.h5"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.train(data, None, 0.01, 1, "heads", verbose=0)


def test_step_losses_are_each_steps_own_value(tmp_path):
    """Keras hands callbacks running means over the epoch; StepLosses writes each step's own
    loss (issue 20: TensorBoard had one point per epoch)."""
    from maskrcnn.trainer import StepLosses
    from maskrcnn.visualize import read_tensorboard_scalars
    logger = StepLosses(str(tmp_path), first_step=10)
    logger.on_train_begin()
    for epoch, losses in enumerate(([1.0, 3.0, 2.0], [4.0, 0.0])):
        logger.on_epoch_begin(epoch)
        for k, _ in enumerate(losses):
            mean = float(np.mean(losses[:k + 1]))
            logger.on_train_batch_end(k, {"loss": mean, "mrcnn_mask_loss": mean / 2,
                                          "lr": 0.1})
    logger.on_train_end()
    scalars = read_tensorboard_scalars(str(tmp_path))["train_steps"]
    steps, values = scalars["step_loss"]
    assert steps.tolist() == [11, 12, 13, 14, 15]
    np.testing.assert_allclose(values, [1, 3, 2, 4, 0], atol=1e-6)
    np.testing.assert_allclose(scalars["step_mrcnn_mask_loss"][1], [0.5, 1.5, 1, 2, 0],
                               atol=1e-6)
    assert "step_lr" not in scalars


def test_training_writes_per_step_losses(trained_tiny):
    from maskrcnn.visualize import read_tensorboard_scalars
    _, path = trained_tiny
    scalars = read_tensorboard_scalars(os.path.dirname(path))["train_steps"]
    steps, values = scalars["step_loss"]
    # One point a step, numbered on across epochs (other tests may train this model on).
    assert steps.tolist() == list(range(1, len(steps) + 1)) and len(steps) % 3 == 0
    assert np.isfinite(values).all() and len(set(values.round(6))) > 1


def test_training_budget_schedule_and_stop():
    """Warm-up from 1 % over the first 5 %, the rate / 10 after 80 %, a stop by steps or
    before the next step would overrun the time."""
    from maskrcnn.trainer import TrainingBudget
    budget = TrainingBudget(max_steps=100)
    assert budget.factor(0.0) == pytest.approx(0.01)
    assert budget.factor(0.025) == pytest.approx(0.505)
    assert budget.factor(0.5) == 1.0 and budget.factor(0.8) == pytest.approx(0.1)

    class Optimizer:
        learning_rate = keras.Variable(0.02)

    class Model:
        optimizer, stop_training = Optimizer(), False

    model = Model()
    budget.set_model(model)
    budget.on_train_begin()
    for step in range(100):
        budget.on_train_batch_begin(step)
        if step == 50:
            assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.02)
        budget.on_train_batch_end(step)
        assert model.stop_training == (step == 99)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.002)
    timed, model = TrainingBudget(max_seconds=1e-6), Model()
    timed.set_model(model)
    timed.on_train_begin()
    timed.on_train_batch_end(0)
    assert model.stop_training
    with pytest.raises(ConfigError, match="max_steps or max_seconds"):
        TrainingBudget()


def test_a_budget_stops_mid_epoch_with_a_checkpoint(tiny_config, tmp_path):
    from maskrcnn.trainer import TrainingBudget
    tiny_config.BN_RECOMPUTE_IMAGES = 0
    model = MaskRCNN("training", tiny_config, str(tmp_path))
    data = ShapesDataset(4, 64, 64, seed=1)
    history = model.train(data, None, 0.01, epochs=100, layers="all", verbose=0,
                          custom_callbacks=[TrainingBudget(max_steps=5)])
    assert history.epoch == [0, 1] and model.epoch == 2  # 3 steps, then 2 of 3
    assert model.find_last().endswith("mask_rcnn_tiny_0002.h5")
