"""Shared fixtures: a tiny config and a briefly trained tiny model (64 px images, CPU)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from maskrcnn.config import Config  # noqa: E402


class TinyConfig(Config):
    NAME = "tiny"
    NUM_CLASSES = 1 + 3
    BACKBONE = "small"
    IMAGES_PER_GPU = 2
    IMAGE_MIN_DIM = 64
    IMAGE_MAX_DIM = 64
    TOP_DOWN_PYRAMID_SIZE = 32
    RPN_HEAD_CHANNELS = 32
    FPN_CLASSIF_FC_LAYERS_SIZE = 64
    MASK_HEAD_CHANNELS = 16
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    PRE_NMS_LIMIT = 500
    POST_NMS_ROIS_TRAINING = 64
    POST_NMS_ROIS_INFERENCE = 32
    TRAIN_ROIS_PER_IMAGE = 16
    MAX_GT_INSTANCES = 6
    DETECTION_MAX_INSTANCES = 20
    DETECTION_MIN_CONFIDENCE = 0.0
    STEPS_PER_EPOCH = 3
    VALIDATION_STEPS = 1
    TRAIN_BN = True
    LEARNING_RATE = 0.01


@pytest.fixture
def tiny_config():
    return TinyConfig()


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """A tiny model trained for one short epoch, and its checkpoint path."""
    from maskrcnn.data.shapes import ShapesDataset
    from maskrcnn.model import MaskRCNN

    model_dir = tmp_path_factory.mktemp("logs")
    model = MaskRCNN("training", TinyConfig(), str(model_dir))
    data = ShapesDataset(8, 64, 64, seed=3)
    model.train(data, data, learning_rate=0.01, epochs=1, layers="all", verbose=0)
    return model, model.find_last()
