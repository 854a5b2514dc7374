"""Write the four notebooks of this folder, without outputs:
``python notebooks/make_notebooks.py``.

The notebooks are generated so that the cells they share (Colab setup, paths, dataset choice,
the smoke-mode model) stay the same in all of them. Edit this file, run it, and commit both.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
COLAB_URL = "https://colab.research.google.com/github/OWNER/maskrcnn/blob/main/notebooks/"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip())


def title(name: str, heading: str, text: str):
    return md(f"""
        # {heading}

        [![Open In Colab]({BADGE})]({COLAB_URL}{name})

        {textwrap.dedent(text).strip()}

        **Running it.** On Colab: *Runtime > Run all* (the first cell installs the package; a
        GPU runtime makes training fast). Locally: open it from the repository with the kernel
        of `environment.yml` (or any environment where `pip install -e .` was run); paths are
        relative to the repository. **Smoke mode** (`SMOKE`, or `MASKRCNN_SMOKE=1` in the
        environment) swaps in the synthetic shapes dataset and tiny sizes so that the whole
        notebook runs in about a minute on a CPU; the tests run every notebook that way.
        """)


# --------------------------------------------------------------------------- shared cells
SETUP = [
    md("""
        ## Setup

        `SMOKE` is read from the environment so that the tests can switch it on; set it to
        `True` by hand for a quick look. On Colab the package is installed from GitHub: set
        `REPO_URL` to the repository you work from (your fork, or the project's). Colab's
        TensorFlow is kept. Figures are drawn inline; then we check for a GPU.
        """),
    code("""
        import os
        import subprocess
        import sys
        from importlib.util import find_spec
        from pathlib import Path

        # Smoke mode: synthetic shapes, tiny images, a few steps (about a minute on a CPU).
        SMOKE = os.environ.get("MASKRCNN_SMOKE", "0") == "1"

        IN_COLAB = "google.colab" in sys.modules
        # Edit: the repository to install from on Colab (your fork or the project's).
        REPO_URL = "https://github.com/OWNER/maskrcnn"

        if IN_COLAB and find_spec("maskrcnn") is None:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPO_URL}"],
                           check=True)

        %matplotlib inline
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        print(f"TensorFlow {tf.__version__}, GPUs: {[g.name for g in gpus] or 'none'}")
        if not gpus and IN_COLAB:
            print("No GPU runtime: choose Runtime > Change runtime type > GPU (e.g. T4), "
                  "then run the notebook again.")
        elif not gpus:
            print("No GPU: everything runs on the CPU (fine for smoke mode and the shapes "
                  "demo, slow for real datasets).")
        """),
    md("""
        ## Paths and Google Drive

        On Colab, files in the runtime disappear when it is recycled: set `USE_DRIVE = True`
        to mount Google Drive, read dataset zips from it and keep checkpoints there. Locally
        (Jupyter starts in `notebooks/`) paths are taken relative to the repository: datasets
        in `dataset/`, outputs in `runs/` (ignored by git). `MASKRCNN_WORKDIR` in the
        environment overrides where outputs go (the tests use a temporary folder).
        """),
    code("""
        USE_DRIVE = False  # Colab only: mount Google Drive
        DRIVE_DIR = Path("/content/drive/MyDrive/maskrcnn")

        if IN_COLAB and USE_DRIVE:
            from google.colab import drive

            drive.mount("/content/drive")
            DRIVE_DIR.mkdir(parents=True, exist_ok=True)


        def find_repo_root(start: Path) -> Path:
            \"\"\"The checkout holding this notebook (Jupyter starts in notebooks/).\"\"\"
            for folder in (start, *start.parents):
                if (folder / "pyproject.toml").is_file() and (folder / "maskrcnn").is_dir():
                    return folder
            return start


        ROOT = find_repo_root(Path.cwd().resolve())
        DATASET_DIR = ROOT / "dataset"
        WORKDIR = Path(os.environ.get("MASKRCNN_WORKDIR")
                       or (DRIVE_DIR if IN_COLAB and USE_DRIVE else ROOT / "runs"))
        MODEL_DIR = WORKDIR / "logs"  # one folder per training run, checkpoints inside
        WORKDIR.mkdir(parents=True, exist_ok=True)
        print(f"root: {ROOT}\\ndatasets: {DATASET_DIR}\\noutputs: {WORKDIR}")
        """),
]

DATASET_CHOICE = [
    md("""
        ## Choose a dataset

        `shapes` needs no files: synthetic images of squares, circles and triangles, the
        dataset of the demo. For your own data, copy it to `dataset/` (see
        `dataset/README.md` for the layouts found automatically) or to Drive:

        * `coco`: COCO JSON, e.g. MVTec D2S or COCO 2017 (`annotations/instances_<split>.json`);
        * `via`: the VGG Image Annotator, e.g. matterport's balloons
          (`<split>/via_region_data.json` beside the images). A zip of it on Drive, as users
          pack them, is extracted safely (no paths outside the target) the first time;
        * `bdd`: BDD100K instance segmentation, `openimages`: Open Images segmentation: give
          the annotation file (or BDD bitmask folder) and the image folder of each split.
        """),
    code("""
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
        """),
    code("""
        from maskrcnn.data import ShapesDataset
        from maskrcnn.data.layout import open_dataset, safe_extract_zip

        if DATASET in ("coco", "via") and DATASET_ZIP is not None:
            DATASET_PATH = DATASET_DIR / Path(DATASET_ZIP).stem
            if not DATASET_PATH.exists():
                print(f"extracting {DATASET_ZIP} into {DATASET_PATH}")
                safe_extract_zip(DATASET_ZIP, DATASET_PATH)


        def load_split(split, shapes_count=100, seed=0, strict=True):
            \"\"\"One split of the chosen dataset, prepared. strict=False collects problems
            (see inspect_data.ipynb) instead of stopping at the first one.\"\"\"
            if DATASET == "shapes":
                return ShapesDataset(shapes_count, SHAPES_SIZE, SHAPES_SIZE, seed=seed)
            if DATASET in ("coco", "via"):
                return open_dataset(DATASET_PATH, DATASET, split=split, strict=strict,
                                    **READER_OPTIONS)
            annotations, images = SPLIT_FILES[split]
            return open_dataset(annotations, DATASET, images=images, strict=strict,
                                **READER_OPTIONS)
        """),
]

SMOKE_CONFIG = """
    class SmokeConfig(ShapesConfig):
        \"\"\"The shapes config made tiny: 64 px images, a narrow network, 4 steps an epoch.\"\"\"
        NAME = "shapes"
        IMAGE_MIN_DIM = IMAGE_MAX_DIM = 64
        RPN_ANCHOR_SCALES = (4, 8, 16, 32, 64)
        IMAGES_PER_GPU = 2
        STEPS_PER_EPOCH = 4
        VALIDATION_STEPS = 1
        TOP_DOWN_PYRAMID_SIZE = 32
        RPN_HEAD_CHANNELS = 32
        FPN_CLASSIF_FC_LAYERS_SIZE = 64
        MASK_HEAD_CHANNELS = 16
        PRE_NMS_LIMIT = 500
        POST_NMS_ROIS_TRAINING = 64
        POST_NMS_ROIS_INFERENCE = 32
        TRAIN_ROIS_PER_IMAGE = 16
"""

CHECKPOINT_CELLS = [
    md("""
        ## The checkpoint

        A checkpoint of this package carries its config and class names, so the file is all
        we need. Set `CHECKPOINT` to one (from `train.ipynb`, or on Drive); left at `None`,
        the newest complete one under `runs/logs/` is used. In smoke mode a tiny shapes model
        is trained for a few steps first (about half a minute), so the notebook runs on its
        own; its detections are poor, which is fine for a smoke test.
        """),
    code("""
        CHECKPOINT = None  # e.g. MODEL_DIR / "shapes20240101T1200/mask_rcnn_shapes_0008.h5"
    """),
    code(f"""
        from maskrcnn import MaskRCNN
        from maskrcnn.data import ShapesDataset
        from maskrcnn.demo import ShapesConfig
        from maskrcnn.weights import is_complete_checkpoint


        {textwrap.indent(textwrap.dedent(SMOKE_CONFIG).strip(), " " * 8).lstrip()}


        if CHECKPOINT is None and SMOKE:
            trainer = MaskRCNN("training", SmokeConfig(), model_dir=str(MODEL_DIR))
            trainer.train(ShapesDataset(32, 64, 64, seed=0), None, learning_rate=0.02, epochs=1,
                          layers="all", verbose=0)
            CHECKPOINT = trainer.find_last()
        elif CHECKPOINT is None:
            found = sorted((p for p in MODEL_DIR.glob("*/mask_rcnn_*.h5")
                            if is_complete_checkpoint(str(p))), key=os.path.getmtime)
            if not found:
                raise FileNotFoundError(f"no checkpoint under {{MODEL_DIR}}: run train.ipynb "
                                        "first, or set CHECKPOINT to a file")
            CHECKPOINT = found[-1]
        print("checkpoint:", CHECKPOINT)
        """),
]


# --------------------------------------------------------------------------- train.ipynb
def train_notebook():
    return [
        title("train.ipynb", "Train Mask R-CNN", """
            Train Mask R-CNN on a dataset of your choice: look at a few samples, train the
            heads first and then deeper layers (from COCO or ImageNet weights when they fit),
            watch the losses in TensorBoard and in a plot, and keep the checkpoint (on Drive
            when you use Colab). `detect.ipynb` and `evaluate.ipynb` take it from there.
            """),
        *SETUP,
        *DATASET_CHOICE,
        md("""
            ## Load the training and validation sets

            Each reader returns a prepared `Dataset` (matterport's API: `class_names`,
            `image_ids`, `load_image`, `load_mask`). Bad annotations raise a `DatasetError`
            naming the file and the item; `inspect_data.ipynb` lists all problems at once.
            """),
        code("""
            train_set = load_split("train", shapes_count=100 if SMOKE else 600, seed=0)
            val_set = load_split("val", shapes_count=8 if SMOKE else 50, seed=1)
            print(f"train: {len(train_set.image_ids)} images, val: {len(val_set.image_ids)} "
                  f"images; classes: {train_set.class_names}")
            """),
        md("""
            ## Configuration

            A `Config` subclass with UPPER_CASE fields, as in matterport. The shapes config of
            the demo is small enough for a CPU. For a real dataset the class count comes from
            the data; a ResNet-101 backbone is what the COCO weights have (ResNet-50 is
            faster). Smoke mode shrinks everything.
            """),
        code("""
            from maskrcnn import Config
            from maskrcnn.demo import ShapesConfig

            if DATASET == "shapes":
                class TrainConfig(ShapesConfig):  # 128 px, "small" backbone, 3 classes
                    NAME = "shapes"
            else:
                class TrainConfig(Config):
                    NAME = DATASET
                    NUM_CLASSES = train_set.num_classes  # background included
                    BACKBONE = "resnet101"
                    IMAGES_PER_GPU = 2
                    IMAGE_MIN_DIM = 512
                    IMAGE_MAX_DIM = 512
                    STEPS_PER_EPOCH = 100
                    VALIDATION_STEPS = 10
                    DETECTION_MIN_CONFIDENCE = 0.7

            config = TrainConfig()
            if SMOKE:  # tiny and quick: 64 px images, a narrow network, 4 steps an epoch
                config.IMAGE_MIN_DIM = config.IMAGE_MAX_DIM = 64
                config.RPN_ANCHOR_SCALES = (4, 8, 16, 32, 64)
                config.IMAGES_PER_GPU = 2
                config.STEPS_PER_EPOCH = 4
                config.VALIDATION_STEPS = 1
                config.TOP_DOWN_PYRAMID_SIZE = 32
                config.RPN_HEAD_CHANNELS = 32
                config.FPN_CLASSIF_FC_LAYERS_SIZE = 64
                config.MASK_HEAD_CHANNELS = 16
                config.PRE_NMS_LIMIT = 500
                config.POST_NMS_ROIS_TRAINING = 64
                config.POST_NMS_ROIS_INFERENCE = 32
                config.TRAIN_ROIS_PER_IMAGE = 16
            config.validate()
            config.display()
            """),
        md("""
            ## A look at the data

            Before spending GPU time, check that images and masks belong together: each row
            shows an image and, per class, its instance masks.
            """),
        code("""
            from maskrcnn import visualize

            visualize.display_dataset_samples(train_set, train_set.image_ids[:3])
            """),
        md("""
            ## The model and its starting weights

            `INIT_WITH` picks the starting point: `"coco"` (matterport's `mask_rcnn_coco.h5`,
            ResNet-101, about 250 MB, downloaded once into `~/.keras/maskrcnn`), `"imagenet"`
            (a Keras ResNet backbone), `"last"` (resume the newest checkpoint in `MODEL_DIR`,
            epoch count included), the path of an `.h5` file, or `None` (from scratch). The
            class-specific head layers are left out automatically when the class count
            differs. Downloads happen only with `ALLOW_DOWNLOAD`, never in smoke mode; the
            shapes config's `"small"` backbone has no pretrained weights and starts from
            scratch.
            """),
        code("""
            from maskrcnn import MaskRCNN
            from maskrcnn.weights import COCO_WEIGHTS_FILE, cache_dir

            INIT_WITH = "coco"
            ALLOW_DOWNLOAD = True

            PRETRAINED_BACKBONE = config.BACKBONE in ("resnet50", "resnet101")
            if INIT_WITH in ("coco", "imagenet") and (SMOKE or not PRETRAINED_BACKBONE):
                INIT_WITH = None  # smoke mode never downloads; "small" has no pretrained weights
            elif INIT_WITH == "coco" and config.BACKBONE != "resnet101":
                INIT_WITH = "imagenet"  # the COCO file holds a ResNet-101
            if INIT_WITH in ("coco", "imagenet") and not ALLOW_DOWNLOAD:
                cached = {"coco": COCO_WEIGHTS_FILE,
                          "imagenet": f"{config.BACKBONE}_imagenet_matterport_names.h5"}
                if not (Path(cache_dir()) / cached[INIT_WITH]).is_file():
                    print(f"{INIT_WITH} weights are not cached and downloads are off: "
                          "training from scratch")
                    INIT_WITH = None

            model = MaskRCNN(mode="training", config=config, model_dir=str(MODEL_DIR))
            if INIT_WITH is not None:
                model.init_weights(INIT_WITH)
            print("starting from:", INIT_WITH or "scratch")
            """),
        md("""
            ## TensorBoard

            Each training run writes TensorBoard logs to its folder under `MODEL_DIR`. Start
            TensorBoard here, before training, and refresh it while the model trains (skipped
            in smoke mode; the loss plot further down shows the same curves).
            """),
        code("""
            if not SMOKE and find_spec("tensorboard") is not None:
                %load_ext tensorboard
                %tensorboard --logdir "{MODEL_DIR}"
            else:
                print("TensorBoard skipped (smoke mode, or tensorboard is not installed)")
            """),
        md("""
            ## Augmentation

            An albumentations transform is applied to each training image and its masks
            together. Keep to transforms that preserve the image size (flips, small affine
            changes, colour): the images are already resized and padded by then.
            """),
        code("""
            import albumentations as A

            augmentation = A.Compose([
                A.HorizontalFlip(p=0.5),
                A.RandomBrightnessContrast(p=0.3),
            ])
            """),
        md("""
            ## Training: heads first, then deeper layers

            Stages are `(layers, until_epoch, learning_rate)`; epochs count from the start,
            as in matterport. With pretrained weights the new heads are trained first while
            the backbone stays frozen, then ResNet stage 4 and up (`"4+"`), then everything at
            a lower rate. The shapes model's `"small"` backbone has no pretrained weights: all
            its layers must learn, so one epoch of heads is followed by `"all"`. Finished
            stages are skipped: after `model.init_weights("last")` the same call resumes an
            interrupted schedule. One checkpoint is written per epoch.
            """),
        code("""
            LR = config.LEARNING_RATE
            if SMOKE:
                STAGES = [("heads", 1, LR), ("all", 2, LR)]
            elif PRETRAINED_BACKBONE:
                STAGES = [("heads", 10, LR), ("4+", 30, LR), ("all", 40, LR / 10)]
            else:
                STAGES = [("heads", 1, LR), ("all", 6, LR), ("all", 8, LR / 10)]

            histories = model.train_schedule(train_set, val_set, STAGES,
                                             augmentation=augmentation,
                                             verbose=2 if SMOKE else "auto")
            """),
        md("""
            ## Losses

            The Keras histories of the stages, joined: training losses solid, validation
            dashed. `plot_loss_curves` reads the same numbers back from the TensorBoard logs,
            which also works for a run trained elsewhere (point it at the run's folder).
            """),
        code("""
            from maskrcnn.evaluation import plot_loss_curves

            history = {}
            for h in histories:
                for key, values in h.history.items():
                    history.setdefault(key, []).extend(values)
            visualize.plot_loss_history(history, title=f"{config.NAME}: losses per epoch")
            """),
        code("""
            plot_loss_curves(model.log_dir, title="From the TensorBoard logs")
            """),
        md("""
            ## The checkpoint

            The newest complete checkpoint of this run. It sits under `MODEL_DIR`, which is on
            Drive when `USE_DRIVE` is set, so it survives the Colab runtime. A quick check:
            reload it the way `detect.ipynb` does and compare detections with the ground
            truth on a validation image.
            """),
        code("""
            checkpoint = model.find_last()
            print("checkpoint:", checkpoint)

            from maskrcnn.data.transforms import extract_bboxes

            detector = MaskRCNN.from_checkpoint(checkpoint)  # config and class names included
            image_id = val_set.image_ids[0]
            image, masks, class_ids = val_set.load_image_and_masks(image_id)
            r = detector.detect([image])[0]
            visualize.side_by_side(image, (extract_bboxes(masks), masks, class_ids),
                                   (r["rois"], r["masks"], r["class_ids"], r["scores"]),
                                   detector.class_names, figsize=(8, 4))
            """),
    ]


# --------------------------------------------------------------------------- inspect_data.ipynb
def inspect_notebook():
    return [
        title("inspect_data.ipynb", "Inspect a dataset", """
            Look at a dataset before training on it: instance counts per class, images with
            their masks, every problem the readers found (with file and item), the anchors the
            model will match against the objects, and what augmentation does to an image and
            its masks.
            """),
        *SETUP,
        *DATASET_CHOICE,
        md("""
            ## Read one split and check it

            `strict=False` makes the reader go on past bad items, recording each problem,
            instead of stopping at the first. `inspect_dataset` then loads every image and its
            masks and adds what only loading shows (missing or unreadable images, masks that
            do not fit, empty masks).
            """),
        code("""
            from maskrcnn.data.inspect import inspect_dataset

            SPLIT = "train"
            dataset = load_split(SPLIT, shapes_count=12 if SMOKE else 200, strict=False)
            report = inspect_dataset(dataset)
            print(report.summary(max_problems=20))
            """),
        md("""
            ## Counts per class

            Instances per class, instances per image, and object sizes in COCO's buckets
            (small < 32² px, large ≥ 96² px). A class with few instances, or mostly small
            objects, tells you what to expect from training.
            """),
        code("""
            import matplotlib.pyplot as plt
            import numpy as np
            import pandas as pd

            counts = pd.Series(report.class_counts, name="instances").sort_values()
            fig, axes = plt.subplots(1, 3, figsize=(14, 3.5), layout="constrained")
            counts.plot.barh(ax=axes[0], title="instances per class")
            per_image = np.array(list(report.instances_per_image.values()))
            axes[1].hist(per_image, bins=np.arange(per_image.max() + 2) - 0.5)
            axes[1].set(title="instances per image", xlabel="instances", ylabel="images")
            pd.Series(report.size_counts).plot.bar(ax=axes[2], title="object sizes", rot=0)
            plt.show()
            """),
        md("""
            ## Samples with their masks

            One row per image: the image, then the masks of its largest classes. Below, one
            image with its instances drawn over it, boxes computed from the masks.
            """),
        code("""
            from maskrcnn import visualize
            from maskrcnn.data.transforms import extract_bboxes

            rng = np.random.default_rng(0)
            sample_ids = rng.choice(dataset.image_ids, size=min(3, len(dataset.image_ids)),
                                    replace=False)
            visualize.display_dataset_samples(dataset, sample_ids)
            """),
        code("""
            image_id = sample_ids[0]
            image, masks, class_ids = dataset.load_image_and_masks(image_id)
            visualize.display_instances(image, extract_bboxes(masks), masks, class_ids,
                                        dataset.class_names, figsize=(6, 6),
                                        title=dataset.image_reference(image_id))
            """),
        md("""
            ## The problems report

            Every problem as a table: the file, the item (image, region, annotation), what is
            wrong, and whether it is an *error* (the item is unusable) or a *warning*
            (something was fixed on the way, e.g. a point clipped to the image).
            """),
        code("""
            def problems_table(report):
                return pd.DataFrame([vars(p) for p in report.problems],
                                    columns=["severity", "file", "item", "message"])


            print(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
            problems_table(report).head(50)
            """),
        md("""
            The synthetic dataset has no problems, so here is what a report looks like for a
            small broken VIA export written on the spot: one image file is missing, one
            polygon reaches outside its image, one is degenerate (two points).
            """),
        code("""
            import json
            import tempfile

            from PIL import Image

            from maskrcnn.data.via import load_via

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
            """),
        md("""
            ## Anchors over an image

            The region proposal network starts from anchors: boxes of one scale per pyramid
            level and several aspect ratios, on a grid over the resized and padded image.
            Left: the anchors of every level at the cell nearest the image centre. Right: for
            each object, the anchor that overlaps it most (dotted), joined to the object's box
            (solid). If objects have no well-overlapping anchor, change `RPN_ANCHOR_SCALES` or
            `RPN_ANCHOR_RATIOS`.
            """),
        code("""
            from maskrcnn import Config
            from maskrcnn.data.pipeline import load_image_gt
            from maskrcnn.demo import ShapesConfig
            from maskrcnn.evaluation import compute_overlaps
            from maskrcnn.model.anchors import pyramid_anchors

            if DATASET == "shapes":
                config = ShapesConfig()
                config.IMAGE_MIN_DIM = config.IMAGE_MAX_DIM = SHAPES_SIZE
                config.RPN_ANCHOR_SCALES = tuple(s * SHAPES_SIZE // 128
                                                 for s in ShapesConfig.RPN_ANCHOR_SCALES)
            else:
                class InspectConfig(Config):
                    NAME = DATASET
                    NUM_CLASSES = dataset.num_classes
                    IMAGE_MIN_DIM = 512
                    IMAGE_MAX_DIM = 512
                config = InspectConfig()

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
            fig, axes = plt.subplots(1, 2, figsize=(12, 6), layout="constrained")
            visualize.draw_boxes(image, boxes=np.concatenate(picked), ax=axes[0],
                                 title="anchors at the centre, every level")
            visualize.draw_boxes(image, boxes=best, refined_boxes=gt_boxes, ax=axes[1],
                                 captions=[dataset.class_names[c] for c in gt_class_ids],
                                 title="best anchor for each object")
            plt.show()
            """),
        md("""
            ## Augmentation preview

            The same transform applied four times to one image and its masks, as the training
            pipeline does (`maskrcnn.data.pipeline.augment`). The masks must follow the
            image: if they do not, the transform is not one the pipeline can use.
            """),
        code("""
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
            """),
    ]


# --------------------------------------------------------------------------- detect.ipynb
def detect_notebook():
    return [
        title("detect.ipynb", "Detect objects in a folder of images", """
            Load a trained checkpoint, run detection on every image of a folder, look at the
            detections, and measure how much of each image every class covers (the area
            shares table).
            """),
        *SETUP,
        *CHECKPOINT_CELLS,
        md("""
            ## Load the model

            `from_checkpoint` rebuilds the model in inference mode from the file alone.
            Config fields can be changed on the way; the detection threshold is the usual
            one. (For a matterport `.h5`, pass `config=YourConfig()` and set
            `model.class_names`.)
            """),
        code("""
            MIN_CONFIDENCE = 0.3 if SMOKE else 0.7

            model = MaskRCNN.from_checkpoint(str(CHECKPOINT),
                                             DETECTION_MIN_CONFIDENCE=MIN_CONFIDENCE)
            print("classes:", model.class_names)
            print(f"images resized to {model.config.IMAGE_MAX_DIM} px, backbone "
                  f"{model.config.BACKBONE}")
            """),
        md("""
            ## The test folder

            Set `INPUT_DIR` to a folder of images (e.g. `DATASET_DIR / "balloon/val"` or one on
            Drive). Left at `None`, a few synthetic shapes images are written to
            `runs/test_images/`, matching the shapes model of `train.ipynb`.
            """),
        code("""
            from PIL import Image

            from maskrcnn.data import ShapesDataset

            INPUT_DIR = None
            OUTPUT_DIR = WORKDIR / "detections"

            if INPUT_DIR is None:
                INPUT_DIR = WORKDIR / "test_images"
                INPUT_DIR.mkdir(parents=True, exist_ok=True)
                size = int(model.config.IMAGE_MAX_DIM)
                shapes = ShapesDataset(4 if SMOKE else 12, size, size, seed=7)
                for i in shapes.image_ids:
                    Image.fromarray(shapes.load_image(i)).save(INPUT_DIR / f"shapes_{i:02d}.png")
            print(sorted(p.name for p in Path(INPUT_DIR).iterdir())[:10])
            """),
        md("""
            ## Detect on the whole folder

            `detect_folder` runs the model on every image (in batches), and writes to
            `OUTPUT_DIR` an annotated picture per image, `detections.json` (COCO results with
            RLE masks), `images.csv` (per image and class: instance count and share of the
            image covered) and `summary.csv`. Unreadable files are reported and skipped;
            `resume=True` continues an interrupted run. The same is available as
            `maskrcnn detect` on the command line.
            """),
        code("""
            from maskrcnn.inference import area_shares, detect_folder, summarize

            df = detect_folder(model, str(INPUT_DIR), str(OUTPUT_DIR))
            df[["file", "status", "instances", "any_object_share"]]
            """),
        md("""
            ## The detections

            `model.detect` takes a list of images of any size and returns, per image, boxes
            (`rois`), `class_ids`, `scores` and full-size `masks`; `display_instances` draws
            them (matterport's call).
            """),
        code("""
            import numpy as np

            from maskrcnn import visualize

            files = sorted(Path(INPUT_DIR).iterdir())[:2]
            for path in files:
                image = np.asarray(Image.open(path).convert("RGB"))
                r = model.detect([image])[0]
                visualize.display_instances(image, r["rois"], r["masks"], r["class_ids"],
                                            model.class_names, r["scores"], figsize=(6, 6),
                                            title=path.name)
            """),
        md("""
            ## Area shares

            For one result: per class, the instance count, the pixels covered by the union of
            its masks (overlapping instances count once) and the share of the image. Then the
            same over the folder: `summarize` gives, per class, the number of images it was
            found in, the instances, and the mean and largest share.
            """),
        code("""
            area_shares(r, model.class_names)
            """),
        code("""
            summarize(df)
            """),
        code("""
            import matplotlib.pyplot as plt

            share_columns = [c for c in df.columns if c.endswith("_share")]
            shares = df.set_index(df["file"].map(lambda f: Path(f).name))[share_columns]
            ax = shares.plot.bar(figsize=(9, 3.5), rot=45, title="share of each image covered")
            ax.set_ylabel("share of the image")
            plt.show()
            """),
        md("""
            ## The pictures on disk

            The annotated images that `detect_folder` wrote, ready to share.
            """),
        code("""
            shown = df.dropna(subset=["annotated"]).head(4)
            pictures = [np.asarray(Image.open(OUTPUT_DIR / a)) for a in shown["annotated"]]
            visualize.display_images(pictures, titles=[Path(f).name for f in shown["file"]])
            """),
    ]


# --------------------------------------------------------------------------- evaluate.ipynb
def evaluate_notebook():
    return [
        title("evaluate.ipynb", "Evaluate a checkpoint", """
            Score a trained model on held-out images: VOC-style mAP (matterport's
            `compute_ap`, mask IoU) and the COCO AP table for boxes and masks, precision/recall
            curves, the confusion matrix between classes, and the images the model does worst
            on.
            """),
        *SETUP,
        *CHECKPOINT_CELLS,
        *DATASET_CHOICE,
        md("""
            ## The evaluation set and the model

            Held-out images of the chosen dataset: its `val` split, or new shapes images (a
            seed the training never saw). `LIMIT` caps the number of images. A low detection
            threshold gives the full precision/recall curves, as COCO's own evaluation does;
            the checkpoint's threshold is what users see.
            """),
        code("""
            SPLIT = "val"
            LIMIT = 8 if SMOKE else None
            MIN_CONFIDENCE = 0.05 if SMOKE else None  # None: the checkpoint's own threshold

            overrides = ({} if MIN_CONFIDENCE is None
                         else {"DETECTION_MIN_CONFIDENCE": MIN_CONFIDENCE})
            model = MaskRCNN.from_checkpoint(str(CHECKPOINT), **overrides)
            if DATASET == "shapes":
                SHAPES_SIZE = int(model.config.IMAGE_MAX_DIM)
            eval_set = load_split(SPLIT, shapes_count=LIMIT or 60, seed=2)
            print(f"{len(eval_set.image_ids)} images, classes {eval_set.class_names}; "
                  f"the model's: {model.class_names}")
            """),
        md("""
            ## mAP and the COCO table

            `evaluate_model` detects on each image and scores it. VOC mAP@0.5 and
            mAP@[.5:.95] are matterport's numbers; the COCO table (pycocotools, in percent)
            adds AP at 0.75 and by object size, for boxes and masks.
            """),
        code("""
            from maskrcnn.evaluation import evaluate_model

            result = evaluate_model(model, eval_set, limit=LIMIT, verbose=False)
            print(f"VOC mAP@0.5:      {result.mAP50:.3f}")
            print(f"VOC mAP@[.5:.95]: {result.mAP:.3f}")
            print(f"{result.seconds_per_image:.3f} s per image")
            result.coco_table()
            """),
        md("""
            ## Precision/recall curves

            Per class, at IoU 0.5, from the COCO evaluation of the masks. A curve that drops
            early means confident false positives; one that stops short of recall 1 means
            objects that were never found.
            """),
        code("""
            from maskrcnn.evaluation import (plot_ap_histogram, plot_confusion_matrix,
                                             plot_precision_recall)

            plot_precision_recall(result.coco_segm, iou=0.5)
            """),
        md("""
            ## Confusion matrix

            Rows are the ground-truth classes, columns the predicted ones, matched at IoU 0.5.
            Row "background" counts detections that match no object (false positives), column
            "missed" the objects no detection matched. Normalised, each row shows where a
            class's objects went.
            """),
        code("""
            plot_confusion_matrix(result.confusion, result.class_names)
            """),
        code("""
            plot_confusion_matrix(result.confusion, result.class_names, normalize=True,
                                  title="Confusion matrix, share of each row")
            """),
        md("""
            ## Per image: the worst ones

            The distribution of AP over the images, then the three with the lowest AP@0.5:
            ground truth on the left, detections on the right. They are where to look for
            labelling mistakes or for what the model has not learned yet.
            """),
        code("""
            plot_ap_histogram(result.per_image)
            """),
        code("""
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
            """),
        md("""
            ## How the checkpoint was trained

            The loss curves from the TensorBoard logs beside the checkpoint, when its run
            folder still has them.
            """),
        code("""
            from IPython.display import display

            from maskrcnn.evaluation import plot_loss_curves

            run_dir = Path(CHECKPOINT).parent
            if any(run_dir.rglob("events.out.tfevents.*")):
                display(plot_loss_curves(run_dir, title=run_dir.name))
            else:
                print(f"no TensorBoard logs in {run_dir}")
            """),
    ]


NOTEBOOKS = {
    "train.ipynb": train_notebook,
    "inspect_data.ipynb": inspect_notebook,
    "detect.ipynb": detect_notebook,
    "evaluate.ipynb": evaluate_notebook,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` with stable cell ids and no outputs."""
    nb = new_notebook(cells=NOTEBOOKS[name]())
    stem = name.removesuffix(".ipynb").replace("_", "-")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem}-{i:02d}"
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "colab": {"provenance": []},
    }
    return nb


def main() -> None:
    for name in NOTEBOOKS:
        nb = build(name)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
