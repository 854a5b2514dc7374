"""Detection on files and folders: annotated pictures, COCO results, masks and area shares.

    df = detect_folder("logs/shapes20240101T1200/mask_rcnn_shapes_0010.h5", "images/", "out/")

Writes to the output folder: ``annotated/<name>.jpg`` (masks, boxes, labels, scores);
``masks/<name>/<k>_<class>.png`` (0/255, with ``save_masks``); ``detections.json`` (COCO
results: image_id, category_id = class id, bbox [x, y, w, h] pixels, score, RLE
segmentation); ``images.csv`` (per image: image_id, file, status, height, width, instances,
any_object_share, <class>_count, <class>_share); ``summary.csv`` (per class); and
``state.json`` / ``records.jsonl``, which ``resume`` reads to skip images already done.

Shares are fractions in [0, 1] of the image's pixels covered by the union of a class's masks
(overlapping instances count once); ``any_object_share`` is the union of all masks.
Image ids are 1-based and stay the same when a run is resumed.
"""
from __future__ import annotations

import contextlib
import glob
import os
import sys
import time

import numpy as np
import pandas as pd

from .errors import ConfigError, DatasetError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif",
                              ".tiff", ".gif", ".webp", ".ppm", ".pgm"})
ANY_OBJECT = "any object"


# ----------------------------------------------------------------------------- inputs
def _as_list(inputs) -> list[str]:
    return [os.fspath(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike))
                                   else inputs)]


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def list_images(inputs, exclude_dir: str | None = None) -> list[str]:
    """Absolute paths of the image files that ``inputs`` name: one or a list of folders (their
    files with an image extension, not recursive), files (any extension) and glob patterns
    (``**`` recurses). Sorted per input, duplicates dropped; files that a folder or pattern
    finds under ``exclude_dir`` (the output folder) are left out."""
    found, seen = [], set()
    for spec in _as_list(inputs):
        if os.path.isdir(spec):
            files = [os.path.join(spec, n) for n in os.listdir(spec)]
        elif os.path.isfile(spec):
            files = [spec]
        elif glob.has_magic(spec):
            files = glob.glob(spec, recursive=True)
        else:
            raise DatasetError(f"{spec}: no such file or folder, and not a glob pattern")
        if not os.path.isfile(spec):
            files = [p for p in files if os.path.isfile(p) and _is_image_name(p)
                     and not (exclude_dir and _inside(p, exclude_dir))]
        for path in sorted(os.path.abspath(p) for p in files):
            if os.path.realpath(path) not in seen:
                seen.add(os.path.realpath(path))
                found.append(path)
    return found


def _is_image_name(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def _check_output(inputs, files: list[str], output: str) -> None:
    """Refuse an output folder that is an input folder, a file, or that holds an input."""
    for spec in _as_list(inputs):
        if os.path.isdir(spec) and os.path.realpath(spec) == os.path.realpath(output):
            raise ConfigError(f"the output folder {output} is the input folder; write the "
                              f"results elsewhere, e.g. {os.path.join(spec, 'detections')}")
    if os.path.exists(output) and not os.path.isdir(output):
        raise ConfigError(f"the output {output} exists and is not a folder")
    for path in files:
        if _inside(path, output):
            raise ConfigError(f"the input {path} lies inside the output folder {output}, where "
                              "it could be overwritten; move it or choose another output folder")


# ----------------------------------------------------------------------------- area shares
def area_shares(result: dict, class_names) -> pd.DataFrame:
    """Instance count and covered share of the image per class, for one ``detect`` result.

    Returns a DataFrame indexed by class name (background left out, class id order) and a
    last row "any object", with ``count`` (instances), ``pixels`` (covered by the union of
    the class's masks: overlaps count once) and ``share`` (pixels / (H * W), in [0, 1]).
    ``result["masks"]`` is (H, W, N) bool, ``result["class_ids"]`` (N,).
    """
    masks = np.asarray(result["masks"], dtype=bool)
    class_ids = np.asarray(result["class_ids"]).reshape(-1)
    if masks.ndim != 3 or masks.shape[-1] != len(class_ids):
        raise ValueError(f"masks of shape {masks.shape} do not fit {len(class_ids)} class ids; "
                         "expected (H, W, N)")
    rows = []
    for class_id, name in enumerate(class_names[1:], start=1):
        chosen = class_ids == class_id
        pixels = int(masks[..., chosen].any(axis=-1).sum()) if chosen.any() else 0
        rows.append((str(name), int(chosen.sum()), pixels))
    rows.append((ANY_OBJECT, len(class_ids), int(masks.any(axis=-1).sum())))
    table = pd.DataFrame(rows, columns=["class", "count", "pixels"]).set_index("class")
    table["share"] = table["pixels"] / float(masks.shape[0] * masks.shape[1])
    return table


# ----------------------------------------------------------------------------- model
def _device_scope(device: str | None):
    """``tf.device`` for "cpu" or "gpu" (refusing "gpu" where TensorFlow sees none)."""
    if device is None:
        return contextlib.nullcontext()
    import tensorflow as tf
    if device.lower() not in ("cpu", "gpu"):
        raise ConfigError(f"device must be 'cpu' or 'gpu', got {device!r}")
    if device.lower() == "gpu" and not tf.config.list_physical_devices("GPU"):
        raise ConfigError("device 'gpu' asked for, but TensorFlow sees no GPU "
                          "(install tensorflow[and-cuda] or use device='cpu')")
    return tf.device(f"/{device.upper()}:0")


def load_detector(weights: str, config=None, class_names=None, min_confidence=None,
                  batch_size=None):
    """A MaskRCNN in inference mode from a checkpoint (which carries config and class names)
    or a matterport .h5 with ``config`` (Config, JSON text or JSON file) and ``class_names``."""
    from .config import Config
    from .model import MaskRCNN

    if isinstance(config, (str, os.PathLike)):
        text = os.fspath(config)
        if os.path.isfile(text):
            with open(text, encoding="utf-8") as f:
                text = f.read()
        config = Config.from_json(text)
    overrides = {}
    if min_confidence is not None:
        overrides["DETECTION_MIN_CONFIDENCE"] = float(min_confidence)
    if batch_size:
        overrides.update(IMAGES_PER_GPU=int(batch_size), GPU_COUNT=1)
    model = MaskRCNN.from_checkpoint(os.fspath(weights), mode="inference", config=config,
                                     **overrides)
    model.class_names = _class_names(model, class_names)
    return model


def _class_names(model, names=None) -> list[str]:
    """Class names with the background first ("BG" added when left out).

    ``names`` given for a model that carries its own (a project checkpoint) must equal them
    (the background's name aside): ConfigError says which differ, rather than relabel."""
    num_classes = int(model.config.NUM_CLASSES)
    own = getattr(model, "class_names", None)
    if names is not None and own:
        given, carried = _with_background(names, num_classes), _with_background(own, num_classes)
        if given[1:] != carried[1:]:
            if len(given) == len(carried):
                differ = [f"class {i}: {carried[i]!r} in the model, {given[i]!r} given"
                          for i in range(1, len(given)) if given[i] != carried[i]]
            else:
                differ = [(f"{len(list(names))} names given, the model has "
                           f"{len(carried) - 1} (background left out)")]
            raise ConfigError(f"the class names given ({given[1:]}) differ from those the "
                              f"checkpoint carries ({carried[1:]}): {'; '.join(differ)}. "
                              "Leave out --class-names (class_names=) to use the "
                              "checkpoint's; they only name the classes of a matterport .h5")
    names = names if names is not None else own
    if not names:
        return ["BG"] + [f"class_{i}" for i in range(1, num_classes)]
    names = _with_background(names, num_classes)
    if len(names) != num_classes:
        raise ConfigError(f"got {len(names)} class names for NUM_CLASSES = {num_classes} "
                          f"(background included); give {num_classes - 1} names")
    return names


def _with_background(names, num_classes: int) -> list[str]:
    names = [str(n) for n in names]
    return ["BG"] + names if len(names) == num_classes - 1 else names


def _class_ids(classes, names: list[str]) -> list[int] | None:
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    unknown = [c for c in classes if c not in names[1:]]
    if unknown or not classes:
        raise ConfigError(f"unknown classes {unknown}; the model's classes are {names[1:]}")
    return [names.index(c) for c in classes]


# ----------------------------------------------------------------------------- public API
def detect_folder(model, inputs, output, min_confidence: float | None = None, classes=None,
                  batch_size: int | None = None, device: str | None = None,
                  save_masks: bool = False, resume: bool = False, config=None,
                  class_names=None, progress: bool = True) -> pd.DataFrame:
    """Detect instances in every image ``inputs`` names; write the outputs to ``output``.

    Args:
        model: a MaskRCNN, or a checkpoint path (a matterport .h5 also needs ``config``:
            a Config, JSON text or a JSON file, and ``class_names``).
        inputs: a folder, file or glob pattern, or a list of them (see :func:`list_images`).
        output: the output folder (created); refused if it is an input folder or holds an
            input file. Earlier outputs of the same names are replaced.
        min_confidence: keep detections scoring at least this (default: the config's
            DETECTION_MIN_CONFIDENCE).
        classes: class names to keep (default: all); also the classes of the CSV columns.
        batch_size: images per batch (default: the config's BATCH_SIZE).
        device: "cpu", "gpu", or None for TensorFlow's choice.
        save_masks: also write one PNG per instance.
        resume: skip images that an earlier run with the same settings finished.
        progress: show a progress bar, report unreadable files, print the summary.

    Returns one row per image, as in images.csv (unreadable files have status "unreadable",
    the message in ``error`` and no counts); :func:`summarize` makes the per-class table.
    ``df.attrs`` holds the run's figures: images, processed (this run), detected (this
    run), resumed, unreadable, seconds, images_per_s, detect_seconds (in ``model.detect``).
    """
    from tqdm.auto import tqdm

    from .inference_run import RECORDS_FILE, Run, load_state, plan, write_json

    output = os.path.abspath(os.fspath(output))
    files = list_images(inputs, exclude_dir=output)
    _check_output(inputs, files, output)
    if not files:
        raise DatasetError(f"no image files found in {inputs} (extensions: "
                           f"{', '.join(sorted(IMAGE_EXTENSIONS))})")
    with _device_scope(device):
        weights = None
        if not hasattr(model, "detect"):
            weights = os.path.abspath(os.fspath(model))
            model = load_detector(weights, config, class_names, min_confidence, batch_size)
        names = _class_names(model, class_names)
        keep_ids = _class_ids(classes, names)
        threshold = float(getattr(model.config, "DETECTION_MIN_CONFIDENCE", 0.0))
        if min_confidence is not None and weights is None and min_confidence < threshold:
            print(f"note: the model drops detections under DETECTION_MIN_CONFIDENCE = "
                  f"{threshold}; min_confidence {min_confidence} cannot bring them back",
                  file=sys.stderr)
        settings = {"weights": weights, "min_confidence": min_confidence,
                    "classes": None if keep_ids is None else [names[i] for i in keep_ids],
                    "masks": bool(save_masks), "class_names": names}
        done = load_state(output, settings, resume)
        todo, resumed = plan(files, done)
        bar = tqdm(total=len(files), initial=resumed, unit="img", desc="detect",
                   disable=not progress, file=sys.stderr)
        run = Run(model, output, names, min_confidence, keep_ids, save_masks, files)
        start = time.perf_counter()
        with open(os.path.join(output, RECORDS_FILE), "a", encoding="utf-8") as f:
            stats = run.run(todo, int(batch_size or model.config.BATCH_SIZE), f, bar)
        seconds = time.perf_counter() - start
        bar.close()
    done.update({r["file"]: r for r in stats.pop("records")})
    df = _write_outputs(output, files, done, run.columns)
    write_json(os.path.join(output, "detections.json"),
               [d for path in files for d in done[path].get("detections") or []])
    detected = stats["detected"]
    df.attrs.update(images=len(files), resumed=resumed, seconds=seconds,
                    unreadable=int((df["status"] != "ok").sum()),
                    images_per_s=detected / seconds if detected and seconds > 0 else float("nan"),
                    **stats)
    if progress:
        print(format_summary(df))
    return df


def _write_outputs(output: str, files: list[str], records: dict, classes: list[str]):
    """images.csv and summary.csv of the current inputs; returns the table."""
    columns = ["image_id", "file", "annotated", "status", "error", "height", "width",
               "instances", "any_object_share"]
    columns += [f"{c}_{k}" for c in classes for k in ("count", "share")]
    rows = []
    for path in files:
        r = records[path]
        ok = r["status"] == "ok"
        rows.append({"image_id": r["image_id"], "file": path, "status": r["status"],
                     "error": r.get("error"), "height": r.get("height"), "width": r.get("width"),
                     "annotated": os.path.join("annotated", r["name"] + ".jpg") if ok else None,
                     **(r.get("row") or {})})
    df = pd.DataFrame(rows, columns=columns)
    counts = ["height", "width", "instances"] + [f"{c}_count" for c in classes]
    df[counts] = df[counts].astype("Int64")
    df.to_csv(os.path.join(output, "images.csv"), index=False)
    summarize(df, classes).to_csv(os.path.join(output, "summary.csv"))
    return df


def summarize(df: pd.DataFrame, classes=None) -> pd.DataFrame:
    """Per class (and "any object") of a :func:`detect_folder` table: images with at least
    one instance, instances, and the mean and max share over the readable images."""
    if classes is None:
        classes = [c[:-len("_count")] for c in df.columns if c.endswith("_count")]
    ok = df[df["status"] == "ok"]
    rows = []
    for name in list(classes) + [ANY_OBJECT]:
        count, share = (("instances", "any_object_share") if name == ANY_OBJECT
                        else (f"{name}_count", f"{name}_share"))
        shares = ok[share].astype(float)
        rows.append({"class": name, "images": int((ok[count] > 0).sum()),
                     "instances": int(ok[count].sum()),
                     "mean_share": float(shares.mean()) if len(ok) else float("nan"),
                     "max_share": float(shares.max()) if len(ok) else float("nan")})
    return pd.DataFrame(rows).set_index("class")


def format_summary(df: pd.DataFrame) -> str:
    """The text :func:`detect_folder` prints at the end of a run."""
    a = df.attrs
    rate = (f" ({a['images_per_s']:.2f} images/s; model alone {a['detect_seconds']:.1f} s)"
            if a["detected"] else "")
    lines = [f"{a['images']} images: {a['detected']} detected now, {a['resumed']} done "
             f"before, {a['unreadable']} unreadable; {a['seconds']:.1f} s{rate}"]
    for _, row in df[df["status"] != "ok"].iterrows():
        lines.append(f"  unreadable: {row['error']}")
    lines.append(summarize(df).to_string(float_format=lambda v: f"{v:.4f}"))
    return "\n".join(lines)
