import json

import numpy as np
import pytest

from maskrcnn.config import Config
from maskrcnn.errors import ConfigError


def test_defaults_match_matterport():
    c = Config()
    assert c.BACKBONE == "resnet101" and c.IMAGE_MAX_DIM == 1024 and c.IMAGE_MIN_DIM == 800
    assert c.BATCH_SIZE == 2 and c.TRAIN_ROIS_PER_IMAGE == 200 and c.MASK_SHAPE == [28, 28]
    assert c.IMAGE_META_SIZE == 1 + 3 + 3 + 4 + 1 + c.NUM_CLASSES
    assert list(c.IMAGE_SHAPE) == [1024, 1024, 3]


def test_subclass_fields_and_derived_values():
    class Balloon(Config):
        NAME = "balloon"
        NUM_CLASSES = 2
        IMAGES_PER_GPU = 3
        GPU_COUNT = 2
    c = Balloon()
    assert c.BATCH_SIZE == 6 and c.IMAGE_META_SIZE == 14


@pytest.mark.parametrize("field,value,words", [
    ("IMAGE_MAX_DIM", 1000, "divisible by 64"),
    ("NUM_CLASSES", 0, "NUM_CLASSES"),
    ("IMAGE_RESIZE_MODE", "stretch", "IMAGE_RESIZE_MODE"),
    ("RPN_ANCHOR_SCALES", (32, 64), "one scale per pyramid level"),
    ("MASK_SHAPE", [14, 14], "MASK_SHAPE"),
    ("BACKBONE", "vgg", "BACKBONE"),
    ("LOSS_WEIGHTS", {"rpn_loss": 1.0}, "unknown keys"),
    ("DETECTION_MIN_CONFIDENCE", 1.5, "DETECTION_MIN_CONFIDENCE"),
])
def test_bad_values_raise_config_error_saying_what_to_change(field, value, words):
    Bad = type("Bad", (Config,), {field: value})
    with pytest.raises(ConfigError, match=words):
        Bad()


def test_pad32_needs_a_multiple_of_32():
    Pad32 = type("Pad32", (Config,), {"IMAGE_RESIZE_MODE": "pad32", "IMAGE_MAX_DIM": 1000})
    with pytest.raises(ConfigError, match="divisible by 32 in pad32 mode.*use 992"):
        Pad32()
    Pad32.IMAGE_MAX_DIM = 992
    Pad32()


def test_json_round_trip_keeps_every_field():
    class Mine(Config):
        NAME = "mine"
        NUM_CLASSES = 5
        MEAN_PIXEL = np.array([1.0, 2.0, 3.0])
        RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    original = Mine()
    restored = Config.from_json(original.to_json())
    assert restored.fields() == original.fields()
    assert isinstance(restored.MEAN_PIXEL, np.ndarray)
    assert json.loads(original.to_json())["NUM_CLASSES"] == 5


def test_malformed_json_names_line_and_column():
    with pytest.raises(ConfigError, match="line 1 column"):
        Config.from_json("{bad")


def test_display_prints_fields(capsys):
    Config().display()
    out = capsys.readouterr().out
    assert "IMAGE_MAX_DIM" in out and "1024" in out


def test_unknown_fields_are_refused_with_the_nearest_one():
    with pytest.raises(ConfigError, match="unknown config field 'LEARNIG_RATE': did you mean "
                                          "LEARNING_RATE"):
        Config.from_dict({"LEARNIG_RATE": 0.01})
    with pytest.raises(ConfigError, match="'IMAGE_MAX_DIMS': did you mean IMAGE_MAX_DIM"):
        Config.from_json('{"IMAGE_MAX_DIMS": 512}')
    with pytest.raises(ConfigError, match="'ZZZ_QQQ': see Config"):
        Config.from_dict({"ZZZ_QQQ": 1})
    # what a config legitimately holds stays accepted: every field it writes (derived ones
    # included), and a checkpoint's fields of a subclass of its own
    class Balloon(Config):
        NUM_CLASSES = 2
        MY_THRESHOLD = 0.3
    written = json.loads(Balloon().to_json())
    restored = Config.from_dict(written, default_version=1, extra_fields=True)
    assert restored.MY_THRESHOLD == 0.3 and restored.NUM_CLASSES == 2
    assert Balloon.from_dict(written).MY_THRESHOLD == 0.3
    with pytest.raises(ConfigError, match="MY_THRESHOLD"):
        Config.from_dict(written)


def test_train_set_with_a_typo_is_refused():
    import argparse

    from maskrcnn.cli.train import config_from
    from maskrcnn.data import ShapesDataset

    args = argparse.Namespace(config=None, name="n", set=["LEARNIG_RATE=0.01"],
                              no_suggest=True)
    with pytest.raises(ConfigError, match="did you mean LEARNING_RATE"):
        config_from(args, ShapesDataset(2, 64, 64, seed=1))


def test_the_notebook_and_the_cli_merge_one_config():
    """train.ipynb calls maskrcnn.presets.training_config, `maskrcnn train` reaches it
    through its options: the same fields give the same config, with the user's fields over
    the data's suggestions over the recipe."""
    import argparse

    from maskrcnn.cli.train import config_from
    from maskrcnn.data import ShapesDataset
    from maskrcnn.presets import FROM_SCRATCH, training_config
    data = ShapesDataset(4, 96, 160, seed=1)
    lines = []
    config = training_config(data, {"NAME": "n", "IMAGE_MAX_DIM": 256, "LEARNING_RATE": 0.002},
                             from_scratch=True, say=lines.append)
    args = argparse.Namespace(config=None, name="n", set=["IMAGE_MAX_DIM=256"],
                              no_suggest=False, lr=0.002)
    assert config.to_json() == config_from(args, data, from_scratch=True).to_json()
    assert config.IMAGE_MAX_DIM == 256 and config.LEARNING_RATE == 0.002  # given
    assert config.IMAGE_MIN_DIM == 128 and config.NUM_CLASSES == data.num_classes  # the data
    assert config.BACKBONE == FROM_SCRATCH["BACKBONE"]  # the recipe
    assert [line.split(" (")[0] for line in lines] == ["from the data", "from-scratch recipe"]
