"""The ``maskrcnn`` command: a short demo, then evaluate and export its checkpoint."""
import os
import re

from maskrcnn.cli import main


def test_demo_evaluate_export(tmp_path, capsys):
    figures, logs = tmp_path / "figures", tmp_path / "logs"
    status = main(["demo", "--epochs", "1", "--steps", "2", "--images", "8", "--test-images",
                   "4", "--size", "64", "--batch", "2", "--output", str(figures),
                   "--model-dir", str(logs), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
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

    target = tmp_path / "model.weights.h5"
    assert main(["export", "--weights", checkpoint, "--output", str(target), "--format",
                 "weights"]) == 0
    assert target.is_file()


def test_errors_are_reported_not_raised(tmp_path, capsys):
    status = main(["evaluate", "--weights", str(tmp_path / "missing.h5"), "--dataset", "4x64",
                   "--format", "shapes"])
    assert status == 2
    assert "missing.h5" in capsys.readouterr().err
