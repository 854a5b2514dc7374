# Cells shared by the notebooks: dataset.
# Included by the sources in notebooks/src/ with "# %include common/dataset.py".
# ruff: noqa: E402, F821

# %% [markdown]
# ## Choose a dataset
#
# `shapes` needs no files: synthetic images of squares, circles and triangles, the
# dataset of the demo. For your own data, copy it to `dataset/` (see
# `dataset/README.md` for the layouts found automatically) or to Drive:
#
# * `coco`: COCO JSON, e.g. MVTec D2S or COCO 2017 (`annotations/instances_<split>.json`);
# * `via`: the VGG Image Annotator, e.g. matterport's balloons
#   (`<split>/via_region_data.json` beside the images). A zip of it on Drive, as users
#   pack them, is extracted safely (no paths outside the target) the first time;
# * `bdd`: BDD100K instance segmentation, `openimages`: Open Images segmentation: give
#   the annotation file (or BDD bitmask folder) and the image folder of each split.

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
# Reader options, e.g. {"class_attribute": "name"} (VIA with several classes),
# {"categories": ["car", "person"]} (BDD), {"class_names": ["Cat", "Dog"]} (Open Images)
READER_OPTIONS = {}

SHAPES_SIZE = 64 if SMOKE else 128  # image side of the synthetic dataset
if SMOKE:
    DATASET = "shapes"

# %%
from maskrcnn.data import ShapesDataset
from maskrcnn.data.layout import open_dataset, safe_extract_zip

if DATASET in ("coco", "via") and DATASET_ZIP is not None:
    DATASET_PATH = DATASET_DIR / Path(DATASET_ZIP).stem
    if not DATASET_PATH.exists():
        print(f"extracting {DATASET_ZIP} into {DATASET_PATH}")
        safe_extract_zip(DATASET_ZIP, DATASET_PATH)


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
