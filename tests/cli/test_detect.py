"""`maskrcnn detect`: options reach detect_folder; errors are exit statuses, not raised."""
import json

import pandas as pd
import pytest

from maskrcnn.cli import build_parser

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_cli_detect_writes_the_files(trained_tiny, image_folder, tmp_path, capsys):
    parser = build_parser()
    output = tmp_path / "cli"
    args = parser.parse_args(["detect", "--weights", trained_tiny[1], "--input",
                              str(image_folder / "a_color.png"), str(image_folder / "*.jpg"),
                              "--output", str(output), "--min-confidence", "0.01",
                              "--classes", "circle,square", "--batch", "3", "--device", "cpu"])
    assert args.func(args) == 0
    df = pd.read_csv(output / "images.csv")
    assert len(df) == 4 and (df["status"] == "ok").sum() == 3
    assert "triangle_count" not in df and "circle_count" in df
    records = json.loads((output / "detections.json").read_text())
    assert all(r["category_id"] in (1, 2) and r["score"] >= 0.01 for r in records)
    captured = capsys.readouterr()
    assert "images/s" in captured.out and "g_broken.jpg" in captured.out + captured.err


def test_class_names_differing_from_the_checkpoints_are_refused(trained_tiny, image_folder,
                                                                 tmp_path, capsys):
    """A checkpoint carries its class names: --class-names must not relabel them."""
    _, checkpoint = trained_tiny
    parser = build_parser()
    image = str(image_folder / "a_color.png")
    args = parser.parse_args(["detect", "--weights", checkpoint, "--input", image, "--output",
                              str(tmp_path / "relabel"), "--class-names",
                              "square,dog,triangle", "--device", "cpu"])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "class 2: 'circle' in the model, 'dog' given" in err and "square" in err
    assert not (tmp_path / "relabel" / "images.csv").exists()
    args = parser.parse_args(["detect", "--weights", checkpoint, "--input", image, "--output",
                              str(tmp_path / "same"), "--class-names",
                              "square,circle,triangle", "--device", "cpu"])
    assert args.func(args) == 0
