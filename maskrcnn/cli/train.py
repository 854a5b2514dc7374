"""``maskrcnn train``: train on a dataset and print the last checkpoint."""
from __future__ import annotations

import json
import os
import shlex
import sys
import time

from .common import add_command, add_dataset_options, fail, load_dataset


def config_from(args, dataset, from_scratch: bool = False):
    """The Config of ``--config`` (a JSON file), ``--name``, ``--set`` and ``--lr``, merged
    with the data's suggestions (unless ``--no-suggest``) and, training ``from_scratch``,
    the recipe: :func:`maskrcnn.presets.training_config`."""
    from ..presets import training_config
    values = {}
    if args.config:
        with open(args.config) as f:
            values = json.load(f)
    values.setdefault("NAME", args.name or "custom")
    values.update(parse_set(args.set or []))
    if getattr(args, "lr", None):
        values["LEARNING_RATE"] = args.lr  # printed with the config, as the run uses it
    return training_config(dataset, values, from_scratch, suggest=not args.no_suggest)


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
            f"convolution gradients on CPUs; {ONEDNN}=0 keeps TensorFlow's choice)")


def calibration_dataset(args, val_set, model_classes=None):
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
        dataset = load_dataset(args.dataset, args.format, split or "val", args.images, "val",
                               model_classes)
    except DatasetError:
        if split is not None:
            raise
        print("calibration: on the training images (the dataset has no val split: "
              "`maskrcnn split` makes one, or --calibration-split names another)")
        return None
    print(f"calibration: on the {split or 'val'} split ({len(dataset.image_ids)} images)")
    return dataset


def starting_checkpoint(args) -> str | None:
    """The project checkpoint that ``--weights`` names (``last``: the newest complete one
    under ``--model-dir``, of ``--name`` where given), or None for other weights."""
    from ..checkpoint.checkpointer import find_last
    from ..checkpoint.info import read_checkpoint_info
    from ..errors import WeightsError
    if args.weights == "last":
        return find_last(args.model_dir, args.name.lower() if args.name else None)
    if args.weights in (None, "none", "coco", "imagenet") or not os.path.isfile(args.weights):
        return None
    try:
        return args.weights if read_checkpoint_info(args.weights)["config"] else None
    except WeightsError:
        return None  # not a project checkpoint: loaded (and refused) as other weights


def config_from_checkpoint_args(args, path: str, dataset):
    """The config ``path`` was trained with, changed only where asked (``--config``,
    ``--name``, ``--set``, ``--lr``) or where it must be: NUM_CLASSES for a dataset with other
    classes. Returns the Config and the layers to leave out when loading (the class-specific
    heads, which then start anew)."""
    from ..checkpoint.checkpointer import config_from_checkpoint
    from ..checkpoint.h5 import HEAD_LAYERS
    from ..checkpoint.info import read_checkpoint_info
    values = {}
    if args.config:
        with open(args.config) as f:
            values = json.load(f)
    if args.name:
        values["NAME"] = args.name
    values.update(parse_set(args.set or []))
    if getattr(args, "lr", None):
        values["LEARNING_RATE"] = args.lr
    exclude = []
    names = read_checkpoint_info(path)["class_names"] or []
    if list(dataset.class_names) != list(names):
        values.setdefault("NUM_CLASSES", dataset.num_classes)
        exclude = list(HEAD_LAYERS)
        print(f"the dataset's classes {list(dataset.class_names)[1:]} are not the checkpoint's "
              f"{list(names)[1:]}: NUM_CLASSES={dataset.num_classes}, the class-specific head "
              f"layers start anew ({', '.join(exclude)})")
    config = config_from_checkpoint(path, **values)
    changed = ", ".join(f"{k}={v}" for k, v in values.items())
    print(f"config from {path}" + (f", changed: {changed}" if changed else "")
          + " (--set FIELD=VALUE to change a field)")
    return config, exclude


def run(args) -> int:
    started = time.monotonic()  # a budget bounds the whole command
    line = choose_cpu_kernels()  # before anything imports TensorFlow
    if line:
        print(line)
    from ..checkpoint.retention import describe_keep, parse_keep
    from ..errors import TrainingInterrupted
    from ..mask_rcnn import MaskRCNN

    start = starting_checkpoint(args)
    model_classes = None
    if start:
        from ..checkpoint.info import read_checkpoint_info
        model_classes = read_checkpoint_info(start)["class_names"]
    train_set = load_dataset(args.dataset, args.format, args.split, args.images, "train",
                             model_classes)
    val_set = (load_dataset(args.dataset, args.format, args.val_split,
                            model_classes=model_classes) if args.val_split else None)
    calibration_set = calibration_dataset(args, val_set, model_classes)
    from_scratch = args.weights in (None, "none")
    trained_layers = None
    if start:
        from ..checkpoint.info import read_checkpoint_info
        trained_layers = read_checkpoint_info(start)["layers"]
    layers = args.layers or trained_layers or ("all" if from_scratch else "heads")
    if from_scratch and layers != "all":
        return fail(f"--weights none --layers {layers} would train the {layers} layers on a "
                    "frozen, random backbone: train from scratch with --layers all (the "
                    "default without --weights), or start from --weights coco or imagenet")
    if start:
        config, exclude = config_from_checkpoint_args(args, start, train_set)
    else:
        config, exclude = config_from(args, train_set, from_scratch), "auto"
    if args.keep_checkpoints:
        config.CHECKPOINTS_KEEP = parse_keep(args.keep_checkpoints)
    config.validate()
    config.display()  # the effective config, as the run uses it
    model = MaskRCNN("training", config, args.model_dir)
    if not from_scratch:
        model.init_weights(start or args.weights, exclude=exclude)  # it prints its report
    first_epoch = model.epoch
    budget, more = None, args.epochs or 10
    if args.steps or args.budget_minutes:
        budget = training_budget(args, model, train_set, val_set, started)
        if not args.epochs:  # as many as the budget allows
            more = -(-args.steps // config.STEPS_PER_EPOCH) if args.steps else 10 ** 6
        print(f"budget: {args.steps or 'any'} steps, {args.budget_minutes or 'any'} minutes "
              f"for the whole command, checkpoints and calibration included (warm-up over "
              f"the first 5 %, learning rate / 10 after 80 %)")
    why = ""
    if start and not args.layers:
        why = (" (as the checkpoint was trained; --layers to choose)" if trained_layers else
               " (the checkpoint does not say which layers it trained, it is older: --layers "
               "all continues a run trained from scratch)")
    source = "scratch" if from_scratch else start or args.weights
    print(f"training layers {layers!r}{why} from {source}"
          + (f", on from epoch {first_epoch}" if first_epoch else ""))
    print(f"checkpoints: {describe_keep(config.CHECKPOINTS_KEEP, val_set is not None)}")
    augmentation = None
    if not args.no_augment:
        from ..data.augmentation import default_augmentation
        augmentation = default_augmentation(seed=args.seed)
        print("augmentation: flips, zoom and rotation, brightness, contrast and colour "
              "(--no-augment: none)")
    try:
        history = model.train(train_set, val_set, learning_rate=config.LEARNING_RATE,
                              epochs=first_epoch + more, layers=layers,
                              augmentation=augmentation,
                              custom_callbacks=[budget] if budget else None,
                              verbose=0 if budget else "auto",
                              calibration_dataset=calibration_set)
    except TrainingInterrupted as err:
        print(f"{err}; resume with: {resume_command(args)}", file=sys.stderr)
        return 130
    print(run_summary(model, history, budget, started, val_set is not None))
    return 0


def training_budget(args, model, train_set, val_set, started: float):
    """The TrainingBudget of ``--steps`` and ``--budget-minutes``
    (:func:`maskrcnn.budget.command_budget`): what follows training is reserved out of the
    time; a progress line every 10 s."""
    from ..budget import command_budget
    return command_budget(model, train_set, val_set, args.budget_minutes, args.steps, started)


def run_summary(model, history, budget, started: float, validated: bool) -> str:
    """The lines every run ends with: steps and minutes, the last checkpoint, validation
    figures, the operating point, the checkpoints kept."""
    ran = list(getattr(history, "epoch", None) or [])
    steps = budget.steps if budget else len(ran) * model.config.STEPS_PER_EPOCH
    from ..checkpoint.retention import describe_keep
    stopped = (f", stopped by the budget of {budget.stopped_by}"
               if budget and budget.stopped_by else "")
    lines = [f"trained: {steps} steps to epoch {model.epoch} in "
             f"{(time.monotonic() - started) / 60:.1f} minutes{stopped}",
             f"checkpoint: {last_checkpoint(model)}"]
    figures = {k: v[-1] for k, v in (getattr(history, "history", None) or {}).items()
               if k.startswith("val_") and v}
    if figures:
        lines.append("validation: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    calibration = model.calibration
    lines.append("operating point: " + (calibration.describe() if calibration else
                 f"DETECTION_MIN_CONFIDENCE {model.config.DETECTION_MIN_CONFIDENCE:g} "
                 "(the config's, not calibrated)"))
    lines.append(f"checkpoints: {describe_keep(model.config.CHECKPOINTS_KEEP, validated)}")
    return "\n".join(lines)


def last_checkpoint(model) -> str:
    """The checkpoint this run wrote last (the newest of its NAME where it wrote none)."""
    path = model.checkpoint_path.format(epoch=model.epoch) if model.checkpoint_path else None
    return path if path and os.path.isfile(path) else model.find_last()


def resume_command(args) -> str:
    """The command line of this run, starting from its newest checkpoint."""
    argv, skip = [], False
    for item in getattr(args, "argv", None) or ["train", "..."]:
        if skip:
            skip = False
            continue
        if item == "--weights":
            skip = True
            continue
        if not item.startswith("--weights="):
            argv.append(item)
    return shlex.join(["maskrcnn", *argv, "--weights", "last"])


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
                        help="starting weights: coco, imagenet, last (the newest checkpoint in "
                             "--model-dir), a path or none; a checkpoint of this project "
                             "brings its config, classes, layers and epoch count")
    parser.add_argument("--layers", default=None,
                        help="layers to train: heads, 3+, 4+, 5+, all or a regex (default: "
                             "those a checkpoint was trained with; all from scratch; heads "
                             "from coco or imagenet)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs to train from where training starts (a checkpoint's "
                             "epoch count goes on) (default: 10, or as many as --steps or "
                             "--budget-minutes allow)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps to run from where training starts, then stop "
                             "with a checkpoint (default: no limit)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="wall time of the whole command: training stops early enough "
                             "that checkpoints, the batch-norm pass and calibration fit in it; "
                             "warm-up and decay are planned over it (default: no limit)")
    parser.add_argument("--keep-checkpoints", default=None, metavar="N|all",
                        help="the newest N checkpoints kept beside the best by validation "
                             "loss, or all (default: the config's CHECKPOINTS_KEEP, 2)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate: the config's LEARNING_RATE (default: the config's; "
                             "0.01 from scratch)")
    parser.add_argument("--name", default=None,
                        help="the config's NAME (names the run folder), unless --config sets "
                             "it (default: custom, or a checkpoint's)")
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
