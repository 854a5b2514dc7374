"""Shared fixtures: a tiny config and a briefly trained tiny model (64 px images, CPU)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from maskrcnn.presets import TinyShapesConfig  # noqa: E402


class TinyConfig(TinyShapesConfig):
    """The shared tiny preset (maskrcnn.presets) with the values these tests rely on."""
    NAME = "tiny"
    BOX_CONVENTION = "matterport"  # the library's default, so that tests cover it
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    MAX_GT_INSTANCES = 6
    DETECTION_MAX_INSTANCES = 20
    DETECTION_MIN_CONFIDENCE = 0.0
    # The shared model keeps its threshold and counts border objects: tests of calibration
    # and of the border rule (tests/evaluation/test_calibration.py) train their own.
    CALIBRATE_THRESHOLD = False
    DETECTION_BORDER_OBJECTS = "count"
    STEPS_PER_EPOCH = 3
    LEARNING_RATE = 0.01


@pytest.fixture
def tiny_config():
    return TinyConfig()


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """A tiny model trained for one short epoch, and its checkpoint path."""
    from maskrcnn import MaskRCNN
    from maskrcnn.data.readers.shapes import ShapesDataset

    model_dir = tmp_path_factory.mktemp("logs")
    model = MaskRCNN("training", TinyConfig(), str(model_dir))
    data = ShapesDataset(8, 64, 64, seed=3)
    model.train(data, data, learning_rate=0.01, epochs=1, layers="all", verbose=0)
    return model, model.find_last()


def tiny_config_file(path, **fields) -> str:
    """Write TinyConfig's fields, with ``fields`` changed, as a ``--config`` JSON file at
    ``path``; returns the path."""
    import json
    values = json.loads(TinyConfig().to_json())
    values.update(fields)
    path.write_text(json.dumps(values))
    return str(path)
