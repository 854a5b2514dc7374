# Cells shared by the notebooks: setup.
# Included by the sources in notebooks/src/ with "# %include common/setup.py".
# ruff: noqa: E402, F821

# %% [markdown]
# ## Setup
#
# `SMOKE` is read from the environment so that the tests can switch it on; set it to
# `True` by hand for a quick look. On Colab the package is installed from GitHub
# (`REPO_URL` at `REPO_REF`, a branch, tag or commit; Colab's TensorFlow is kept). Run
# again, the cell reinstalls only when the installed commit differs from the one
# `REPO_REF` names now. Figures are drawn inline; then we check for a GPU.

# %%
import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

# Smoke mode: synthetic shapes, tiny images, a few steps (about a minute on a CPU).
SMOKE = os.environ.get("MASKRCNN_SMOKE", "0") == "1"

IN_COLAB = "google.colab" in sys.modules
# The repository to install from on Colab (your fork or the project's), and what of it.
REPO_URL = "https://github.com/{GITHUB_REPO}"
REPO_REF = "main"


def installed_commit():
    """The git commit pip installed maskrcnn from (None: not installed from git)."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        text = distribution("maskrcnn").read_text("direct_url.json") or "{}"
    except PackageNotFoundError:
        return None
    return json.loads(text).get("vcs_info", {}).get("commit_id")


def wanted_commit():
    """The commit REPO_REF names on REPO_URL now (REPO_REF itself for a commit id)."""
    out = subprocess.run(["git", "ls-remote", REPO_URL, REPO_REF],
                         capture_output=True, text=True).stdout.split()
    return out[0] if out else REPO_REF


if IN_COLAB:
    have, want = installed_commit(), wanted_commit()
    if find_spec("maskrcnn") is None or not (have or "").startswith(want):
        print(f"installing maskrcnn {want[:12]} from {REPO_URL} "
              f"(installed: {(have or 'none')[:12]})")
        spec = [f"git+{REPO_URL}@{want}"]
        pip = [sys.executable, "-m", "pip", "install", "-q"]
        if find_spec("maskrcnn") is not None:  # replace the package, keep the rest
            subprocess.run(pip + ["--force-reinstall", "--no-deps"] + spec, check=True)
        subprocess.run(pip + spec, check=True)  # (new) dependencies
        if "maskrcnn" in sys.modules:
            print("maskrcnn was imported before: Runtime > Restart session, then run "
                  "the notebook again")
    else:
        print(f"maskrcnn {have[:12]} is installed, as {REPO_REF} names")

# %matplotlib inline
import maskrcnn  # before TensorFlow: it keeps TensorFlow's log and start-up notices quiet

# isort: split
import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
print(f"maskrcnn {maskrcnn.__version__}, TensorFlow {tf.__version__}, "
      f"GPUs: {[g.name for g in gpus] or 'none'}")
if not gpus and IN_COLAB:
    print("No GPU runtime: choose Runtime > Change runtime type > GPU (e.g. T4), "
          "then run the notebook again.")
elif not gpus:
    print("No GPU: everything runs on the CPU (fine for smoke mode and the shapes "
          "demo, slow for real datasets).")

# %% [markdown]
# ## Paths and Google Drive
#
# On Colab, files in the runtime (`/content/...`) disappear when it is recycled, after
# at most a few hours or when you disconnect: with `USE_DRIVE = True` (the default)
# Google Drive is mounted (Colab asks for access once per runtime), and checkpoints,
# logs and detections go to `MyDrive/maskrcnn/`, where `detect.ipynb` and
# `evaluate.ipynb` find them in a fresh runtime; dataset zips can be read from there
# too. Training keeps only the last and the best checkpoint of a run
# (`CHECKPOINTS_KEEP = "last_and_best"`), so Drive holds two files per run, not one per
# epoch. Locally (Jupyter starts in `notebooks/`) `USE_DRIVE` does nothing and paths are
# taken relative to the repository: datasets in `dataset/`, outputs in `runs/` (ignored
# by git). `MASKRCNN_WORKDIR` in the environment overrides where outputs go (the tests
# use a temporary folder).

# %%
USE_DRIVE = True  # Colab only: mount Google Drive and keep the outputs there
DRIVE_DIR = Path("/content/drive/MyDrive/maskrcnn")

if IN_COLAB and USE_DRIVE:
    from google.colab import drive

    drive.mount("/content/drive")
    DRIVE_DIR.mkdir(parents=True, exist_ok=True)
elif IN_COLAB:
    print("Drive is off (USE_DRIVE = False): checkpoints and outputs are written to "
          "/content/runs and vanish with this runtime; download what you want to keep, "
          "or set USE_DRIVE = True and run this cell again before training.")


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
