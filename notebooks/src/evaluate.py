# Source of notebooks/evaluate.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Evaluate a checkpoint
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/evaluate.ipynb)
#
# Score a trained model on held-out images: VOC-style mAP (matterport's
# `compute_ap`, mask IoU) and the COCO AP table for boxes and masks, precision/recall
# curves, the confusion matrix between classes, and the images the model does worst
# on.

# %include common/running.py

# %include common/setup.py

# %include common/checkpoint.py

# %include common/dataset.py

# %include common/training_dataset.py

# %% [markdown]
# ## The evaluation set and the model
#
# Held-out images of the chosen dataset: its `val` split, or new shapes images (a
# seed the training never saw). `LIMIT` caps the number of images. A low detection
# threshold gives the full precision/recall curves, as COCO's own evaluation does;
# the checkpoint's threshold is what users see.

# %%
SPLIT = "val"
LIMIT = 8 if SMOKE else None
MIN_CONFIDENCE = 0.05 if SMOKE else None  # None: the checkpoint's own threshold

overrides = ({} if MIN_CONFIDENCE is None
             else {"DETECTION_MIN_CONFIDENCE": MIN_CONFIDENCE})
model = MaskRCNN.from_checkpoint(str(CHECKPOINT), **overrides)
if DATASET == "shapes":
    SHAPES_SIZE = int(model.config.IMAGE_MAX_DIM)
eval_set = load_split(SPLIT, shapes_count=LIMIT or 60, seed=2)
print(f"{len(eval_set.image_ids)} images, classes {eval_set.class_names}")

# A class id must mean the same class for the model and the dataset.
from maskrcnn.evaluation import class_names_problem

problem = class_names_problem(model.class_names, eval_set.class_names)
if problem:
    raise ValueError(problem)
print("the model has the same classes")

# %% [markdown]
# ## mAP and the COCO table
#
# `evaluate_model` detects on each image (with a progress bar) and scores it. VOC mAP@0.5 and
# mAP@[.5:.95] are matterport's numbers; the COCO table (pycocotools, in percent)
# adds AP at 0.75 and by object size, for boxes and masks.

# %%
from maskrcnn.evaluation import evaluate_model

result = evaluate_model(model, eval_set, limit=LIMIT, verbose=False, progress=True)
print(f"VOC mAP@0.5:      {result.mAP50:.3f}")
print(f"VOC mAP@[.5:.95]: {result.mAP:.3f}")
print(f"{result.seconds_per_image:.3f} s per image")
result.coco_table()

# %% [markdown]
# ## Counting
#
# Per picture, detections counted against the objects in the ground truth: at the model's
# `DETECTION_MIN_CONFIDENCE`, and at the score threshold that counts best on these pictures.
# Chosen here, that threshold flatters these pictures: choose it on one labelled split and
# check it on another before counting with it (`maskrcnn detect --min-confidence`).

# %%
print("operating threshold:", result.counting())
best = result.best_counting()
print("best threshold here:", best)
import pandas as pd

pd.DataFrame({"picture": result.per_image["reference"], "true": best.truth,
              "counted (operating)": result.counting().counts, "counted (best)": best.counts})

# %% [markdown]
# ## Precision/recall curves
#
# Per class, at IoU 0.5, from the COCO evaluation of the masks. A curve that drops
# early means confident false positives; one that stops short of recall 1 means
# objects that were never found.

# %%
from maskrcnn.evaluation import plot_ap_histogram, plot_confusion_matrix, plot_precision_recall

plot_precision_recall(result.coco_segm, iou=0.5)

# %% [markdown]
# ## Confusion matrix
#
# Rows are the ground-truth classes, columns the predicted ones, matched at IoU 0.5.
# Row "background" counts detections that match no object (false positives), column
# "missed" the objects no detection matched. Normalised, each row shows where a
# class's objects went.

# %%
plot_confusion_matrix(result.confusion, result.class_names)

# %%
plot_confusion_matrix(result.confusion, result.class_names, normalize=True,
                      title="Confusion matrix, share of each row")

# %% [markdown]
# ## Per image: the worst ones
#
# The distribution of AP over the images, then the three with the lowest AP@0.5:
# ground truth on the left, detections on the right. They are where to look for
# labelling mistakes or for what the model has not learned yet.

# %%
plot_ap_histogram(result.per_image)

# %%
from IPython.display import display

from maskrcnn import visualize
from maskrcnn.data.transforms import extract_bboxes

evaluated = list(eval_set.image_ids[:len(result.per_image)])
worst = result.per_image.sort_values("AP50").head(3)
display(worst)
images, gts, preds = [], [], []
for position in worst.index:
    image, masks, class_ids = eval_set.load_image_and_masks(evaluated[position])
    r = model.detect([image])[0]
    images.append(image)
    gts.append((extract_bboxes(masks), masks, class_ids))
    preds.append((r["rois"], r["masks"], r["class_ids"], r["scores"]))
visualize.side_by_side(images, gts, preds, eval_set.class_names,
                       figsize=(8, 4 * len(images)))

# %% [markdown]
# ## How the checkpoint was trained
#
# The loss curves from the TensorBoard logs beside the checkpoint, when its run
# folder still has them.

# %%
from IPython.display import display

from maskrcnn import visualize

run_dir = Path(CHECKPOINT).parent
if any(run_dir.rglob("events.out.tfevents.*")):
    display(visualize.plot_losses(run_dir, title=run_dir.name))
else:
    print(f"no TensorBoard logs in {run_dir}")
