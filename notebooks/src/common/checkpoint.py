# Cells shared by the notebooks: checkpoint.
# Included by the sources in notebooks/src/ with "# %include common/checkpoint.py".
# ruff: noqa: E402, F821

# %% [markdown]
# ## The checkpoint
#
# A checkpoint of this package carries its config and class names, so the file is all
# we need. Set `CHECKPOINT` to one (from `train.ipynb`, or on Drive); left at `None`,
# the newest complete one under `MODEL_DIR` (`runs/logs/`, or `MyDrive/maskrcnn/logs/`
# on Colab with Drive) is used, and the cell says where it looked. In a fresh Colab
# runtime only Drive still holds the checkpoints of an earlier session. In smoke mode a
# tiny shapes model is trained for a few steps first (about half a minute), so the
# notebook runs on its own; its detections are poor, which is fine for a smoke test.

# %%
CHECKPOINT = None  # e.g. MODEL_DIR / "shapes20240101T1200/mask_rcnn_shapes_0008.h5"

# %%
from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.info import is_complete_checkpoint
from maskrcnn.data import ShapesDataset
from maskrcnn.presets import TinyShapesConfig


def newest_checkpoint(model_dir):
    """The newest complete checkpoint under model_dir/<run>/, or a clear error."""
    found = sorted((p for p in Path(model_dir).glob("*/mask_rcnn_*.h5")
                    if is_complete_checkpoint(str(p))), key=os.path.getmtime)
    if found:
        runs = {p.parent for p in found}
        print(f"looked in {model_dir}: {len(found)} checkpoints in {len(runs)} runs")
        return found[-1]
    where = f"no checkpoint under {model_dir}"
    if IN_COLAB and not USE_DRIVE:
        raise FileNotFoundError(
            f"{where} (this runtime's disk; Drive is not mounted): set USE_DRIVE = True in "
            "'Paths and Google Drive' above and run the notebook again, or train first "
            "(train.ipynb), or set CHECKPOINT to a file")
    raise FileNotFoundError(f"{where}: train first (train.ipynb writes there), or set "
                            "CHECKPOINT to a file")


if CHECKPOINT is None and SMOKE:  # the tiny preset: 64 px images, a narrow network
    smoke_config = TinyShapesConfig()
    size = smoke_config.IMAGE_MAX_DIM
    trainer = MaskRCNN("training", smoke_config, model_dir=str(MODEL_DIR))
    trainer.train(ShapesDataset(32, size, size, seed=0), None,
                  learning_rate=smoke_config.LEARNING_RATE, epochs=1, layers="all", verbose=0)
    CHECKPOINT = trainer.find_last()
elif CHECKPOINT is None:
    CHECKPOINT = newest_checkpoint(MODEL_DIR)
print("checkpoint:", CHECKPOINT)
