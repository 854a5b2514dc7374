# Source of notebooks/inspect_data.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Inspect a dataset
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/inspect_data.ipynb)
#
# Look at a dataset before training on it: instance counts per class, images with
# their masks, every problem the readers found (with file and item), the anchors the
# model will match against the objects, and what augmentation does to an image and
# its masks.

# %include common/running.py

# %include common/setup.py

# %include common/dataset.py

# %% [markdown]
# ## Read one split and check it
#
# `strict=False` makes the reader go on past bad items, recording each problem,
# instead of stopping at the first. `inspect_dataset` then loads every image and its
# masks and adds what only loading shows (missing or unreadable images, masks that
# do not fit, empty masks).

# %%
from maskrcnn.data.inspect import inspect_dataset

SPLIT = "train"
dataset = load_split(SPLIT, shapes_count=12 if SMOKE else 200, strict=False)
report = inspect_dataset(dataset)
print(report.summary(max_problems=20))

# %% [markdown]
# ## Counts per class
#
# Instances per class, instances per image, and object sizes in COCO's buckets
# (small < 32² px, large ≥ 96² px). A class with few instances, or mostly small
# objects, tells you what to expect from training.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

counts = pd.Series(report.class_counts, name="instances").sort_values()
fig, axes = plt.subplots(1, 3, figsize=(14, 3.5), layout="constrained")
counts.plot.barh(ax=axes[0], title="instances per class", xlabel="instances")
per_image = np.array(list(report.instances_per_image.values()))
axes[1].hist(per_image, bins=np.arange(per_image.max() + 2) - 0.5)
axes[1].set(title="instances per image", xlabel="instances", ylabel="images")
pd.Series(report.size_counts).plot.bar(ax=axes[2], title="object sizes", rot=0,
                                       ylabel="instances")
plt.show()

# %% [markdown]
# ## Samples with their masks
#
# One row per image: the image, then the masks of its largest classes. Below, one
# image with its instances drawn over it, boxes computed from the masks.

# %%
from maskrcnn import visualize
from maskrcnn.data.transforms import extract_bboxes

rng = np.random.default_rng(0)
sample_ids = rng.choice(dataset.image_ids, size=min(3, len(dataset.image_ids)),
                        replace=False)
visualize.display_dataset_samples(dataset, sample_ids)

# %%
image_id = sample_ids[0]
image, masks, class_ids = dataset.load_image_and_masks(image_id)
visualize.display_instances(image, extract_bboxes(masks), masks, class_ids,
                            dataset.class_names, figsize=(6, 6),
                            title=dataset.image_reference(image_id))

# %% [markdown]
# ## The problems report
#
# Every problem as a table: the file, the item (image, region, annotation), what is
# wrong, and whether it is an *error* (the item is unusable) or a *warning*
# (something was fixed on the way, e.g. a point clipped to the image).

# %%
def problems_table(report):
    return pd.DataFrame([vars(p) for p in report.problems],
                        columns=["severity", "file", "item", "message"])


print(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
problems_table(report).head(50)

# %% [markdown]
# An empty table means a clean dataset (the synthetic one always is). Here is what a
# report looks like for a small broken VIA export written on the spot: one image file
# is missing, one polygon reaches outside its image, one is degenerate (two points).

# %%
import json
import tempfile

from PIL import Image

from maskrcnn.data.readers.via import load_via

broken = Path(tempfile.mkdtemp(dir=WORKDIR, prefix="broken_via_"))
Image.fromarray(np.full((60, 80, 3), 200, np.uint8)).save(broken / "a.jpg")


def polygon(xs, ys):
    return {"shape_attributes": {"name": "polygon", "all_points_x": xs,
                                 "all_points_y": ys}, "region_attributes": {}}


via = {
    "a.jpg1": {"filename": "a.jpg", "size": 1, "file_attributes": {}, "regions": [
        polygon([10, 40, 25], [10, 10, 40]),
        polygon([50, 95, 70], [20, 20, 55]),  # reaches past the right edge
        polygon([5, 9], [5, 9]),  # only two points
    ]},
    "missing.jpg1": {"filename": "missing.jpg", "size": 1, "file_attributes": {},
                     "regions": [polygon([1, 20, 10], [1, 1, 20])]},
}
(broken / "via_region_data.json").write_text(json.dumps(via))

broken_report = inspect_dataset(load_via(broken / "via_region_data.json",
                                         strict=False))
problems_table(broken_report)

# %% [markdown]
# ## Anchors over an image
#
# The region proposal network starts from anchors: boxes of one scale per pyramid
# level and several aspect ratios, on a grid over the resized and padded image.
# Left: at the cell nearest the image centre, the square anchor of each level (one
# colour per level, see the legend) and, dashed, the other aspect ratios of the middle
# level. Right: for each object, the anchor that overlaps it most (dotted), joined to
# the object's box (solid). The config is the one `train.ipynb` builds for this data: its
# image size and anchor sizes come from the "suggested config" line above. If objects
# have no well-overlapping anchor, change `RPN_ANCHOR_SCALES` or `RPN_ANCHOR_RATIOS`.

# %%
from maskrcnn import Config
from maskrcnn.data.inspect import suggest_settings
from maskrcnn.data.pipeline import load_image_gt
from maskrcnn.evaluation import compute_overlaps
from maskrcnn.modeling.anchors import pyramid_anchors
from maskrcnn.presets import ShapesConfig

if DATASET == "shapes":
    config = ShapesConfig()
    config.IMAGE_MIN_DIM = config.IMAGE_MAX_DIM = SHAPES_SIZE
    config.RPN_ANCHOR_SCALES = tuple(s * SHAPES_SIZE // 128
                                     for s in ShapesConfig.RPN_ANCHOR_SCALES)
else:
    class InspectConfig(Config):
        NAME = DATASET
        NUM_CLASSES = dataset.num_classes
    config = InspectConfig()
    for field, value in suggest_settings(report).items():  # as train.ipynb does
        setattr(config, field, value)
    config.validate()

image, _, gt_class_ids, gt_boxes, _ = load_image_gt(dataset, config, image_id)
anchors = pyramid_anchors(config, image.shape)
ratios = len(config.RPN_ANCHOR_RATIOS)
print(f"{len(anchors)} anchors for a {image.shape[0]}x{image.shape[1]} image")

centre, start, picked = np.array(image.shape[:2]) / 2, 0, []
for scale, stride in zip(config.RPN_ANCHOR_SCALES, config.BACKBONE_STRIDES):
    rows, cols = (len(range(0, -(-side // stride), config.RPN_ANCHOR_STRIDE))
                  for side in image.shape[:2])
    level = anchors[start:start + rows * cols * ratios]
    print(f"  stride {stride:3d}, scale {scale:4d}: {rows}x{cols} cells x {ratios} "
          f"ratios = {len(level)} anchors")
    centres = (level[:, :2] + level[:, 2:]) / 2
    nearest = np.argmin(np.abs(centres - centre).sum(axis=1))
    picked.append(level[nearest - nearest % ratios:][:ratios])
    start += len(level)

best = anchors[compute_overlaps(anchors, gt_boxes.astype(np.float32)).argmax(axis=0)]
from matplotlib.patches import Rectangle

fig, axes = plt.subplots(1, 2, figsize=(12, 6), layout="constrained")
axes[0].imshow(image)
middle = len(picked) // 2
for level, (cell, scale, stride) in enumerate(zip(picked, config.RPN_ANCHOR_SCALES,
                                                   config.BACKBONE_STRIDES)):
    heights, widths = cell[:, 2] - cell[:, 0], cell[:, 3] - cell[:, 1]
    square = np.argmin(np.abs(np.log(heights / widths)))
    for k, (y1, x1, y2, x2) in enumerate(cell):
        if k != square and level != middle:
            continue
        axes[0].add_patch(Rectangle(
            (x1, y1), x2 - x1, y2 - y1, fill=False, color=f"C{level}", linewidth=2,
            linestyle="solid" if k == square else "dashed",
            label=(f"P{level + 2}: stride {stride}, scale {scale}" if k == square
                   else None)))
axes[0].plot([], [], "k--", label=f"P{middle + 2}: ratios {list(config.RPN_ANCHOR_RATIOS)}")
axes[0].set(title="anchors at the centre (square one per level)", xticks=[], yticks=[])
axes[0].legend(loc="lower left", fontsize="small", framealpha=0.8)
visualize.draw_boxes(image, boxes=best, refined_boxes=gt_boxes, ax=axes[1],
                     captions=[dataset.class_names[c] for c in gt_class_ids],
                     title="best anchor for each object")
plt.show()

# %% [markdown]
# ## Augmentation preview
#
# The same transform applied four times to one image and its masks, as the training
# pipeline does (`maskrcnn.data.pipeline.augment`). The masks must follow the
# image: if they do not, the transform is not one the pipeline can use.

# %%
import albumentations as A

from maskrcnn.data.pipeline import augment

augmentation = A.Compose([
    A.HorizontalFlip(p=0.5),
    A.Affine(rotate=(-20, 20), scale=(0.8, 1.2), p=0.8),
    A.RandomBrightnessContrast(p=0.5),
])
image, masks, class_ids = dataset.load_image_and_masks(image_id)
fig, axes = plt.subplots(1, 4, figsize=(16, 4.5), layout="constrained")
for i, ax in enumerate(axes):
    new_image, new_masks = augment(augmentation, image, masks)
    kept = new_masks.any(axis=(0, 1))  # instances moved out of view are dropped
    visualize.display_instances(new_image, None, new_masks[..., kept],
                                class_ids[kept], dataset.class_names, ax=ax,
                                title=f"draw {i + 1}")
plt.show()
