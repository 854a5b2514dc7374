# Source of notebooks/inspect_model.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Inspect a trained model step by step
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/inspect_model.ipynb)
#
# A trained Mask R-CNN taken apart on one image, in the order the network works: the
# anchors of each pyramid level, the RPN's training targets and its proposals (with the
# RPN recall), the box head's refinement before and after per-class NMS, the ROI and mask
# targets, the mask head's raw output, the activations of a few layers and the weight
# histograms; and matterport's other views: the top anchors moved and clipped, the RPN's
# box deltas and where proposals lie, the positive-ROI ratio over many images, what
# mini-masks cost, the weight statistics table. The numbers come from
# `maskrcnn.inspect_model` (the network's own
# sub-graphs, run one after the other), the figures from
# `maskrcnn.visualize.model_parts`.

# %include common/running.py

# %include common/setup.py

# %include common/checkpoint.py

# %include common/dataset.py

# %include common/training_dataset.py

# %% [markdown]
# ## The model and one image
#
# The model is rebuilt from the checkpoint in inference mode. The image comes from the
# dataset's `val` split (new shapes images in smoke mode), with its ground truth as
# training sees it: resized and padded (`ground_truth`). `IMAGE_ID` picks another one.

# %%
import numpy as np
from IPython.display import display

from maskrcnn import inspect_model as im
from maskrcnn import visualize
from maskrcnn.evaluation import class_names_problem
from maskrcnn.visualize import model_parts

# a low threshold in smoke mode: the briefly trained model is unsure of everything
model = MaskRCNN.from_checkpoint(str(CHECKPOINT), **({"DETECTION_MIN_CONFIDENCE": 0.05}
                                                     if SMOKE else {}))
config = model.config
CONVENTION = config.BOX_CONVENTION
if DATASET == "shapes":
    SHAPES_SIZE = int(config.IMAGE_MAX_DIM)
dataset = load_split("val", shapes_count=4, seed=5)
problem = class_names_problem(model.class_names, dataset.class_names)
if problem:
    raise ValueError(problem)

IMAGE_ID = 0
gt = im.ground_truth(dataset, config, IMAGE_ID)
names = model.class_names
print(f"image {IMAGE_ID}: {gt['image'].shape[1]}x{gt['image'].shape[0]} molded, "
      f"{len(gt['class_ids'])} objects: {[names[c] for c in gt['class_ids']]}")

# %% [markdown]
# `inspect_image` runs backbone and FPN, the RPN, proposals, the box head, detection and
# the mask head on the image and keeps every step's output (`parts`); `LAYERS` names the
# backbone and FPN layers whose activations it keeps too (matterport's names:
# `res4a_branch2a` finds the convolution with its batch norm).

# %%
LAYERS = ["conv1", "res2a_out", "res3a_out", "res4a_out", "fpn_p2", "fpn_p4"]

parts = im.inspect_image(model, gt["image"], layers=LAYERS, window=gt["window"])
image = parts.image


def px(boxes):
    """Normalised boxes (or detection rows) -> pixels of the molded image."""
    return parts.to_pixels(boxes, CONVENTION)


print(f"{len(parts.anchors)} anchors, {len(parts.pre_nms_boxes)} refined before NMS, "
      f"{len(parts.proposals)} proposals, {len(parts.detections)} detections")
visualize.draw_boxes(image, refined_boxes=gt["boxes"], title="ground truth",
                     captions=[names[c] for c in gt["class_ids"]])

# %% [markdown]
# ## Anchors
#
# Each pyramid level has anchors of one size in every aspect ratio, centred on a grid
# of its stride. Per level: the grid (dots) and the anchors at the centre cell.

# %%
for level in np.unique(parts.anchor_levels):
    count = int(np.sum(parts.anchor_levels == level))
    print(f"{model_parts.LEVEL_NAMES[level]}: stride {config.BACKBONE_STRIDES[level]:3d}, "
          f"sides {config.RPN_ANCHOR_SCALES[level]} px, {count} anchors")
model_parts.display_anchors(image, px(parts.anchors), parts.anchor_levels)

# %% [markdown]
# ## RPN targets
#
# What the RPN learns on this image: anchors with IoU >= 0.7 with an object (or an
# object's best anchor) are positive, those under 0.3 negative; a random sample of both
# is trained on. Right: the positive anchors moved by their target deltas land on the
# objects.

# %%
labels, target_deltas = im.anchor_targets(config, parts.anchors, gt["class_ids"],
                                          gt["norm_boxes"], seed=0)
positive = np.flatnonzero(labels == 1)
fig = visualize.NotebookFigure(figsize=(13, 6.5))
axes = fig.subplots(1, 2)
model_parts.display_rpn_targets(image, px(parts.anchors), labels, gt["boxes"], ax=axes[0])
moved = im.apply_deltas(parts.anchors[positive], target_deltas[positive],
                        config.RPN_BBOX_STD_DEV)
visualize.draw_boxes(image, px(parts.anchors[positive]), px(moved), ax=axes[1],
                     title="positive anchors (dotted) refined by their targets (solid)")
display(fig)

# %% [markdown]
# ## Proposals and RPN recall
#
# The RPN scores every anchor; the best `PRE_NMS_LIMIT` are moved by the predicted
# deltas and thinned by NMS (`RPN_NMS_THRESHOLD`) into the proposals. RPN recall: the
# share of ground-truth boxes that a proposal overlaps with IoU >= 0.5, for the top
# proposals and all of them.

# %%
for top in (5, 10, len(parts.proposals)):
    recall = im.rpn_recall(parts.proposals[:top], gt["norm_boxes"])
    print(f"RPN recall of the top {top:3d} proposals: {recall:.2f}")
fig = visualize.NotebookFigure(figsize=(13, 6.5))
axes = fig.subplots(1, 2)
model_parts.display_proposals(image, px(parts.pre_nms_boxes), gt["boxes"], limit=50,
                              ax=axes[0], title="top 50 refined anchors, before NMS")
recall = im.rpn_recall(parts.proposals, gt["norm_boxes"])
model_parts.display_proposals(image, px(parts.proposals), gt["boxes"], limit=50, ax=axes[1],
                              title=f"top proposals after NMS (recall {recall:.2f})")
display(fig)

# %% [markdown]
# ## The top anchors, moved and clipped
#
# Matterport's "top anchors" views: the anchors the RPN scores highest, as they are
# (dotted) and moved by the RPN's predicted deltas (solid); then the same boxes clipped
# to the image, which is what NMS receives.

# %%
top = parts.top_anchors(10, config.RPN_BBOX_STD_DEV)
print("top RPN scores:", np.round(top["scores"], 3))
fig = visualize.NotebookFigure(figsize=(13, 6.5))
axes = fig.subplots(1, 2)
visualize.draw_boxes(image, px(top["anchors"]), px(top["refined"]), ax=axes[0],
                     title="top 10 anchors (dotted) refined by their deltas (solid)")
visualize.draw_boxes(image, refined_boxes=px(top["clipped"]), ax=axes[1],
                     title="refined and clipped to the image")
display(fig)

# %% [markdown]
# ## RPN box deltas and where the proposals lie
#
# The distribution of the RPN's predicted deltas over all anchors (in units of
# `RPN_BBOX_STD_DEV`: a healthy model keeps most within a few units), and of the
# proposals' centres over the image, top to bottom (y) and left to right (x).

# %%
model_parts.plot_rpn_deltas(parts.rpn_deltas)

# %%
model_parts.plot_box_centres(px(parts.proposals), parts.shape,
                             title=f"Where the {len(parts.proposals)} proposals lie")

# %% [markdown]
# ## ROI refinement, before and after NMS
#
# The box head gives each proposal a class and that class's box deltas. Before NMS:
# the proposals (dotted) and their refined boxes (solid) that are not background. Then,
# per class, the refined boxes (dotted) and the detections NMS keeps
# (`DETECTION_NMS_THRESHOLD`, solid with score).

# %%
classes, counts = np.unique(parts.roi_class_ids, return_counts=True)
print("proposals per predicted class:", {names[c]: int(n) for c, n in zip(classes, counts)})
model_parts.display_refinement(image, px(parts.proposals), px(parts.refined_rois),
                               parts.roi_class_ids, names, parts.roi_scores)

# %%
model_parts.display_nms_by_class(image, px(parts.refined_rois), parts.roi_class_ids,
                                 px(parts.detections), names)

# %% [markdown]
# ## ROI and mask targets
#
# What the heads learn on this image: ROIs sampled from the proposals (plus the
# ground-truth boxes), a third of them positive at most; positives refined by their
# target deltas fit their object, and each has its mask target, cropped to the ROI.

# %%
targets = im.roi_targets(config, parts.proposals, gt["class_ids"], gt["norm_boxes"],
                         gt["masks"], seed=0)
used = targets["weights"] > 0
print(f"{int(used.sum())} ROIs: {int(np.sum(targets['class_ids'] > 0))} positive, "
      f"{int(np.sum(used & (targets['class_ids'] == 0)))} negative")
fitted = im.apply_deltas(targets["rois"], targets["deltas"], config.BBOX_STD_DEV)
model_parts.display_refinement(image, px(targets["rois"]), px(fitted), targets["class_ids"],
                               names, title="positive ROIs (dotted) refined by their targets")

# %%
model_parts.display_mask_grid(targets["masks"][:12], cmap="gray",
                              titles=[names[c] for c in targets["class_ids"][:12]],
                              title="mask targets of the positive ROIs")

# %% [markdown]
# ## The positive-ROI ratio over many images
#
# The heads train on `TRAIN_ROIS_PER_IMAGE` ROIs an image, at most `ROI_POSITIVE_RATIO`
# of them positive (IoU >= 0.5 with an object). Over several images: how many are. A
# share well below the ratio means proposals that miss the objects or few objects per
# image (matterport's "positive ROI ratio").

# %%
ROI_IMAGES = 4 if SMOKE else 20
ratio = im.positive_roi_ratio(model, dataset, dataset.image_ids[:ROI_IMAGES])
print(f"positive ROIs: {ratio['positive (%)'].mean():.1f} % on average over {len(ratio)} "
      f"images (at most {100 * config.ROI_POSITIVE_RATIO:.0f} % by ROI_POSITIVE_RATIO)")
display(ratio.round(1))

# %% [markdown]
# ## What mini-masks cost
#
# With `USE_MINI_MASK` (on by default) training keeps each object's mask cropped to its
# box and shrunk to `MINI_MASK_SHAPE`, and grows it back for the mask loss: thin parts
# and fine edges are lost. The image's masks after that round trip: per object, its mask,
# the mask after the round trip, and the difference (red lost, blue added pixels).

# %%
_, full_masks, full_ids = dataset.load_image_and_masks(IMAGE_ID)
restored, loss = im.mini_mask_round_trip(full_masks, config.MINI_MASK_SHAPE)
print(f"USE_MINI_MASK = {config.USE_MINI_MASK}, MINI_MASK_SHAPE = {config.MINI_MASK_SHAPE}: "
      f"{loss['changed (%)'].mean():.1f} % of a mask's pixels change on average "
      f"(IoU {loss['IoU'].mean():.3f})")
display(loss.assign(name=[names[c] for c in full_ids]))
model_parts.display_mini_mask_round_trip(full_masks, restored,
                                         titles=[names[c] for c in full_ids], limit=4)

# %% [markdown]
# ## The mask head's raw output
#
# For the first detections: the mask head's probabilities for the detection's class
# (the mask is this, thresholded at 0.5 and pasted into the box), then its raw logits.

# %%
shown = parts.detections[:6]
titles = [f"{names[int(d[4])]} {d[5]:.2f}" for d in shown]
model_parts.display_mask_grid(parts.mask_probs[:6], titles=titles, vmin=0, vmax=1,
                              title="mask probabilities (own class)")

# %%
own_logits = parts.mask_logits[np.arange(len(shown)), ..., shown[:, 4].astype(int)]
model_parts.display_mask_grid(own_logits, titles=titles, cmap="coolwarm",
                              title="mask logits (own class)")

# %% [markdown]
# ## Activations
#
# The most active channels of each layer in `LAYERS`: early layers respond to edges and
# colour, later ones to whole objects.

# %%
for name, value in parts.activations.items():
    print(f"{name:10s} {value.shape}  mean {value.mean():+.3f}  "
          f"share of zeros {np.mean(value == 0):.2f}")
model_parts.display_activations(parts.activations)

# %% [markdown]
# ## Weight histograms
#
# The kernels of the network, a few spread from the first layer to the mask head: the
# weights of a healthy model are centred near zero, without huge outliers.

# %%
kernels = im.weight_values(model, pattern="kernel")
print(f"{len(kernels)} kernels, {sum(v.size for v in kernels.values())} values")
model_parts.plot_weight_histograms(kernels, limit=12)

# %% [markdown]
# ## Weight statistics
#
# Every weight's shape, minimum, maximum and standard deviation, as matterport's
# `display_weight_stats` shows them: a standard deviation of 0 (a layer that never trained)
# or huge values (a diverged one) stand out.

# %%
visualize.display_weight_stats(model)
