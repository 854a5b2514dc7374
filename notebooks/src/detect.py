# Source of notebooks/detect.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Detect objects in a folder of images
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/detect.ipynb)
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
# Config fields can be changed on the way. The detection threshold is the one the
# checkpoint carries (calibrated at the end of training so that counts come out right);
# `MIN_CONFIDENCE` replaces it. (For a matterport `.h5`, pass `config=YourConfig()` and
# set `model.class_names`.)

# %%
MIN_CONFIDENCE = 0.3 if SMOKE else None  # None: the checkpoint's operating threshold

model = MaskRCNN.from_checkpoint(str(CHECKPOINT), **(
    {} if MIN_CONFIDENCE is None else {"DETECTION_MIN_CONFIDENCE": MIN_CONFIDENCE}))
print("classes:", model.class_names)
if MIN_CONFIDENCE is None and model.calibration is not None:
    print("operating threshold:", model.calibration.describe())
else:
    print(f"operating threshold: {model.config.DETECTION_MIN_CONFIDENCE}")
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
from maskrcnn.inference import area_shares, detect_folder, list_images, summarize

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

files = [Path(f) for f in list_images(str(INPUT_DIR))[:2]]  # image files only
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

# %% [markdown]
# ## Correct the predictions in VIA and train on them
#
# The fastest way to more labels: let the model draw them and have a person correct
# them. `detect_folder(..., annotations="via")` also writes the kept detections as a
# [VGG Image Annotator (VIA)](https://www.robots.ox.ac.uk/~vgg/software/via/) 2 project,
# `OUTPUT/annotations/via_project.json`: one polygon per instance, its class in the
# region attribute `class` (a dropdown of the model's classes) and the model's score in
# `score`. (`"coco"`, `"labelme"` and `"yolo"` write the other formats;
# `maskrcnn detect ... --annotations via` does the same on the command line.)

# %%
REVIEW_DIR = WORKDIR / "review"

review = detect_folder(model, str(INPUT_DIR), str(REVIEW_DIR), annotations="via",
                       progress=False)
PROJECT = REVIEW_DIR / "annotations" / "via_project.json"
print(f"{int(review['instances'].sum())} instances in {len(review)} images -> {PROJECT}")

# %% [markdown]
# **Correct them in VIA.** Download VIA 2 (`via.html`, from the
# [VIA page](https://www.robots.ox.ac.uk/~vgg/software/via/); it runs offline in the
# browser, nothing to install) and open it. *Project > Load* and choose
# `via_project.json` (on Colab, download it first from the file browser, with the
# images of `INPUT_DIR`). If VIA shows the images as missing, set *Project > Settings >
# Default Path* to the folder that holds them (ending in `/`), or add them with *Add
# Files*. Then, image by image: move the points of a polygon, delete wrong regions
# (select, `d`), draw missing ones with the polygon tool, and set each region's `class`
# in the attribute editor (`Space` toggles it). *Project > Save* downloads the
# corrected project: set `CORRECTED` to that file (upload it back on Colab).
#
# Left at `None`, nothing below merges or trains: Run all never trains a model on its own
# predictions. (Smoke mode, for the tests, stands in for the person: it removes the first
# region of the first image that has one and saves that as the correction.)

# %%
CORRECTED = None  # e.g. WORKDIR / "via_project_corrected.json"

if CORRECTED is None and not SMOKE:
    print("CORRECTED is not set: correct via_project.json in VIA, set CORRECTED to the saved "
          "file and run the cells below; until then they merge and train nothing")
elif CORRECTED is None:
    project = json.loads(PROJECT.read_text())
    for entry in project["_via_img_metadata"].values():
        if entry["regions"]:
            removed = entry["regions"].pop(0)
            print(f"{entry['filename']}: removed a {removed['region_attributes']['class']}")
            break
    CORRECTED = REVIEW_DIR / "via_project_corrected.json"
    CORRECTED.write_text(json.dumps(project))

# %% [markdown]
# **Read the corrections back and merge them.** `load_via` reads a VIA project (or
# export) into a dataset; `class_names` keeps the model's class order. Then
# `merge_annotations` puts the corrections into the originals image by image
# (corrections win; images are matched by file name) and reports what changed:
# instances added, removed, redrawn or relabelled. Here both are the model's
# predictions; with a hand-made training set, merge into that instead.

# %%
from maskrcnn.data.merge import merge_annotations
from maskrcnn.data.readers.via import load_via
from maskrcnn.evaluation import class_names_problem

merged = None
if CORRECTED is not None:
    classes = model.class_names[1:]
    original = load_via(PROJECT, INPUT_DIR, class_attribute="class", class_names=classes)
    corrected = load_via(CORRECTED, INPUT_DIR, class_attribute="class", class_names=classes)
    merged, report = merge_annotations(original, corrected)
    print(report)
    problem = class_names_problem(model.class_names, merged.class_names)
    if problem:
        raise ValueError(problem)

# %% [markdown]
# **Train on them.** The model is rebuilt for training from the checkpoint and trained
# on the merged annotations (usually together with the original training set, at a
# lower learning rate, all layers as in its training); the new checkpoint goes to
# `MODEL_DIR` in a new run folder, whose checkpoints name the one they started from
# (`parent`), so the run that was evaluated stays as it was. An image may hold as many
# instances as the model detects
# (`DETECTION_MAX_INSTANCES`), so `MAX_GT_INSTANCES` is raised to that.
# In smoke mode a couple of steps only.

# %%
if merged is not None:
    c = model.config
    retrain = MaskRCNN.from_checkpoint(
        str(CHECKPOINT), mode="training", model_dir=str(MODEL_DIR),
        MAX_GT_INSTANCES=max(c.MAX_GT_INSTANCES, c.DETECTION_MAX_INSTANCES),
        **({"STEPS_PER_EPOCH": 2} if SMOKE else {}))
    retrain.set_log_dir()  # a new run: the evaluated one is left as it is
    history = retrain.train(merged, None, learning_rate=retrain.config.LEARNING_RATE / 10,
                            epochs=retrain.epoch + 1, layers="all", verbose=0 if SMOKE else 1)
    print(f"trained on the corrections: {retrain.find_last()} (started from {CHECKPOINT})")
else:
    print("nothing trained (CORRECTED is not set)")
