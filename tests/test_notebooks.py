"""The notebooks: committed without outputs, exactly what notebooks/build.py writes from their
sources in notebooks/src/, a title cell that renders, and each one runs top to bottom in smoke
mode (synthetic shapes, the tiny preset) without a cell error.

Each run starts a python3 kernel in notebooks/ (as Jupyter does) with MASKRCNN_SMOKE=1 and
writes everything (checkpoints, logs, detections) to a temporary MASKRCNN_WORKDIR; nothing is
downloaded. The kernel imports the package of this checkout (PYTHONPATH), not whichever one
is installed. A run fails on a cell error, on any stderr output (red in Jupyter and Colab),
and on a cell that calls a figure function but shows no figure. demo.ipynb runs on a small
81-class model file the test writes in matterport's .h5 layout, and once without any
(the offline message). About a minute per notebook on 2 CPU cores. The executed notebook is
then exported to HTML with nbconvert (when installed, as the [dev] extra does): no progress
bar may print a line per step there, and the page stays small.
"""
import importlib.util
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ["inspect_data.ipynb", "train.ipynb", "inspect_model.ipynb", "detect.ipynb",
             "evaluate.ipynb", "demo.ipynb"]
CELL_TIMEOUT = 300  # seconds per cell
MAX_HTML_BYTES = 3_000_000
# A call that draws a figure: its cell must show one (an image/png output).
FIGURE_CALL = re.compile(
    r"\b(plot_\w+|display_(instances|anchors|rpn_targets|proposals|refinement|nms_by_class|"
    r"mask_grid|activations|mini_mask_round_trip|dataset_samples|top_masks|images|"
    r"differences)|side_by_side|draw_boxes|draw_rois|plot_curve|plot_grid)\(|"
    r"plt\.subplots\(|\.plot\.\w+\(")
# A line of a progress display: Keras' bar (box glyphs, or "12/100 [") or tqdm's ("40%|").
PROGRESS_LINE = re.compile(r"━|\d+/\d+ \[|\d+%\|")


def _read(name):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: cell {i} has outputs; strip them"
            assert cell.execution_count is None, f"{name}: cell {i} has an execution count"
    first_code = next(c.source for c in nb.cells if c.cell_type == "code")
    assert 'SMOKE = os.environ.get("MASKRCNN_SMOKE", "0") == "1"' in first_code


def _builder():
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOK_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebooks_are_what_the_builder_writes():
    """Rebuilding from notebooks/src/ gives the committed files byte for byte."""
    build = _builder()
    assert sorted(build.NOTEBOOKS) == sorted(NOTEBOOKS)
    for name in NOTEBOOKS:
        text = nbformat.writes(build.build(name)) + "\n"
        assert text == (NOTEBOOK_DIR / name).read_text(encoding="utf-8"), \
            f"{name} differs from notebooks/src/: run python notebooks/build.py"
    assert build.main(["--check"]) == 0


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_cell_is_a_title_that_renders(name):
    """Cell 0 is markdown with a level-1 title, and none of its lines is indented by four
    spaces (Markdown would show that paragraph as code)."""
    cell = _read(name).cells[0]
    assert cell.cell_type == "markdown"
    assert cell.source.startswith("# ")
    assert [line for line in cell.source.splitlines() if line.startswith("    ")] == []
    assert f"notebooks/{name})" in cell.source, "the Colab badge opens this notebook"


def test_builder_reads_percent_cells(tmp_path, monkeypatch):
    build = _builder()
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "shared.py").write_text("# notes\n# %%\nshared = 1\n")
    (tmp_path / "demo.py").write_text(
        "# notes before the first cell are dropped\n\n"
        "# %% [markdown]\n# # Title\n#\n# text\n\n"
        "# %include common/shared.py\n\n"
        "# %%\nif True:\n    # %matplotlib inline\n    x = 1  # a comment stays\n")
    monkeypatch.setattr(build, "SOURCES", tmp_path)
    cells = build.build("demo.ipynb").cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[0].source == "# Title\n\ntext"
    assert cells[1].source == "shared = 1"
    assert cells[2].source == "if True:\n    %matplotlib inline\n    x = 1  # a comment stays"
    assert [c.id for c in cells] == ["demo-00", "demo-01", "demo-02"]


def _coco_sized_weights(path):
    """A small stand-in for mask_rcnn_coco.h5: the tiny network with COCO's 81 classes,
    written as matterport's files are (weights by layer name, no config)."""
    from conftest import TinyConfig

    from maskrcnn import MaskRCNN
    from maskrcnn.checkpoint.h5 import save_weights_h5

    class Coco(TinyConfig):
        NUM_CLASSES = 81

    model = MaskRCNN("inference", Coco(), model_dir=str(path.parent))
    save_weights_h5(model.keras_model.leaf_layers(), str(path))
    return path


def execute(name, tmp_path, monkeypatch, env=()):
    """Run notebook ``name`` in smoke mode; returns it executed, after the checks that
    every run must pass (no error, nothing on stderr)."""
    monkeypatch.setenv("MASKRCNN_SMOKE", "1")
    monkeypatch.setenv("MASKRCNN_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("MASKRCNN_CACHE", str(tmp_path / "cache"))  # never the user's cache
    # this checkout's package, not an installed one (the kernel starts in notebooks/)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as users start Jupyter
    monkeypatch.delenv("MASKRCNN_COCO_WEIGHTS", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as users have
    for key, value in dict(env).items():
        monkeypatch.setenv(key, value)
    nb = _read(name)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    seconds = time.perf_counter() - start
    print(f"{name}: {seconds:.1f} s, executed .ipynb {len(nbformat.writes(nb).encode())} bytes")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    # red text in Jupyter and Colab: TensorFlow's start-up notices, warnings, tracebacks
    red = ["".join(o["text"]) for c in nb.cells if c.cell_type == "code" for o in c.outputs
           if o.output_type == "stream" and o.get("name") == "stderr"]
    assert not red, f"{name} wrote to stderr: {red[0][:500]}"
    return nb


def figure_cells_without_figure(nb) -> list[str]:
    """The code cells that call a figure function (FIGURE_CALL) but show no image."""
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not FIGURE_CALL.search(cell.source):
            continue
        if not any("image/png" in o.get("data", {}) for o in cell.outputs):
            missing.append(f"cell {i}: {cell.source.splitlines()[0][:70]}")
    return missing


def test_figure_cells_are_found():
    """The check itself: which sources count as drawing a figure."""
    assert FIGURE_CALL.search("model_parts.plot_rpn_deltas(parts.rpn_deltas)")
    assert FIGURE_CALL.search("matches.plot_grid(eval_set.class_names)")
    assert FIGURE_CALL.search("ax = shares.plot.bar(figsize=(9, 3.5))")
    assert FIGURE_CALL.search("visualize.side_by_side(images, gts, preds, names)")
    assert not FIGURE_CALL.search("visualize.display_weight_stats(model)")
    assert not FIGURE_CALL.search("result.per_class_ap().round(1)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot_count_error(r)")])
    assert figure_cells_without_figure(nb) == ["cell 0: plot_count_error(r)"]
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", {"image/png": "AA=="})]
    assert figure_cells_without_figure(nb) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_runs_in_smoke_mode(name, tmp_path, monkeypatch):
    env = {}
    if name == "demo.ipynb":  # matterport's COCO weights, offline: a small file of that kind
        env["MASKRCNN_COCO_WEIGHTS"] = str(_coco_sized_weights(tmp_path / "coco_tiny.h5"))
    nb = execute(name, tmp_path, monkeypatch, env)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 3, f"{name} showed only {images} figures"
    missing = figure_cells_without_figure(nb)
    assert not missing, f"{name}: cells that draw but show no figure: {missing}"
    if name != "demo.ipynb":
        assert any((tmp_path / "work").iterdir()), "the outputs did not go to MASKRCNN_WORKDIR"
    check_html_export(nb, name)


@pytest.mark.slow
def test_demo_without_weights_says_what_to_do(tmp_path, monkeypatch):
    """Offline and without mask_rcnn_coco.h5: a message that names the file and where to put
    it, every later cell skipped, no error and nothing red."""
    nb = execute("demo.ipynb", tmp_path, monkeypatch)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
    assert "No COCO weights" in text and "mask_rcnn_coco.h5" in text
    assert "releases/download" in text and "skipped" in text
    assert not any("image/png" in o.get("data", {}) for c in nb.cells
                   if c.cell_type == "code" for o in c.outputs)


def progress_lines(text: str) -> list[str]:
    """The lines of ``text`` that a progress display printed, as a page shows them: what a
    carriage return overwrote is gone, as in a terminal or notebook front end."""
    shown = (line.rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n"))
    return [line for line in shown if PROGRESS_LINE.search(line)]


def test_progress_lines_are_what_a_page_shows():
    keras_bar = "".join(f"\r{k}/8 ━━━━━ 1s/step - loss: 2.0" for k in range(1, 9))
    assert progress_lines(keras_bar + "\n") == ["8/8 ━━━━━ 1s/step - loss: 2.0"]
    per_step = "\n".join(f"{k}/8 [====>....] - loss: 2.0" for k in range(1, 9))
    assert len(progress_lines(per_step)) == 8
    assert progress_lines("Epoch 1/2\n4/4 - 3s - 700ms/step - loss: 9.1\n") == []


def check_html_export(nb, name):
    """The executed notebook as an HTML page: each progress display at most one line per
    code cell (not one per step), and under MAX_HTML_BYTES."""
    nbconvert = pytest.importorskip("nbconvert")
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    print(f"{name}: HTML {len(html.encode())} bytes")
    assert len(html.encode()) < MAX_HTML_BYTES, f"{name}: the page is {len(html)} bytes"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        text += "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        lines = progress_lines(text)
        assert len(lines) <= 2, f"{name}: cell {i} printed {len(lines)} progress lines: {lines[:3]}"
    # A page prints what a carriage return overwrote: each part is a line there.
    page_lines = progress_lines(re.sub(r"<[^>]+>", "", html).replace("\r", "\n"))
    assert len(page_lines) <= len(nb.cells), f"{name}: {len(page_lines)} progress lines in HTML"
