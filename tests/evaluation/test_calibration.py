"""The operating point: chosen at the end of training on the right images, stored in the
checkpoint, and used by detection, evaluation and exported models."""
import numpy as np
import pytest

from maskrcnn import MaskRCNN
from maskrcnn.data import Dataset
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import ConfigError
from maskrcnn.evaluation import evaluate_model
from maskrcnn.inference import detect_folder
from maskrcnn.inference.detector import load_detector


class FirstObjectOnly(Dataset):
    """The images of a dataset with only their first object annotated: other true counts
    than the dataset's own, so that the best threshold differs."""

    def __init__(self, source):
        super().__init__()
        self.source = source
        for c in source.class_info[1:]:
            self.add_class(c["source"], c["id"], c["name"])
        for i in source.image_ids:
            self.add_image("first", i, None)
        self.prepare()

    def load_image(self, image_id):
        return self.source.load_image(image_id)

    def load_mask(self, image_id):
        masks, ids = self.source.load_mask(image_id)
        return masks[..., :1], ids[:1]


class EveryObjectTwice(FirstObjectOnly):
    """The images of a dataset with each object annotated twice: twice the true counts."""

    def load_mask(self, image_id):
        masks, ids = self.source.load_mask(image_id)
        return np.concatenate([masks, masks], -1), np.concatenate([ids, ids])


def threshold_between(scores) -> float:
    """A threshold near the median score, halfway across the widest gap between neighbouring
    scores of the middle half: no score lies within float noise of it."""
    ranked = np.sort(np.asarray(scores, np.float64))
    low, high = len(ranked) // 4, max(len(ranked) // 4 + 1, 3 * len(ranked) // 4)
    gaps = np.diff(ranked)[low:high]
    k = low + int(np.argmax(gaps))
    return float((ranked[k] + ranked[k + 1]) / 2)


def expected_threshold(model, dataset):
    """The best-counting threshold, found by evaluating at every score (independent of the
    calibration code's own choice of images)."""
    return evaluate_model(model, dataset, verbose=False).best_counting().threshold


@pytest.fixture(scope="module")
def retrainable(trained_tiny):
    """A fresh copy of the shared tiny model, which calibrates and learns its border rule."""
    _, checkpoint = trained_tiny
    model = MaskRCNN.from_checkpoint(checkpoint, mode="training")
    model.config.CALIBRATE_THRESHOLD = True
    return model, checkpoint


def test_training_calibrates_on_the_validation_images_and_the_checkpoint_keeps_it(
        retrainable, tmp_path):
    model, _ = retrainable
    train = ShapesDataset(6, 64, 64, seed=3)
    model.config.DETECTION_MIN_CONFIDENCE = 0.0
    on_train = expected_threshold(model, train)
    # validation images whose true counts differ, so that their best threshold differs
    for val in (FirstObjectOnly(train), EveryObjectTwice(train)):
        on_val = expected_threshold(model, val)
        if abs(on_val - on_train) > 1e-6:
            break
    assert abs(on_val - on_train) > 1e-6  # else this test could not tell the two apart
    model.set_log_dir()
    model.epoch = 1
    path = model.checkpoint_path.format(epoch=1)
    model.save_weights(path, 1)
    model.finish_training(train, val, verbose=0)
    assert model.config.DETECTION_MIN_CONFIDENCE == pytest.approx(on_val)
    assert model.calibration.source == "validation"
    stored = MaskRCNN.from_checkpoint(path)
    assert stored.config.DETECTION_MIN_CONFIDENCE == pytest.approx(on_val)
    assert stored.calibration.threshold == pytest.approx(on_val)
    assert stored.calibration.images == len(val.image_ids)
    # without validation images, the training images
    model.config.DETECTION_MIN_CONFIDENCE = 0.0
    model.finish_training(train, None, verbose=0)
    assert model.config.DETECTION_MIN_CONFIDENCE == pytest.approx(on_train)
    assert model.calibration.source == "training"
    # training again: the old calibration no longer describes the weights
    model.train(train, None, 0.001, 2, "heads", verbose=0)
    assert model.calibration is not None and model.calibration.source == "training"


def test_detect_and_evaluate_count_from_the_calibrated_threshold(trained_tiny, tmp_path):
    _, checkpoint = trained_tiny
    data = ShapesDataset(4, 64, 64, seed=8)
    model = MaskRCNN.from_checkpoint(checkpoint)
    everything = model.detect([data.load_image(i) for i in data.image_ids])
    scores = np.concatenate([r["scores"] for r in everything])
    threshold = threshold_between(scores)  # about half the detections count
    model.config.DETECTION_MIN_CONFIDENCE = threshold  # as a calibration leaves it
    calibrated = str(tmp_path / "calibrated.h5")
    model.save_weights(calibrated, 1)

    folder = tmp_path / "images"
    folder.mkdir()
    from PIL import Image
    for i in data.image_ids:
        Image.fromarray(data.load_image(i)).save(folder / f"{i}.png")
    df = detect_folder(calibrated, str(folder), str(tmp_path / "out"), progress=False)
    counted = df.sort_values("file")["instances"].tolist()
    expected = [int((r["scores"] >= threshold).sum()) for r in everything]
    assert counted == expected and sum(expected) < len(scores)
    # --min-confidence still decides
    df = detect_folder(calibrated, str(folder), str(tmp_path / "out2"), progress=False,
                       min_confidence=0.0)
    assert df.sort_values("file")["instances"].tolist() == [len(r["scores"])
                                                            for r in everything]
    # evaluation counts at the same threshold (n_pred) and scores every detection
    result = evaluate_model(MaskRCNN.from_checkpoint(calibrated), data, verbose=False)
    assert result.per_image["n_pred"].tolist() == expected
    assert result.operating_threshold == pytest.approx(threshold)


def test_an_exported_model_carries_the_threshold_and_honours_min_confidence(trained_tiny,
                                                                          tmp_path):
    _, checkpoint = trained_tiny
    data = ShapesDataset(3, 64, 64, seed=9)
    images = [data.load_image(i) for i in data.image_ids]
    model = MaskRCNN.from_checkpoint(checkpoint)
    everything = model.detect(images)
    threshold = threshold_between(np.concatenate([r["scores"] for r in everything]))
    model.config.DETECTION_MIN_CONFIDENCE = threshold
    path = model.export(str(tmp_path / "served"))
    served = load_detector(path)
    assert served.config.DETECTION_MIN_CONFIDENCE == pytest.approx(threshold)
    got = [len(r["scores"]) for r in served.detect(images)]
    assert got == [int((r["scores"] >= threshold).sum()) for r in everything]
    lower = load_detector(path, min_confidence=0.05)
    got = [len(r["scores"]) for r in lower.detect(images)]
    assert got == [int((r["scores"] >= 0.05).sum()) for r in everything]
    with pytest.raises(ConfigError, match="below it"):
        load_detector(path, min_confidence=0.01)


def test_calibrate_command_writes_a_new_checkpoint_and_leaves_the_original(trained_tiny,
                                                                           tmp_path, capsys):
    import os
    import shutil

    from maskrcnn.checkpoint.info import read_checkpoint_info
    from maskrcnn.cli import main

    _, checkpoint = trained_tiny
    original = str(tmp_path / "model.h5")
    shutil.copy(checkpoint, original)
    before = open(original, "rb").read()
    assert main(["calibrate", original, "--dataset", "4x64", "--format", "shapes"]) == 0
    out = capsys.readouterr().out
    assert "operating point: score threshold" in out and "unchanged" in out
    assert open(original, "rb").read() == before
    calibrated = str(tmp_path / "model.calibrated.h5")
    info = read_checkpoint_info(calibrated)
    assert '"source": "dataset"' in info["calibration"]
    # a second run refuses to replace it, unless asked
    assert main(["calibrate", original, "--dataset", "4x64", "--format", "shapes"]) == 2
    assert "exists" in capsys.readouterr().err
    assert os.path.getsize(calibrated) > 0
    model = MaskRCNN.from_checkpoint(calibrated)
    expected = expected_threshold(MaskRCNN.from_checkpoint(original),
                                  ShapesDataset(4, 64, 64, seed=1))
    assert model.config.DETECTION_MIN_CONFIDENCE == pytest.approx(expected)
