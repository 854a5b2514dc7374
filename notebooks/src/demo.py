# Source of notebooks/demo.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Demo: the 80 COCO classes with matterport's weights
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/demo.ipynb)
#
# Matterport's `demo.ipynb`, here: its `mask_rcnn_coco.h5` (ResNet-101, trained on COCO,
# 81 classes with the background) loaded by layer name into this project's model, and
# detection on a few photos, drawn with `display_instances`. Nothing is trained.

# %include common/running.py

# %include common/setup.py

# %% [markdown]
# ## The weights
#
# `WEIGHTS` names a local `mask_rcnn_coco.h5`; by default the one in `dataset/` or
# `MASKRCNN_COCO_WEIGHTS` from the environment. Without it, `DOWNLOAD = True` (the
# default outside smoke mode, as on Colab) fetches it once from matterport's GitHub
# release (about 250 MB) into the cache folder (`MASKRCNN_CACHE`, else
# `~/.keras/maskrcnn`); offline, the cell says where to put the file by hand and the
# rest of the notebook is skipped.

# %%
from maskrcnn.errors import WeightsError

WEIGHTS = os.environ.get("MASKRCNN_COCO_WEIGHTS") or str(DATASET_DIR / "mask_rcnn_coco.h5")
DOWNLOAD = not SMOKE  # smoke mode never downloads

if not Path(WEIGHTS).is_file():
    from maskrcnn.checkpoint.download import COCO_WEIGHTS_URL, coco_weights_path

    try:
        if not DOWNLOAD:
            raise WeightsError(f"no {WEIGHTS} and DOWNLOAD is off")
        WEIGHTS = coco_weights_path()  # the cached copy, downloaded the first time
    except WeightsError as err:
        print(f"No COCO weights: {err}.\nDownload {COCO_WEIGHTS_URL} (about 250 MB) and "
              f"put it at {WEIGHTS} (or set WEIGHTS to where it is), then run this cell "
              "again; the cells below are skipped until then.")
        WEIGHTS = None
print("weights:", WEIGHTS)

# %% [markdown]
# ## The model
#
# Matterport's `.h5` carries weights only: the config is the one it was trained with
# (ResNet-101, 1024 px, matterport's box convention), and the class names are COCO's, in
# its class id order. Smoke mode uses a tiny network of the same 81 classes (a file the
# tests make). `MIN_CONFIDENCE` is matterport's demo threshold: detections below it are
# not shown.

# %%
from maskrcnn import MaskRCNN, visualize
from maskrcnn.config import Config
from maskrcnn.presets import TinyShapesConfig

COCO_CLASS_NAMES = [
    "BG", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"]
MIN_CONFIDENCE = 0.05 if SMOKE else 0.7


class CocoInferenceConfig(TinyShapesConfig if SMOKE else Config):
    NAME = "coco"
    NUM_CLASSES = len(COCO_CLASS_NAMES)  # 81: the background and 80 classes
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1
    if not SMOKE:
        BACKBONE = "resnet101"
        IMAGE_MIN_DIM = 800
        IMAGE_MAX_DIM = 1024
    DETECTION_MIN_CONFIDENCE = MIN_CONFIDENCE


model = None
if WEIGHTS:
    config = CocoInferenceConfig()
    model = MaskRCNN(mode="inference", config=config, model_dir=str(MODEL_DIR))
    model.load_weights(WEIGHTS, by_name=True)
    model.class_names = COCO_CLASS_NAMES
    print(f"{config.BACKBONE}, {config.NUM_CLASSES} classes, images resized to "
          f"{config.IMAGE_MAX_DIM} px, score threshold {config.DETECTION_MIN_CONFIDENCE}")
else:
    print("skipped: no weights (see the cell above)")

# %% [markdown]
# ## Photos
#
# A few photos that come with scikit-image (no download), or your own: set `IMAGE_DIR`
# to a folder of `.jpg`/`.png` files (the first `LIMIT` are used).

# %%
import skimage.data
import skimage.io

IMAGE_DIR = None  # e.g. ROOT / "images"
LIMIT = 4

if IMAGE_DIR is not None:
    files = sorted(p for p in Path(IMAGE_DIR).iterdir()
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:LIMIT]
    photos = {p.name: skimage.io.imread(p)[..., :3] for p in files}
else:
    photos = {name: getattr(skimage.data, name)() for name in
              ("astronaut", "chelsea", "coffee", "rocket")[:LIMIT]}
for name, photo in photos.items():
    print(f"{name}: {photo.shape[1]}x{photo.shape[0]} px")

# %% [markdown]
# ## Detection
#
# One photo at a time, as matterport's demo: boxes, masks, class names and scores (the
# probability of the class, 0 to 1). The table lists each photo's detections.

# %%
import numpy as np
import pandas as pd
from IPython.display import display

rows = []
for name, photo in photos.items():
    if model is None:
        print("skipped: no weights")
        break
    r = model.detect([photo])[0]
    visualize.display_instances(photo, r["rois"], r["masks"], r["class_ids"],
                                model.class_names, r["scores"], figsize=(6, 6),
                                title=f"{name}: {len(r['class_ids'])} detections")
    rows += [{"photo": name, "class": model.class_names[c], "score": round(float(s), 3),
              "area (% of the photo)": round(100 * float(m.mean()), 2)}
             for c, s, m in zip(r["class_ids"], r["scores"], np.moveaxis(r["masks"], -1, 0))]
if model is not None:
    display(pd.DataFrame(rows, columns=["photo", "class", "score", "area (% of the photo)"]))
