"""``maskrcnn train``: train on a dataset and print the last checkpoint."""
from __future__ import annotations

import json
import os
import sys

from .common import add_command, add_dataset_options, fail, load_dataset


def config_from(args, dataset, from_scratch: bool = False):
    """The Config of ``--config`` (a JSON file), ``--name`` and ``--set`` fields, with the
    dataset's NUM_CLASSES; fields that neither gives come from the data
    (``maskrcnn.data.inspect.suggest_settings``) unless ``--no-suggest``, and, training
    ``from_scratch``, from the recipe (``maskrcnn.presets.FROM_SCRATCH``)."""
    from ..config import Config
    values = {}
    if args.config:
        with open(args.config) as f:
            values = json.load(f)
    values.setdefault("NAME", args.name)
    values["NUM_CLASSES"] = dataset.num_classes
    values.update(parse_set(args.set or []))
    if getattr(args, "lr", None):
        values["LEARNING_RATE"] = args.lr  # printed with the config, as the run uses it
    if not args.no_suggest:
        from ..data.inspect import inspect_dataset, suggest_settings
        suggested = suggest_settings(inspect_dataset(dataset, max_images=SUGGEST_IMAGES))
        taken = {k: v for k, v in suggested.items() if k not in values}
        if taken:
            print("from the data (maskrcnn inspect; --set or --config to choose): "
                  + ", ".join(f"{k}={v}" for k, v in taken.items()))
        values.update(taken)
    if from_scratch:
        from ..presets import from_scratch_settings
        taken = from_scratch_settings(given=values)
        if taken:
            print("from-scratch recipe (--set or --config to choose): "
                  + ", ".join(f"{k}={v}" for k, v in taken.items()))
        values.update(taken)
    return Config.from_dict(values)


def parse_set(items) -> dict:
    """``--set FIELD=VALUE`` items as config fields: VALUE is read as JSON (numbers, lists,
    true/false, quoted strings), and taken as the plain string where it is not JSON
    (``--set IMAGE_RESIZE_MODE=crop``)."""
    from ..errors import ConfigError
    fields = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: give FIELD=VALUE, e.g. --set IMAGES_PER_GPU=1")
        try:
            fields[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            fields[key.strip()] = value.strip()
    return fields


SUGGEST_IMAGES = 200  # images looked at to suggest sizes, anchors and instance counts


ONEDNN = "TF_ENABLE_ONEDNN_OPTS"


def choose_cpu_kernels(environ=os.environ, modules=sys.modules) -> str | None:
    """Turn on TensorFlow's oneDNN CPU kernels for a training process, where TensorFlow is
    not yet imported and ``TF_ENABLE_ONEDNN_OPTS`` is not set; returns the line to print,
    None where nothing changed.

    TensorFlow 2.21 leaves oneDNN off on some CPUs (seen on a 2-core AMD EPYC with AVX2 and
    no AVX-512). There its convolution gradients are much faster than TensorFlow's own: a
    kudzu training step 1.65 s -> 0.97 s (1.45 s -> 0.95 s on a faster machine), while
    detection gains nothing (1.19 s -> 1.21 s an image; ``benchmarks/bench_cpu_kernels.py``,
    ``results_cpu_kernels.json``) and single forward convolutions ran up to 2.5 times slower,
    so only ``maskrcnn train``'s own process turns it on."""
    if ONEDNN in environ or "tensorflow" in modules:
        return None
    environ[ONEDNN] = "1"
    return (f"TensorFlow's oneDNN CPU kernels: on for training ({ONEDNN}=1: faster "
            f"convolution gradients on CPUs; {ONEDNN}=0 keeps TensorFlow's choice). On CPUs "
            "without AVX-512 oneDNN then logs once that it 'supports DT_... only on platforms "
            "with AVX-512': harmless, TensorFlow's own kernel runs that op")


def calibration_dataset(args, val_set):
    """The images the operating threshold is calibrated on at the end of training:
    ``--calibration-split``, else the validation split, else the dataset's "val" split when
    it has one; None: the training images (said in one line)."""
    from ..errors import DatasetError
    split = args.calibration_split
    if split == "train":
        print("calibration: on the training images (--calibration-split train)")
        return None
    if split is None and val_set is not None:
        return None  # the validation split
    try:
        dataset = load_dataset(args.dataset, args.format, split or "val", args.images, "val")
    except DatasetError:
        if split is not None:
            raise
        print("calibration: on the training images (the dataset has no val split: "
              "`maskrcnn split` makes one, or --calibration-split names another)")
        return None
    print(f"calibration: on the {split or 'val'} split ({len(dataset.image_ids)} images)")
    return dataset


def run(args) -> int:
    line = choose_cpu_kernels()  # before anything imports TensorFlow
    if line:
        print(line)
    from ..mask_rcnn import MaskRCNN

    train_set = load_dataset(args.dataset, args.format, args.split, args.images, "train")
    val_set = (load_dataset(args.dataset, args.format, args.val_split) if args.val_split
               else None)
    calibration_set = calibration_dataset(args, val_set)
    from_scratch = args.weights in (None, "none")
    layers = args.layers or ("all" if from_scratch else "heads")
    if from_scratch and layers != "all":
        return fail(f"--weights none --layers {layers} would train the {layers} layers on a "
                    "frozen, random backbone: train from scratch with --layers all (the "
                    "default without --weights), or start from --weights coco or imagenet")
    config = config_from(args, train_set, from_scratch)
    config.display()  # the effective config, as the run uses it
    model = MaskRCNN("training", config, args.model_dir)
    if not from_scratch:
        print(model.init_weights(args.weights))
    callbacks, epochs = [], args.epochs or 10
    if args.steps or args.budget_minutes:
        from ..trainer import TrainingBudget
        seconds = args.budget_minutes * 60 if args.budget_minutes else None
        callbacks.append(TrainingBudget(max_steps=args.steps, max_seconds=seconds))
        if not args.epochs:  # as many as the budget allows
            epochs = (-(-args.steps // config.STEPS_PER_EPOCH) if args.steps else 10 ** 6)
        print(f"budget: {args.steps or 'any'} steps, {args.budget_minutes or 'any'} minutes "
              f"(warm-up over the first 5 %, learning rate / 10 after 80 %)")
    print(f"training layers {layers!r} from {'scratch' if from_scratch else args.weights}")
    augmentation = None
    if not args.no_augment:
        from ..data.augmentation import default_augmentation
        augmentation = default_augmentation(seed=args.seed)
        print("augmentation: flips, zoom and rotation, brightness, contrast and colour "
              "(--no-augment: none)")
    model.train(train_set, val_set, learning_rate=config.LEARNING_RATE,
                epochs=epochs, layers=layers, augmentation=augmentation,
                custom_callbacks=callbacks, calibration_dataset=calibration_set)
    print(f"checkpoint: {model.find_last()}")
    return 0


def add_parser(subparsers):
    parser = add_command(subparsers, "train", run,
                         help="train on a dataset (COCO, VIA, LabelMe, YOLO-seg, BDD100K, "
                              "Open Images, or synthetic shapes)")
    add_dataset_options(parser, "train")
    parser.add_argument("--val-split", default=None,
                        help="split to validate on after each epoch (default: none)")
    parser.add_argument("--calibration-split", default=None,
                        help="split whose images the score threshold is calibrated on at the "
                             "end, so that counts come out right; 'train': the training "
                             "images (default: --val-split, else the dataset's val split, "
                             "else the training images)")
    parser.add_argument("--weights", default="none",
                        help="starting weights: coco, imagenet, last, a path or none")
    parser.add_argument("--layers", default=None,
                        help="layers to train: heads, 3+, 4+, 5+, all or a regex (default: "
                             "all from scratch, heads from --weights)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs to train (default: 10, or as many as --steps or "
                             "--budget-minutes allow)")
    parser.add_argument("--steps", type=int, default=None,
                        help="stop after this many training steps, with a checkpoint "
                             "(default: no limit)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="stop before this much wall time is used, with a checkpoint; "
                             "warm-up and decay are planned over it (default: no limit)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate: the config's LEARNING_RATE (default: the config's; "
                             "0.01 from scratch)")
    parser.add_argument("--name", default="custom",
                        help="the config's NAME (names the run folder), unless --config sets it")
    parser.add_argument("--config", default=None,
                        help="JSON file of config fields (default: none)")
    parser.add_argument("--set", action="append", metavar="FIELD=VALUE",
                        help="a config field, e.g. --set IMAGES_PER_GPU=1 or --set "
                             "IMAGE_RESIZE_MODE=crop (JSON, else a string); repeatable "
                             "(default: none)")
    parser.add_argument("--model-dir", default="logs", help="folder for checkpoints and logs")
    parser.add_argument("--no-augment", action="store_true",
                        help="train without the default augmentation (flips, zoom and rotation, "
                             "brightness, contrast and colour: maskrcnn.data.augmentation)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the augmentation draws (default: a new draw each run)")
    parser.add_argument("--no-suggest", action="store_true",
                        help="do not take image sizes, anchor scales and instance counts from "
                             "the data (fields that --config and --set do not give)")
    return parser
