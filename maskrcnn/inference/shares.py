"""Area shares: per image and class, the instances and the share of the image's pixels that
their masks cover (overlapping instances count once); the tables a folder run writes.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..data.box_masks import BoxMasks

ANY_OBJECT = "any object"


def area_shares(result: dict, class_names) -> pd.DataFrame:
    """Instance count and covered share of the image per class, for one ``detect`` result.

    Returns a DataFrame indexed by class name (background left out, class id order) and a
    last row "any object", with ``count`` (instances), ``pixels`` (covered by the union of
    the class's masks: overlaps count once) and ``share`` (pixels / (H * W), in [0, 1]).
    ``result["masks"]`` is (H, W, N) bool or a BoxMasks (box crops, counted in their boxes
    without the full array), ``result["class_ids"]`` (N,).
    """
    masks = result["masks"]
    if not isinstance(masks, BoxMasks):
        masks = np.asarray(masks, dtype=bool)
    class_ids = np.asarray(result["class_ids"]).reshape(-1)
    if masks.ndim != 3 or masks.shape[-1] != len(class_ids):
        raise ValueError(f"masks of shape {masks.shape} do not fit {len(class_ids)} class ids; "
                         "expected (H, W, N)")
    rows = []
    for class_id, name in enumerate(class_names[1:], start=1):
        chosen = class_ids == class_id
        rows.append((str(name), int(chosen.sum()), covered_pixels(masks, chosen)))
    everything = np.ones(len(class_ids), bool)
    rows.append((ANY_OBJECT, len(class_ids), covered_pixels(masks, everything)))
    table = pd.DataFrame(rows, columns=["class", "count", "pixels"]).set_index("class")
    table["share"] = table["pixels"] / float(masks.shape[0] * masks.shape[1])
    return table


def covered_pixels(masks, chosen: np.ndarray) -> int:
    """Pixels of the union of the masks that the bool ``chosen`` selects."""
    if not chosen.any():
        return 0
    if isinstance(masks, BoxMasks):
        return masks.covered(chosen)
    return int(masks[..., chosen].any(axis=-1).sum())


def share_row(result: dict, class_names, columns) -> dict:
    """The images.csv columns of one image: instances, any_object_share, the detections
    that post-processing left out (``not_counted_at_border``, ``not_counted_duplicates``:
    see :meth:`~maskrcnn.predictor.Predictor.postprocess`), and ``<class>_count`` /
    ``<class>_share`` for each class named in ``columns``."""
    shares = area_shares(result, class_names)
    dropped = result.get("dropped") or {}
    row = {"instances": int(shares.loc[ANY_OBJECT, "count"]),
           "any_object_share": float(shares.loc[ANY_OBJECT, "share"]),
           "not_counted_at_border": int(dropped.get("border", 0)),
           "not_counted_duplicates": int(dropped.get("duplicate", 0))}
    row.update({f"{n}_{k}": shares.loc[n, k].item() for n in columns
                for k in ("count", "share")})
    return row


def write_tables(output: str, files: list[str], records: dict, classes: list[str]):
    """images.csv and summary.csv of the current inputs (``records`` by input path);
    returns the images table."""
    columns = ["image_id", "file", "annotated", "status", "error", "height", "width",
               "instances", "any_object_share", "not_counted_at_border",
               "not_counted_duplicates"]
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
    counts = ["height", "width", "instances", "not_counted_at_border",
              "not_counted_duplicates"] + [f"{c}_count" for c in classes]
    df[counts] = df[counts].astype("Int64")
    df.to_csv(os.path.join(output, "images.csv"), index=False)
    summarize(df, classes).to_csv(os.path.join(output, "summary.csv"))
    return df


def detections_file(files: list[str], records: dict, class_names) -> dict:
    """detections.json: ``images`` (id, file_name relative to the inputs' common folder,
    path, height, width of each readable input), ``annotations`` (the COCO results) and
    ``categories`` (class id and name)."""
    ok = [records[p] for p in files if records[p]["status"] == "ok"]
    top = os.path.commonpath([os.path.dirname(r["file"]) for r in ok]) if ok else ""
    return {"images": [{"id": r["image_id"], "file_name": os.path.relpath(r["file"], top),
                        "path": r["file"], "height": r["height"], "width": r["width"]}
                       for r in ok],
            "annotations": [d for r in ok for d in r.get("detections") or []],
            "categories": [{"id": i, "name": str(n)} for i, n in enumerate(class_names)
                           if i > 0]}


def summarize(df: pd.DataFrame, classes=None) -> pd.DataFrame:
    """Per class (and "any object") of a :func:`~maskrcnn.inference.detect_folder` table:
    ``images_with_class`` (readable images with at least one instance), ``instances``,
    ``mean_share_all_images`` (the mean share over every readable image, those without the
    class counting 0), ``mean_share_images_with_class`` (over the images that have it) and
    ``max_share``."""
    if classes is None:
        classes = [c[:-len("_count")] for c in df.columns if c.endswith("_count")]
    ok = df[df["status"] == "ok"]
    rows = []
    for name in list(classes) + [ANY_OBJECT]:
        count, share = (("instances", "any_object_share") if name == ANY_OBJECT
                        else (f"{name}_count", f"{name}_share"))
        shares, present = ok[share].astype(float), (ok[count] > 0).to_numpy(bool)
        rows.append({"class": name, "images_with_class": int(present.sum()),
                     "instances": int(ok[count].sum()),
                     "mean_share_all_images": float(shares.mean()) if len(ok) else float("nan"),
                     "mean_share_images_with_class":
                         float(shares[present].mean()) if present.any() else float("nan"),
                     "max_share": float(shares.max()) if len(ok) else float("nan")})
    return pd.DataFrame(rows).set_index("class")


def format_summary(df: pd.DataFrame) -> str:
    """The text :func:`~maskrcnn.inference.detect_folder` prints at the end of a run."""
    a = df.attrs
    rate = (f" ({a['images_per_s']:.2f} images/s; model alone {a['detect_seconds']:.1f} s)"
            if a["detected"] else "")
    lines = [f"{a['images']} images: {a['detected']} detected now, {a['resumed']} done "
             f"before, {a['unreadable']} unreadable; {a['seconds']:.1f} s{rate}"]
    for _, row in df[df["status"] != "ok"].iterrows():
        lines.append(f"  unreadable: {row['error']}")
    lines.append(summarize(df).to_string(float_format=lambda v: f"{v:.4f}"))
    return "\n".join(lines)
