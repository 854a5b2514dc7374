# Cells shared by the notebooks: the dataset the checkpoint's model was trained for.
# Included by the sources in notebooks/src/ with "# %include common/training_dataset.py",
# after common/checkpoint.py and common/dataset.py.
# ruff: noqa: E402, F821

# %% [markdown]
# ## The dataset the model was trained for
#
# `train.ipynb` saves its dataset choice in the run folder (`dataset.json` beside the
# checkpoints). With `REUSE_TRAINING_DATASET` that choice replaces the one above, so the
# model is looked at on the data it was trained for; set it to `False` to use the dataset
# chosen above.

# %%
REUSE_TRAINING_DATASET = True

saved_choice = Path(CHECKPOINT).parent / "dataset.json"
if REUSE_TRAINING_DATASET and saved_choice.is_file():
    choice = json.loads(saved_choice.read_text())
    DATASET, READER_OPTIONS = choice["DATASET"], choice["READER_OPTIONS"]
    DATASET_PATH = Path(choice["DATASET_PATH"])
    DATASET_ZIP = choice["DATASET_ZIP"] and Path(choice["DATASET_ZIP"])
    SPLIT_FILES = {k: (Path(a), Path(b)) for k, (a, b) in choice["SPLIT_FILES"].items()}
    unpack_dataset_zip()
    print(f"the dataset {Path(CHECKPOINT).parent.name} was trained on: {DATASET}")
else:
    print(f"the dataset chosen above: {DATASET} (no {saved_choice.name} beside the "
          "checkpoint, or REUSE_TRAINING_DATASET is off)")
