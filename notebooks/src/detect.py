# Source of notebooks/detect.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Detect objects in a folder of images
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/OWNER/maskrcnn/blob/main/notebooks/detect.ipynb)
#
# Load a trained checkpoint, run detection on every image of a folder, look at the
# detections, and measure how much of each image every class covers (the area
# shares table).

# %include common/running.py

# %include common/setup.py

# %include common/checkpoint.py

# %% [markdown]
# ## Load the model
#
# `from_checkpoint` rebuilds the model in inference mode from the file alone.
# Config fields can be changed on the way; the detection threshold is the usual
# one. (For a matterport `.h5`, pass `config=YourConfig()` and set
# `model.class_names`.)

# %%
MIN_CONFIDENCE = 0.3 if SMOKE else 0.7

model = MaskRCNN.from_checkpoint(str(CHECKPOINT),
                                 DETECTION_MIN_CONFIDENCE=MIN_CONFIDENCE)
print("classes:", model.class_names)
print(f"images resized to {model.config.IMAGE_MAX_DIM} px, backbone "
      f"{model.config.BACKBONE}")

# %% [markdown]
# ## The test folder
#
# Set `INPUT_DIR` to a folder of images (e.g. `DATASET_DIR / "balloon/val"` or one on
# Drive). Left at `None`, a few synthetic shapes images are written to
# `runs/test_images/`, matching the shapes model of `train.ipynb`.

# %%
from PIL import Image

from maskrcnn.data import ShapesDataset

INPUT_DIR = None
OUTPUT_DIR = WORKDIR / "detections"

if INPUT_DIR is None:
    INPUT_DIR = WORKDIR / "test_images"
    INPUT_DIR.mkdir(parents=True, exist_ok=True)
    size = int(model.config.IMAGE_MAX_DIM)
    shapes = ShapesDataset(4 if SMOKE else 12, size, size, seed=7)
    for i in shapes.image_ids:
        Image.fromarray(shapes.load_image(i)).save(INPUT_DIR / f"shapes_{i:02d}.png")
print(sorted(p.name for p in Path(INPUT_DIR).iterdir())[:10])

# %% [markdown]
# ## Detect on the whole folder
#
# `detect_folder` runs the model on every image (in batches), and writes to
# `OUTPUT_DIR` an annotated picture per image, `detections.json` (COCO results with
# RLE masks), `images.csv` (per image and class: instance count and share of the
# image covered) and `summary.csv`. Unreadable files are reported and skipped;
# `resume=True` continues an interrupted run. The same is available as
# `maskrcnn detect` on the command line.

# %%
from maskrcnn.inference import area_shares, detect_folder, summarize

df = detect_folder(model, str(INPUT_DIR), str(OUTPUT_DIR))
df[["file", "status", "instances", "any_object_share"]]

# %% [markdown]
# ## The detections
#
# `model.detect` takes a list of images of any size and returns, per image, boxes
# (`rois`), `class_ids`, `scores` and full-size `masks`; `display_instances` draws
# them (matterport's call).

# %%
import numpy as np

from maskrcnn import visualize

files = sorted(Path(INPUT_DIR).iterdir())[:2]
for path in files:
    image = np.asarray(Image.open(path).convert("RGB"))
    r = model.detect([image])[0]
    visualize.display_instances(image, r["rois"], r["masks"], r["class_ids"],
                                model.class_names, r["scores"], figsize=(6, 6),
                                title=path.name)

# %% [markdown]
# ## Area shares
#
# For one result: per class, the instance count, the pixels covered by the union of
# its masks (overlapping instances count once) and the share of the image. Then the
# same over the folder: `summarize` gives, per class, the number of images it was
# found in, the instances, and the mean and largest share.

# %%
area_shares(r, model.class_names)

# %%
summarize(df)

# %%
import matplotlib.pyplot as plt

share_columns = [c for c in df.columns if c.endswith("_share")]
shares = df.set_index(df["file"].map(lambda f: Path(f).name))[share_columns]
ax = shares.plot.bar(figsize=(9, 3.5), rot=45, title="share of each image covered")
ax.set_ylabel("share of the image")
plt.show()

# %% [markdown]
# ## The pictures on disk
#
# The annotated images that `detect_folder` wrote, ready to share.

# %%
shown = df.dropna(subset=["annotated"]).head(4)
pictures = [np.asarray(Image.open(OUTPUT_DIR / a)) for a in shown["annotated"]]
visualize.display_images(pictures, titles=[Path(f).name for f in shown["file"]])
