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
# `compute_ap`, mask IoU) and the COCO AP table for boxes and masks, per-class AP, the
# counts at the operating point (what each counted detection is), precision/recall
# curves, the confusion matrix between classes, the images the model does worst on and,
# for the worst, its precision/recall curve and overlaps grid.

# %include common/running.py

# %include common/setup.py

# %include common/checkpoint.py

# %include common/dataset.py

# %include common/training_dataset.py

# %% [markdown]
# ## The evaluation set and the model
#
# Held-out images of the chosen dataset: its `val` split, or new shapes images (a
# seed the training never saw). `LIMIT` caps the number of images.
#
# Two thresholds, two purposes. AP (VOC and COCO) integrates precision over every recall
# level, so `evaluate_model` always scores the detections down to 0.05, whatever threshold
# the model has: **no threshold changes AP**. Counts, the confusion matrix and the pictures
# are at the *operating threshold*, the `DETECTION_MIN_CONFIDENCE` the checkpoint carries
# (calibrated at the end of training so that the counts come out right).
# `OPERATING_THRESHOLD` replaces it here (None: the checkpoint's; smoke mode lowers it, as
# the briefly trained model is unsure of everything).

# %%
SPLIT = "val"
LIMIT = 8 if SMOKE else None
OPERATING_THRESHOLD = 0.05 if SMOKE else None  # None: the checkpoint's own; AP ignores it

overrides = ({} if OPERATING_THRESHOLD is None
             else {"DETECTION_MIN_CONFIDENCE": OPERATING_THRESHOLD})
model = MaskRCNN.from_checkpoint(str(CHECKPOINT), **overrides)
if DATASET == "shapes":
    SHAPES_SIZE = int(model.config.IMAGE_MAX_DIM)
eval_set = load_split(SPLIT, shapes_count=LIMIT or 60, seed=2)
print(f"{len(eval_set.image_ids)} images, classes {eval_set.class_names}")
if OPERATING_THRESHOLD is not None:
    print(f"operating threshold: {OPERATING_THRESHOLD} (set here)")
elif model.calibration is not None:
    print("operating threshold:", model.calibration.describe())
else:
    print(f"operating threshold: {model.config.DETECTION_MIN_CONFIDENCE} (the config's; "
          "this checkpoint was not calibrated: `maskrcnn calibrate` chooses one)")

# A class id must mean the same class for the model and the dataset.
from maskrcnn.evaluation import class_names_problem

problem = class_names_problem(model.class_names, eval_set.class_names)
if problem:
    raise ValueError(problem)
print("the model has the same classes")

# %% [markdown]
# ## mAP and the COCO table
#
# `evaluate_model` detects on each image (with a progress bar) and scores it. VOC mAP@0.5
# and mAP@[.5:.95] are matterport's numbers (the mean of per-image APs), the COCO table
# (pycocotools) adds AP at 0.75 and by object size, for boxes and masks; all in percent
# here (matterport printed VOC mAP as a fraction: 0.853 there is 85.3 % here).

# %%
from maskrcnn.evaluation import evaluate_model

result = evaluate_model(model, eval_set, limit=LIMIT, verbose=False, progress=True)
print(f"VOC mAP@0.5:      {100 * result.mAP50:.1f} %")
print(f"VOC mAP@[.5:.95]: {100 * result.mAP:.1f} %")
print(f"{result.seconds_per_image:.3f} s per image")
print("COCO AP and AR (%):")
result.coco_table().round(1)

# %% [markdown]
# ## Per class
#
# COCO AP over IoU 0.50:0.95 and at 0.50, for boxes and masks, per class (percent), with
# the number of objects: a class with few objects has a noisy AP.

# %%
result.per_class_ap().round(1)

# %% [markdown]
# ## Counting at the operating point
#
# Per picture, the detections counted at the operating threshold against the objects
# in the ground truth, and what each counted detection is: `correct`, a `duplicate` of
# an object already found, a `fragment` of one, `merged` objects, in an `ignore_region`,
# or on `background`; then the objects `missed`, and how many of the wrong detections
# touch the image border (a counting convention the annotations may follow). The best
# threshold for *these* pictures flatters them: choose a threshold on one labelled split
# (`maskrcnn calibrate`) and check it on another.

# %%
from IPython.display import display

precision, recall, f1 = result.f1()
print("operating threshold:", result.counting())
print(f"  precision {100 * precision:.0f} %, recall {100 * recall:.0f} %, F1 {100 * f1:.0f} % "
      f"(mask IoU >= {result.iou_threshold:.2f})")
print("best threshold here:", result.best_counting())
display(result.breakdown().rename("detections / objects").to_frame())


def as_percent(table):
    """The count error and the shares of a per-image table in percent, as the text says."""
    columns = {"count_error": "count error (%)", "true_share": "true share (%)",
               "counted_share": "counted share (%)"}
    table = table.copy()
    for name in columns:
        if name in table:
            table[name] = (100 * table[name]).round(1)
    return table.rename(columns=columns)


as_percent(result.counts_table()).head(12)

# %% [markdown]
# Left: the mean per-image count error (percent) and F1 against the score threshold, the
# operating and the best threshold marked. Right: precision against recall over every
# threshold, the operating point marked.

# %%
from maskrcnn.evaluation import plot_count_error, plot_operating_point

plot_count_error(result)

# %%
plot_operating_point(result)

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
display(as_percent(worst))
images, gts, preds = [], [], []
for position in worst.index:
    image, masks, class_ids = eval_set.load_image_and_masks(evaluated[position])
    r = model.detect([image])[0]
    images.append(image)
    gts.append((extract_bboxes(masks), masks, class_ids))
    preds.append((r["rois"], r["masks"], r["class_ids"], r["scores"]))
visualize.side_by_side(images, gts, preds, eval_set.class_names)

# %% [markdown]
# ## The worst image, prediction by prediction
#
# As matterport's inspect_model notebook shows one image: its precision/recall curve at
# IoU 0.5 (detections ranked by score), then the grid of mask IoU between every detection
# (rows, best score first) and every object (columns); "match" marks a detection that
# counts as finding its object (same class, IoU >= 0.5), "wrong" an overlap with another
# class.

# %%
from maskrcnn.evaluation import image_matches

_, worst_masks, worst_ids = gts[0]
matches = image_matches(worst_masks, worst_ids, {"rois": preds[0][0], "masks": preds[0][1],
                                                 "class_ids": preds[0][2],
                                                 "scores": preds[0][3]})
matches.plot_curve()

# %%
matches.plot_grid(eval_set.class_names)

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
