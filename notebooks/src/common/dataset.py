# Cells shared by the notebooks: dataset.
# Included by the sources in notebooks/src/ with "# %include common/dataset.py".
# ruff: noqa: E402, F821

# %% [markdown]
# ## Choose a dataset
#
# `shapes` needs no files: synthetic images of squares, circles and triangles, the
# dataset of the demo. For your own data, copy it into `DATASET_DIR`: `dataset/` of
# the repository locally, **`/content/dataset/`** on Colab (the runtime's disk: gone with
# the runtime, so keep a zip on Drive and set `DATASET_ZIP`). The readers find these
# layouts by themselves:
#
# ```
# dataset/d2s/                      coco: COCO JSON (MVTec D2S, COCO 2017)
#   annotations/instances_train.json
#   annotations/instances_val.json
#   train/  val/                    the images, named as in the JSON's file_name
#
# dataset/balloon/                  via: VGG Image Annotator (matterport's balloons)
#   train/via_region_data.json  train/*.jpg
#   val/via_region_data.json    val/*.jpg
# ```
#
# * `coco`: set `DATASET_PATH = DATASET_DIR / "d2s"` (the folder holding
#   `annotations/`); the class names come from the JSON's categories.
# * `via`: a VIA export names each region's class in a region attribute: give its name
#   with `READER_OPTIONS = {"class_attribute": "name"}`. A one-class set (the balloons)
#   has no such attribute: every region then gets the class `default_class`, "object"
#   unless you name it: `READER_OPTIONS = {"default_class": "balloon"}`. A zip of the
#   folder on Drive, as users pack them, is extracted safely (no paths outside the
#   target) the first time;
# * `bdd`: BDD100K instance segmentation, `openimages`: Open Images segmentation: give
#   the annotation file (or BDD bitmask folder) and the image folder of each split.
#
# `evaluate.ipynb` reads the same choice back from the run folder of the checkpoint
# (`dataset.json`, written by `train.ipynb`), so it evaluates on the data the model was
# trained for.

# %%
DATASET = "shapes"  # "shapes", "coco", "via", "bdd" or "openimages"

# coco / via: a folder in a known layout ...
DATASET_PATH = DATASET_DIR / "balloon"
# ... or a zip (e.g. DRIVE_DIR / "balloon.zip"), extracted into dataset/ the first time
DATASET_ZIP = None
# bdd / openimages: per split, (annotation file or bitmask folder, image folder)
SPLIT_FILES = {
    "train": (DATASET_DIR / "bdd100k/labels/ins_seg/polygons/ins_seg_train.json",
              DATASET_DIR / "bdd100k/images/10k/train"),
    "val": (DATASET_DIR / "bdd100k/labels/ins_seg/polygons/ins_seg_val.json",
            DATASET_DIR / "bdd100k/images/10k/val"),
}
# Reader options, e.g. {"default_class": "balloon"} (VIA, one class),
# {"class_attribute": "name"} (VIA with several classes),
# {"categories": ["car", "person"]} (BDD), {"class_names": ["Cat", "Dog"]} (Open Images)
READER_OPTIONS = {}

SHAPES_SIZE = 64 if SMOKE else 128  # image side of the synthetic dataset
if SMOKE:
    DATASET = "shapes"
print(f"dataset: {DATASET}; DATASET_DIR is {DATASET_DIR}")

# %%
from maskrcnn.data import ShapesDataset
from maskrcnn.data.layout import open_dataset, safe_extract_zip


def unpack_dataset_zip():
    """Extract DATASET_ZIP into DATASET_DIR once; DATASET_PATH becomes the folder."""
    global DATASET_PATH
    if DATASET in ("coco", "via") and DATASET_ZIP is not None:
        DATASET_PATH = DATASET_DIR / Path(DATASET_ZIP).stem
        if not DATASET_PATH.exists():
            print(f"extracting {DATASET_ZIP} into {DATASET_PATH}")
            safe_extract_zip(DATASET_ZIP, DATASET_PATH)


def dataset_choice():
    """The dataset settings above, as JSON-ready values (train.ipynb saves them)."""
    return {"DATASET": DATASET, "DATASET_PATH": str(DATASET_PATH),
            "DATASET_ZIP": None if DATASET_ZIP is None else str(DATASET_ZIP),
            "SPLIT_FILES": {k: [str(a), str(b)] for k, (a, b) in SPLIT_FILES.items()},
            "READER_OPTIONS": READER_OPTIONS}


def load_split(split, shapes_count=100, seed=0, strict=True):
    """One split of the chosen dataset, prepared. strict=False collects problems
    (see inspect_data.ipynb) instead of stopping at the first one."""
    if DATASET == "shapes":
        return ShapesDataset(shapes_count, SHAPES_SIZE, SHAPES_SIZE, seed=seed)
    if DATASET in ("coco", "via"):
        return open_dataset(DATASET_PATH, DATASET, split=split, strict=strict,
                            **READER_OPTIONS)
    annotations, images = SPLIT_FILES[split]
    return open_dataset(annotations, DATASET, images=images, strict=strict,
                        **READER_OPTIONS)


unpack_dataset_zip()
