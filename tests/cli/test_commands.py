"""The ``maskrcnn`` command: a short demo, then evaluate and export its checkpoint."""
import os
import re

from maskrcnn.cli import main


def test_demo_evaluate_export(tmp_path, capsys):
    figures, logs = tmp_path / "figures", tmp_path / "logs"
    status = main(["demo", "--epochs", "1", "--steps", "2", "--images", "8", "--test-images",
                   "4", "--size", "64", "--batch", "2", "--output", str(figures),
                   "--model-dir", str(logs)])
    out, err = capsys.readouterr()
    assert status == 0
    # one progress line of the project's (steps done of all, time left, loss), not Keras'
    assert not re.search(r"^Epoch \d+/\d+", out + err, re.M), out + err
    assert re.search(r"training: 100%.*\b2/2 \[.*loss=", err), err
    assert re.search(r"^mAP@0\.5: \d\.\d{3}$", out, re.M)
    assert re.search(r"^mAP@\[\.5:\.95\]: \d\.\d{3}$", out, re.M)
    assert re.search(r"^\|\s*segm\s*\|", out, re.M) and "APs" in out  # the COCO tables
    assert (figures / "demo_detections.png").stat().st_size > 1000
    assert (figures / "demo_loss.png").stat().st_size > 1000
    checkpoint = re.search(r"^checkpoint: (.+)$", out, re.M).group(1)
    assert os.path.isfile(checkpoint)

    assert main(["evaluate", "--weights", checkpoint, "--dataset", "4x64", "--format",
                 "shapes", "--subset", "test"]) == 0
    out = capsys.readouterr().out
    assert "AP50" in out and "segm" in out
    assert re.search(r"^score threshold 0\.\d{3}, calibrated on \d+ validation images", out,
                     re.M)  # the demo's training calibrated it
    # counts.csv: each image's true count as the dataset holds it, and the two pictures
    import pandas as pd

    from maskrcnn.data import ShapesDataset
    folder = checkpoint[:-len(".h5")] + "_evaluation_test"
    assert f"outputs in {folder}" in out
    counts = pd.read_csv(os.path.join(folder, "counts.csv"))
    test = ShapesDataset(4, 64, 64, seed=1)
    assert counts["true_count"].tolist() == [len(test.load_mask(i)[1]) for i in test.image_ids]
    for picture in ("count_error.png", "operating_point.png"):
        assert os.path.getsize(os.path.join(folder, picture)) > 5000

    target = tmp_path / "model.weights.h5"
    assert main(["export", "--weights", checkpoint, "--output", str(target), "--format",
                 "weights"]) == 0
    assert target.is_file()


def test_errors_are_reported_not_raised(tmp_path, capsys):
    status = main(["evaluate", "--weights", str(tmp_path / "missing.h5"), "--dataset", "4x64",
                   "--format", "shapes"])
    assert status == 2
    assert "missing.h5" in capsys.readouterr().err


def test_train_from_scratch_trains_all_layers_and_refuses_heads(tmp_path, capsys):
    import json

    from conftest import TinyConfig
    fields = json.loads(TinyConfig().to_json())
    fields.update(STEPS_PER_EPOCH=1, BN_RECOMPUTE_IMAGES=0)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(fields))
    common = ["train", "--dataset", "4x64", "--format", "shapes", "--config", str(config),
              "--model-dir", str(tmp_path / "logs")]
    assert main(common + ["--layers", "heads"]) == 2
    err = capsys.readouterr().err
    assert "frozen, random backbone" in err and "--layers all" in err
    assert not (tmp_path / "logs").exists()  # refused before anything ran
    assert main(common + ["--steps", "2"]) == 0  # 1 step an epoch: 2 epochs planned
    out = capsys.readouterr().out
    assert "training layers 'all' from scratch" in out and "budget: 2 steps" in out
    assert re.search(r"^IMAGE_MAX_DIM\s+64$", out, re.M)  # the effective config is printed
    checkpoint = re.search(r"^checkpoint: (.+)$", out, re.M).group(1)
    assert os.path.isfile(checkpoint) and checkpoint.endswith("_0002.h5")


def test_train_takes_sizes_from_the_data_unless_told(capsys):
    import argparse

    from maskrcnn.cli.train import config_from
    from maskrcnn.data import ShapesDataset
    data = ShapesDataset(4, 96, 160, seed=1)
    args = argparse.Namespace(config=None, name="n", set=["IMAGE_MAX_DIM=256"], no_suggest=False)
    config = config_from(args, data)
    assert config.IMAGE_MAX_DIM == 256  # --set wins
    assert config.IMAGE_MIN_DIM == 128 and config.MAX_GT_INSTANCES == max(
        data.load_mask(i)[0].shape[-1] for i in data.image_ids)  # from the data
    assert "from the data" in capsys.readouterr().out
    args.no_suggest, args.set = True, None
    assert config_from(args, data).IMAGE_MIN_DIM == 800  # the Config default


def test_train_from_scratch_takes_the_recipe_unless_told(capsys):
    import argparse

    from maskrcnn.cli.train import config_from
    from maskrcnn.data import ShapesDataset
    from maskrcnn.presets import FROM_SCRATCH
    data = ShapesDataset(4, 96, 160, seed=1)
    args = argparse.Namespace(config=None, name="n", set=['BACKBONE="small"'], no_suggest=True)
    config = config_from(args, data, from_scratch=True)
    assert config.BACKBONE == "small"  # --set wins
    for field in set(FROM_SCRATCH) - {"BACKBONE"}:
        assert getattr(config, field) == FROM_SCRATCH[field], field
    assert config.TRAIN_BN and config.BOX_CONVENTION == "aligned"
    assert "from-scratch recipe" in capsys.readouterr().out
    args.lr = 0.003  # --lr is the config's LEARNING_RATE, over the recipe's
    assert config_from(args, data, from_scratch=True).LEARNING_RATE == 0.003
    args.set, args.lr = None, None
    assert config_from(args, data, from_scratch=False).BACKBONE == "resnet101"  # fine-tuning


def test_train_set_reads_json_and_takes_other_values_as_strings():
    import pytest

    from maskrcnn.cli.train import parse_set
    from maskrcnn.errors import ConfigError
    fields = parse_set(["IMAGE_RESIZE_MODE=crop", 'BACKBONE="small"', "IMAGE_MIN_DIM=384",
                        "RPN_ANCHOR_SCALES=[4, 8, 16, 32, 64]", "TRAIN_BN=false",
                        " COPY_PASTE = 0.5"])
    assert fields == {"IMAGE_RESIZE_MODE": "crop", "BACKBONE": "small", "IMAGE_MIN_DIM": 384,
                      "RPN_ANCHOR_SCALES": [4, 8, 16, 32, 64], "TRAIN_BN": False,
                      "COPY_PASTE": 0.5}
    for bad in ("IMAGE_MIN_DIM", "=3"):
        with pytest.raises(ConfigError, match="FIELD=VALUE"):
            parse_set([bad])


def test_train_turns_on_onednn_only_where_it_can_and_nobody_chose():
    from maskrcnn.cli.train import ONEDNN, choose_cpu_kernels
    environ = {}
    line = choose_cpu_kernels(environ, modules={})
    assert environ == {ONEDNN: "1"} and ONEDNN in line
    chosen = {ONEDNN: "0"}  # the user's choice stands
    assert choose_cpu_kernels(chosen, modules={}) is None and chosen == {ONEDNN: "0"}
    # TensorFlow already imported (a notebook): the variable would not take effect
    environ = {}
    assert choose_cpu_kernels(environ, modules={"tensorflow": object()}) is None
    assert environ == {}
