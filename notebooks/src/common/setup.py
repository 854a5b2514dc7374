# Cells shared by the notebooks: setup.
# Included by the sources in notebooks/src/ with "# %include common/setup.py".
# ruff: noqa: E402, F821

# %% [markdown]
# ## Setup
#
# `SMOKE` is read from the environment so that the tests can switch it on; set it to
# `True` by hand for a quick look. On Colab the package is installed from GitHub: set
# `REPO_URL` to the repository you work from (your fork, or the project's). Colab's
# TensorFlow is kept. Figures are drawn inline; then we check for a GPU.

# %%
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

# Smoke mode: synthetic shapes, tiny images, a few steps (about a minute on a CPU).
SMOKE = os.environ.get("MASKRCNN_SMOKE", "0") == "1"

IN_COLAB = "google.colab" in sys.modules
# Edit: the repository to install from on Colab (your fork or the project's).
REPO_URL = "https://github.com/OWNER/maskrcnn"

if IN_COLAB and find_spec("maskrcnn") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPO_URL}"],
                   check=True)

# %matplotlib inline
import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
print(f"TensorFlow {tf.__version__}, GPUs: {[g.name for g in gpus] or 'none'}")
if not gpus and IN_COLAB:
    print("No GPU runtime: choose Runtime > Change runtime type > GPU (e.g. T4), "
          "then run the notebook again.")
elif not gpus:
    print("No GPU: everything runs on the CPU (fine for smoke mode and the shapes "
          "demo, slow for real datasets).")

# %% [markdown]
# ## Paths and Google Drive
#
# On Colab, files in the runtime disappear when it is recycled: set `USE_DRIVE = True`
# to mount Google Drive, read dataset zips from it and keep checkpoints there. Locally
# (Jupyter starts in `notebooks/`) paths are taken relative to the repository: datasets
# in `dataset/`, outputs in `runs/` (ignored by git). `MASKRCNN_WORKDIR` in the
# environment overrides where outputs go (the tests use a temporary folder).

# %%
USE_DRIVE = False  # Colab only: mount Google Drive
DRIVE_DIR = Path("/content/drive/MyDrive/maskrcnn")

if IN_COLAB and USE_DRIVE:
    from google.colab import drive

    drive.mount("/content/drive")
    DRIVE_DIR.mkdir(parents=True, exist_ok=True)


def find_repo_root(start: Path) -> Path:
    """The checkout holding this notebook (Jupyter starts in notebooks/)."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "maskrcnn").is_dir():
            return folder
    return start


ROOT = find_repo_root(Path.cwd().resolve())
DATASET_DIR = ROOT / "dataset"
WORKDIR = Path(os.environ.get("MASKRCNN_WORKDIR")
               or (DRIVE_DIR if IN_COLAB and USE_DRIVE else ROOT / "runs"))
MODEL_DIR = WORKDIR / "logs"  # one folder per training run, checkpoints inside
WORKDIR.mkdir(parents=True, exist_ok=True)
print(f"root: {ROOT}\ndatasets: {DATASET_DIR}\noutputs: {WORKDIR}")
