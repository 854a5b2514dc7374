# Source of notebooks/train.ipynb: edit here, then run `python notebooks/build.py`.
# Percent format: "# %%" starts a code cell, "# %% [markdown]" a text cell; "# %include"
# brings in cells shared by the notebooks (src/common/), which also define names used here.
# ruff: noqa: E402, F821

# %% [markdown]
# # Train Mask R-CNN
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/{GITHUB_REPO}/blob/main/notebooks/train.ipynb)
#
# Train Mask R-CNN on a dataset of your choice: look at a few samples, train the
# heads first and then deeper layers (from COCO or ImageNet weights when they fit),
# watch the losses in TensorBoard and in a plot, and keep the checkpoint (on Drive
# when you use Colab). `detect.ipynb` and `evaluate.ipynb` take it from there.

# %include common/running.py

# %include common/setup.py

# %include common/dataset.py

# %% [markdown]
# ## No GPU?
#
# A ResNet on a real dataset trains for hours on a CPU. Without a GPU, "Run all" stops
# here with a message (`IF_NO_GPU = "stop"`), unless you choose `"smoke"` (switch to the
# smoke settings: synthetic shapes, tiny sizes, a minute) or `"train"` (train anyway).
# The shapes demo is small enough for a CPU and is not stopped.

# %%
IF_NO_GPU = "stop"  # "stop", "smoke" or "train"

if not gpus and not SMOKE and DATASET != "shapes":
    if IF_NO_GPU == "smoke":
        print(f"No GPU: switching from {DATASET!r} to the smoke settings (shapes, 64 px)")
        SMOKE, DATASET, SHAPES_SIZE = True, "shapes", 64
    elif IF_NO_GPU != "train":
        raise RuntimeError(
            f"No GPU, and training on {DATASET!r} would take hours on the CPU. On Colab: "
            "Runtime > Change runtime type > GPU, then Run all again. Or set IF_NO_GPU = "
            "'smoke' (a quick run on synthetic shapes) or 'train' (train on the CPU anyway).")
elif not gpus:
    print("No GPU: training on the CPU (fine for smoke mode and the shapes demo).")

# %% [markdown]
# ## Load the training and validation sets
#
# Each reader returns a prepared `Dataset` (matterport's API: `class_names`,
# `image_ids`, `load_image`, `load_mask`). Bad annotations raise a `DatasetError`
# naming the file and the item; `inspect_data.ipynb` lists all problems at once.

# %%
train_set = load_split("train", shapes_count=100 if SMOKE else 600, seed=0)
val_set = load_split("val", shapes_count=8 if SMOKE else 50, seed=1)
print(f"train: {len(train_set.image_ids)} images, val: {len(val_set.image_ids)} "
      f"images; classes: {train_set.class_names}")

# %% [markdown]
# ## Starting weights and configuration
#
# `INIT_WITH` picks the starting point: `"coco"` (matterport's `mask_rcnn_coco.h5`,
# ResNet-101, about 250 MB, downloaded once into `~/.keras/maskrcnn`), `"imagenet"`
# (a Keras ResNet backbone), `"last"` (resume the newest checkpoint in `MODEL_DIR`,
# epoch count included), the path of an `.h5` file, or `None` (from scratch). Downloads
# happen only with `ALLOW_DOWNLOAD`, never in smoke mode; the shapes config's `"small"`
# backbone has no pretrained weights and starts from scratch.
#
# The configuration is a `Config` with UPPER_CASE fields, as in matterport, made the way
# `maskrcnn train` makes it (`maskrcnn.presets.training_config`): your `SETTINGS` win;
# the fields they leave out come from the data (image size, anchor sizes, the most
# instances an image holds: the "suggested config" of `inspect_data.ipynb`; small objects
# suffer most from downscaling) and, from scratch, from the recipe
# (`maskrcnn.presets.FROM_SCRATCH`: ResNet-18, trained batch norms, narrow heads, crops,
# copy-paste); the rest are the `Config` defaults (ResNet-101, what the COCO weights hold).
# One line says what came from where, and the table below is what trains. The shapes
# demo's config is small enough for a CPU; smoke mode takes the tiny preset the tests use.

# %%
from maskrcnn.checkpoint.download import COCO_WEIGHTS_FILE, cache_dir
from maskrcnn.presets import ShapesConfig, TinyShapesConfig, training_config

INIT_WITH = "coco"
ALLOW_DOWNLOAD = True
# Your Config fields, e.g. {"BACKBONE": "resnet50", "IMAGE_MAX_DIM": 1024}
SETTINGS = {"STEPS_PER_EPOCH": 100, "VALIDATION_STEPS": 10}

BACKBONE = SETTINGS.get("BACKBONE", "resnet101")
if INIT_WITH in ("coco", "imagenet") and (SMOKE or DATASET == "shapes"
                                          or BACKBONE not in ("resnet50", "resnet101")):
    INIT_WITH = None  # smoke mode never downloads; "small" has no pretrained weights
elif INIT_WITH == "coco" and BACKBONE != "resnet101":
    INIT_WITH = "imagenet"  # the COCO file holds a ResNet-101
if INIT_WITH in ("coco", "imagenet") and not ALLOW_DOWNLOAD:
    cached = {"coco": COCO_WEIGHTS_FILE, "imagenet": f"{BACKBONE}_imagenet_matterport_names.h5"}
    if not (Path(cache_dir()) / cached[INIT_WITH]).is_file():
        print(f"{INIT_WITH} weights are not cached and downloads are off: "
              "training from scratch")
        INIT_WITH = None

if SMOKE:
    config = TinyShapesConfig()
elif DATASET == "shapes":
    config = ShapesConfig()  # 128 px, "small" backbone, 3 classes
else:
    config = training_config(train_set, {"NAME": DATASET, **SETTINGS},
                             from_scratch=INIT_WITH is None)
config.CHECKPOINTS_KEEP = "last_and_best"  # the newest and the best; "all": every epoch
config.validate()
config.display()
print("starting from:", INIT_WITH or "scratch")

# %% [markdown]
# ## A look at the data
#
# Before spending GPU time, check that images and masks belong together: each row
# shows an image and, per class, its instance masks.

# %%
from maskrcnn import visualize

visualize.display_dataset_samples(train_set, train_set.image_ids[:3])

# %% [markdown]
# ## The model
#
# Built for training from the configuration above, with the starting weights; the
# class-specific head layers are left out automatically when the class count differs.

# %%
from maskrcnn import MaskRCNN

model = MaskRCNN(mode="training", config=config, model_dir=str(MODEL_DIR))
if INIT_WITH is not None:
    model.init_weights(INIT_WITH)

# %% [markdown]
# ## TensorBoard
#
# Each training run writes TensorBoard logs to its folder under `MODEL_DIR`. Start
# TensorBoard here, before training, and refresh it while the model trains (the loss
# plot further down shows the same curves). In smoke mode it is started, checked and
# stopped again, so that the tests notice when this cell breaks.

# %%
if find_spec("tensorboard") is not None:
    print(f"TensorBoard on {MODEL_DIR}")
    # The extension starts the `tensorboard` program: name the one beside this kernel's
    # Python (a registered kernel's bin/ is often not on PATH: "Could not find tensorboard").
    program = Path(sys.executable).parent / ("tensorboard.exe" if os.name == "nt"
                                             else "tensorboard")
    if program.is_file():
        os.environ.setdefault("TENSORBOARD_BINARY", str(program))
    # %load_ext tensorboard
    # %tensorboard --logdir "{MODEL_DIR}"
    if SMOKE:  # the tests: it must have started; stop it so that no process is left
        import signal

        from tensorboard import manager

        running = [i for i in manager.get_all() if i.logdir == str(MODEL_DIR)]
        if not running:
            raise RuntimeError(f"TensorBoard did not start on {MODEL_DIR}")
        for info in running:
            os.kill(info.pid, signal.SIGTERM)
        print(f"TensorBoard started on port {running[0].port} and stopped (smoke mode)")
else:
    print("TensorBoard is not installed: pip install tensorboard")

# %% [markdown]
# ## Augmentation
#
# An albumentations transform is applied to each training image and its masks
# together. Keep to transforms that preserve the image size (flips, affine changes,
# colour): the images are already resized and padded by then. `default_augmentation()`
# is what `maskrcnn train` uses: flips both ways, zoom 0.6-1.6 with rotation within 30
# degrees, brightness, contrast, hue and saturation. For street scenes, where up is up,
# write your own, e.g. `A.Compose([A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast()])`
# with `import albumentations as A`.

# %%
from maskrcnn.data.augmentation import default_augmentation

augmentation = default_augmentation()

# %% [markdown]
# ## Training: heads first, then deeper layers
#
# Stages are `(layers, until_epoch, learning_rate)`; epochs count from the start,
# as in matterport. With pretrained weights the new heads are trained first while
# the backbone stays frozen, then ResNet stage 4 and up (`"4+"`), then everything at
# a lower rate. Without pretrained weights (the shapes model's `"small"` backbone, or
# smoke mode) there is nothing to keep frozen: all layers train from the start, then at
# a tenth of the rate. Finished
# stages are skipped: after `model.init_weights("last")` the same call resumes an
# interrupted schedule. A checkpoint is written after each epoch; only the newest and
# the one with the lowest validation loss are kept. One progress line, updated in place,
# shows the steps done of all stages, the time left, the loss and, after each epoch,
# the validation loss. The
# dataset choice is saved beside the checkpoints (`dataset.json`) for `evaluate.ipynb`.
#
# `BUDGET_MINUTES` trains for a time instead, as `maskrcnn train --budget-minutes` does
# (the same `TrainingBudget`): one stage, the heads from pretrained weights or all layers
# from scratch, the learning rate warmed up over the first 5 % of the time and divided by
# 10 after 80 %, stopping before the next step would run over (the epoch it stops in is
# checkpointed as any other), with the time that follows training (validation, the
# checkpoints, calibration) kept out of the budget, so that the whole cell takes about
# `BUDGET_MINUTES`; a progress line every half minute says where it stands. `None`: the
# stages below. It is the one edit to shorten or lengthen training (smoke mode: a few
# seconds). Training ends by calibrating the operating threshold on the validation
# images (the line "operating point: ...").

# %%
BUDGET_MINUTES = None  # e.g. 20: train for 20 minutes instead of the stages below

if SMOKE:
    BUDGET_MINUTES = 0.5  # the tests: a few steps of the tiny model
LR = config.LEARNING_RATE
callbacks, budget = [], None
if model.log_dir is None:  # a new run (init_with="last" continues the old one)
    model.set_log_dir()
if BUDGET_MINUTES:
    from maskrcnn.budget import command_budget

    budget = command_budget(model, train_set, val_set, minutes=BUDGET_MINUTES,
                            report_seconds=30)
    callbacks = [budget]
    STAGES = [("heads" if INIT_WITH is not None else "all", model.epoch + 10 ** 6, LR)]
    print(f"budget: {BUDGET_MINUTES} minutes, checkpoints and calibration included "
          "(warm-up over the first 5 %, learning rate / 10 after 80 %)")
elif INIT_WITH is not None:
    STAGES = [("heads", 10, LR), ("4+", 30, LR), ("all", 40, LR / 10)]
else:
    STAGES = [("all", 6, LR), ("all", 8, LR / 10)]

Path(model.log_dir).mkdir(parents=True, exist_ok=True)
(Path(model.log_dir) / "dataset.json").write_text(json.dumps(dataset_choice(), indent=1))

# one progress line over all stages; with a budget, its own progress lines instead
histories = model.train_schedule(train_set, val_set, STAGES, augmentation=augmentation,
                                 custom_callbacks=callbacks, verbose=0 if budget else 1)
if budget is not None:
    print(f"trained: {budget.steps} steps to epoch {model.epoch}"
          + (f", stopped by the budget of {budget.stopped_by}" if budget.stopped_by else ""))
    print(f"border objects: {model.config.DETECTION_BORDER_OBJECTS}")
    print("operating point:", model.calibration.describe() if model.calibration else
          f"{model.config.DETECTION_MIN_CONFIDENCE} (the config's, not calibrated)")

# %% [markdown]
# ## Losses
#
# One panel per loss, training solid, validation dashed, against the epochs as the
# checkpoints number them (a resumed run included), read from the run's TensorBoard
# logs; the same works for a run trained elsewhere (`plot_losses(run_folder)`).

# %%
visualize.plot_losses(model.log_dir, title=f"{config.NAME}: losses per epoch")

# %% [markdown]
# ## The checkpoint
#
# The newest complete checkpoint of this run, and the best by validation loss (the
# same file when the last epoch was the best). They sit under `MODEL_DIR`, which is on
# Drive when `USE_DRIVE` is set, so they survive the Colab runtime. A quick check:
# reload it the way `detect.ipynb` does and compare detections with the ground
# truth on a validation image.

# %%
checkpoint = model.find_last()
for label, path in (("last", checkpoint), ("best", model.find_best() or checkpoint)):
    print(f"{label}: {path} ({Path(path).stat().st_size / 2**20:.0f} MiB)")

from maskrcnn.data.transforms import extract_bboxes

detector = MaskRCNN.from_checkpoint(checkpoint)  # config and class names included
image_id = val_set.image_ids[0]
image, masks, class_ids = val_set.load_image_and_masks(image_id)
r = detector.detect([image])[0]
visualize.side_by_side(image, (extract_bboxes(masks), masks, class_ids),
                       (r["rois"], r["masks"], r["class_ids"], r["scores"]),
                       detector.class_names)
