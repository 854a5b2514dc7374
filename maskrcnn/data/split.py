"""Reproducible train/val/test splits of a COCO or VIA annotation file, by image.

The split works on the JSON itself (nothing is decoded or rewritten but the subset), so each
part is a file of the same format that its reader takes as it took the original, and the
same images are still found: the parts are written beside the original by default, where
:func:`maskrcnn.data.layout.open_dataset` finds them as splits. Near-identical images stay
in one part.

    parts = split_annotations("via_region_data.json", {"train": 0.8, "val": 0.2}, seed=0)
    # {"train": "via_region_data.train.json", "val": "via_region_data.val.json"}
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..errors import DatasetError
from .duplicates import near_groups
from .files import check_writable, guess_image_dir, json_format, load_json, replacing


def split_counts(total: int, fractions: dict[str, float]) -> dict[str, int]:
    """Images per part: ``total`` shared by ``fractions`` (largest remainders), each part with
    a positive fraction getting at least one image where there are enough."""
    names = list(fractions)
    weights = np.array([float(fractions[n]) for n in names])
    if (weights < 0).any() or not weights.sum() > 0 or not np.isfinite(weights).all():
        raise DatasetError(f"split fractions must be >= 0 and not all 0, got {fractions}")
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[:total - counts.sum()]:
        counts[i] += 1
    for i in np.flatnonzero((weights > 0) & (counts == 0)):  # a wanted part left empty
        donor = int(np.argmax(counts))
        if counts[donor] > 1:
            counts[donor] -= 1
            counts[i] += 1
    return dict(zip(names, counts.tolist()))


def _assign(keys: list[str], fractions: dict[str, float], seed: int,
            groups: dict | None = None) -> dict[str, list[str]]:
    """Keys (sorted first, so that the input order does not matter) shuffled with ``seed``
    and cut into the parts. ``groups`` ({key: group key}): keys of one group (near-identical
    images) are shuffled as one and land in one part, which may then hold more than its
    count."""
    groups = groups or {}
    members: dict = {}
    for key in sorted(keys):
        members.setdefault(groups.get(key, key), []).append(key)
    units = list(members.values())
    order = np.random.default_rng(seed).permutation(len(units))
    shuffled = [units[i] for i in order]
    parts, n = {}, 0
    for name, count in split_counts(len(keys), fractions).items():
        parts[name] = []
        while n < len(shuffled) and len(parts[name]) < count:
            parts[name] += shuffled[n]
            n += 1
    for unit in shuffled[n:]:  # left by groups that overfilled a part: the last one
        parts[name] += unit
    return parts


def _key(image_id) -> str:
    """An image id with its type: 1 and "1" are different images to COCO's readers."""
    return f"{type(image_id).__name__}:{image_id}"


def _grouped(keys: list[str], files: list) -> dict:
    """{key: key of the first image it repeats} for the near-identical images among
    ``files`` (one per key; see :func:`maskrcnn.data.duplicates.near_groups`)."""
    return {key: keys[g] for key, g in zip(keys, near_groups(files)) if keys[g] != key}


def _split_coco(data: dict, path: str, fractions, seed):
    images, annotations = data.get("images"), data.get("annotations")
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise DatasetError(f"{path}: a COCO file needs 'images' and 'annotations' lists")
    by_key = {}
    for k, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image:
            raise DatasetError(f"{path}: images[{k}] has no 'id'")
        key = _key(image["id"])
        if key in by_key:
            raise DatasetError(f"{path}: image id {image['id']!r} appears twice in 'images'")
        by_key[key] = image
    folder = guess_image_dir(path)
    files = [os.path.join(folder, str(by_key[k].get("file_name", ""))) for k in by_key]
    out, grouped = {}, _grouped(list(by_key), files)
    for name, keys in _assign(list(by_key), fractions, seed, grouped).items():
        chosen = set(keys)
        part = dict(data)
        part["images"] = [image for image in images if _key(image["id"]) in chosen]
        part["annotations"] = [a for a in annotations
                               if isinstance(a, dict) and _key(a.get("image_id")) in chosen]
        out[name] = (part, len(part["images"]), len(part["annotations"]))
    return out, grouped


def _split_via(data: dict, path: str, fractions, seed):
    project = "_via_img_metadata" in data
    entries = data["_via_img_metadata"] if project else data
    if not isinstance(entries, dict):
        raise DatasetError(f"{path}: VIA image metadata must be an object of entries")
    folder = os.path.dirname(os.path.abspath(path))
    files = [os.path.join(folder, str(v.get("filename", ""))) if isinstance(v, dict) else None
             for v in entries.values()]
    out, grouped = {}, _grouped(list(entries), files)
    for name, keys in _assign(list(entries), fractions, seed, grouped).items():
        chosen = set(keys)
        subset = {k: v for k, v in entries.items() if k in chosen}  # the file's order
        part = dict(data) if project else subset
        if project:
            part["_via_img_metadata"] = subset
            if isinstance(data.get("_via_image_id_list"), list):
                part["_via_image_id_list"] = [k for k in data["_via_image_id_list"]
                                              if k in chosen]
        regions = sum(len(v.get("regions") or []) for v in subset.values()
                      if isinstance(v, dict))
        out[name] = (part, len(subset), regions)
    return out, grouped


def split_annotations(path: str, fractions: dict[str, float] | None = None, seed: int = 0,
                      output_dir: str | None = None, verbose: bool = True) -> dict[str, str]:
    """Split the COCO or VIA file ``path`` by image into parts of ``fractions`` (default
    train 0.8, val 0.2; e.g. ``{"train": 0.7, "val": 0.15, "test": 0.15}``), the same parts
    for the same ``seed`` and file. Writes ``<name>.<part>.json`` into ``output_dir``
    (default: beside ``path``, where the readers find the same images) and returns
    {part: file}. Every image lands in exactly one part, with all its annotations, and
    images that repeat one another (byte- or near-identical, as ``maskrcnn inspect`` flags
    them) land in the same part, so that none is validated on a copy of a training image."""
    path = os.fspath(path)
    fractions = dict(fractions or {"train": 0.8, "val": 0.2})
    data = load_json(path)
    kind = json_format(data)
    if kind == "coco":
        parts, grouped = _split_coco(data, path, fractions, seed)
    elif kind == "via":
        parts, grouped = _split_via(data, path, fractions, seed)
    elif kind == "labelme":
        raise DatasetError(f"{path}: this looks like a LabelMe file (one image's shapes), not "
                           "a COCO or VIA file; split a LabelMe dataset by moving its JSON "
                           "files into train/ and val/ folders, or convert it to COCO first")
    else:
        raise DatasetError(f"{path}: neither a COCO file (images, annotations) nor a VIA "
                           "export (an object of image entries with 'filename' and 'regions')")
    folder = output_dir or os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    targets = {name: check_writable(os.path.join(folder, f"{stem}.{name}.json"), [path])
               for name in parts}
    written = {}
    for name, (part, images, instances) in parts.items():
        target = targets[name]
        with replacing(target) as f:
            json.dump(part, f)
        written[name] = target
        if verbose:
            print(f"{name}: {images} images, {instances} instances -> {target}")
    if verbose and grouped:
        print(f"{len(grouped)} near-identical images (as `maskrcnn inspect` flags them) kept "
              f"in the part of the image they repeat, in {len(set(grouped.values()))} groups")
    return written
