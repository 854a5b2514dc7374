"""The notebooks: committed without outputs, up to date with their generator, and each one runs
top to bottom in smoke mode (synthetic shapes, tiny sizes) without a cell error.

Each run starts a python3 kernel in notebooks/ (as Jupyter does) with MASKRCNN_SMOKE=1 and
writes everything (checkpoints, logs, detections) to a temporary MASKRCNN_WORKDIR; nothing is
downloaded. About a minute per notebook on 2 CPU cores.
"""
import importlib.util
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ["inspect_data.ipynb", "train.ipynb", "detect.ipynb", "evaluate.ipynb"]
CELL_TIMEOUT = 300  # seconds per cell


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


def test_notebooks_match_their_generator():
    path = NOTEBOOK_DIR / "make_notebooks.py"
    if not path.exists():
        pytest.skip("no generator")
    spec = importlib.util.spec_from_file_location("make_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in NOTEBOOKS:
        text = nbformat.writes(module.build(name))
        assert text.strip() == (NOTEBOOK_DIR / name).read_text(encoding="utf-8").strip(), \
            f"{name} differs from make_notebooks.py: run python notebooks/make_notebooks.py"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_runs_in_smoke_mode(name, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKRCNN_SMOKE", "1")
    monkeypatch.setenv("MASKRCNN_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("MASKRCNN_CACHE", str(tmp_path / "cache"))  # never the user's cache
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as users have
    nb = _read(name)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    print(f"{name}: {time.perf_counter() - start:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 3, f"{name} showed only {images} figures"
    assert any((tmp_path / "work").iterdir()), "the outputs did not go to MASKRCNN_WORKDIR"
