"""Corrected annotations merged into the originals, image by image, saying what changed.

The loop: a model's predictions are written for an annotation tool
(:func:`maskrcnn.data.writers.write_predictions`), a person corrects some images, and
:func:`merge_annotations` puts the corrections back into the training set: for an image in
both datasets the corrected instances replace the original ones; images in one only are taken
from it. Images are matched by file name (the base name where it is unique in both).

Per image in both, instances are paired one to one by mask IoU (highest first, at least
``match_iou``): a pair of one class is *kept* (IoU >= ``same_iou``) or *redrawn*; a pair whose
class changed is *relabelled*; unpaired corrected instances are *added*, unpaired original
ones *removed*. Crowd regions of an original image whose correction has none are kept (the
formats corrections come back in, VIA and YOLO, cannot carry them) and counted apart.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import DatasetError
from .convert import encode_rle
from .instances import Instance, InstanceDataset

CHANGES = ("added", "removed", "redrawn", "relabelled", "kept")


@dataclass
class MergeReport:
    """What the merge changed: per image in both datasets a dict of counts (:data:`CHANGES`),
    the totals, and how many images came from one dataset only."""

    images: dict = field(default_factory=dict)
    only_original: int = 0
    only_corrected: int = 0
    crowd_kept: int = 0

    @property
    def totals(self) -> dict:
        return {c: sum(counts[c] for counts in self.images.values()) for c in CHANGES}

    def __str__(self) -> str:
        totals = self.totals
        lines = [f"{len(self.images)} images corrected: " + ", ".join(
                     f"{totals[c]} {c}" for c in CHANGES),
                 f"{self.only_original} images kept as they were (no correction), "
                 f"{self.only_corrected} images only in the corrections (added)"]
        if self.crowd_kept:
            lines.append(f"{self.crowd_kept} crowd regions of the originals kept (their "
                         "corrections have none: the correction format cannot carry them)")
        lines += [f"  {name}: " + ", ".join(f"{counts[c]} {c}" for c in CHANGES if counts[c])
                  for name, counts in self.images.items()
                  if any(counts[c] for c in CHANGES[:4])]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"totals": self.totals, "images": self.images,
                "only_original": self.only_original, "only_corrected": self.only_corrected,
                "crowd_kept": self.crowd_kept}


def _names(dataset) -> list[str]:
    names = []
    for image_id in dataset.image_ids:
        info = dataset.image_info[int(image_id)]
        name = info.get("file_name") or (os.path.basename(info["path"]) if info.get("path")
                                         else str(info["id"]))
        names.append(str(name).replace("\\", "/"))
    return names


def _keys(original, corrected) -> tuple[list, list]:
    """Image keys of both datasets: base names where they are unique in each, else names."""
    names = _names(original), _names(corrected)
    bases = [[os.path.basename(n) for n in ns] for ns in names]
    unique = all(len(set(b)) == len(b) for b in bases)
    keys = bases if unique else names
    if not unique:
        known = set(keys[0])
        for name in keys[1]:
            same = [n for n in keys[0] if os.path.basename(n) == os.path.basename(name)]
            if name not in known and len(same) > 1:
                raise DatasetError(f"{getattr(corrected, 'annotation_file', 'corrections')}: "
                                   f"the correction {name!r} could be any of the originals "
                                   f"{same}; name it with its folder, as the originals do")
    for dataset, ks in zip((original, corrected), keys):
        if len(set(ks)) != len(ks):
            dup = next(k for k in ks if ks.count(k) > 1)
            raise DatasetError(f"{getattr(dataset, 'annotation_file', 'a dataset')}: two images "
                               f"are named {dup!r}; images are merged by name")
    return keys


def match_instances(original: tuple, corrected: tuple, match_iou: float = 0.5,
                    same_iou: float = 0.95) -> dict:
    """Counts of :data:`CHANGES` between two (masks (H, W, N), class ids) of one image."""
    (om, oc), (cm, cc) = original, corrected
    n, m = om.shape[-1], cm.shape[-1]
    counts = dict.fromkeys(CHANGES, 0)
    pairs = []
    if n and m:
        a = om.reshape(-1, n).astype(np.float32)
        b = cm.reshape(-1, m).astype(np.float32)
        inter = a.T @ b
        union = a.sum(0)[:, None] + b.sum(0)[None, :] - inter
        iou = inter / np.maximum(union, 1)
        pairs = sorted(((float(iou[i, j]), i, j) for i, j in zip(*np.nonzero(iou >= match_iou))),
                       reverse=True)
    used_o, used_c = set(), set()
    for value, i, j in pairs:
        if i in used_o or j in used_c:
            continue
        used_o.add(i)
        used_c.add(j)
        if oc[i] != cc[j]:
            counts["relabelled"] += 1
        else:
            counts["kept" if value >= same_iou else "redrawn"] += 1
    counts["removed"] = n - len(used_o)
    counts["added"] = m - len(used_c)
    return counts


def _class_names(dataset, class_ids) -> list:
    """Per instance: (class name, crowd)."""
    return [(dataset.class_info[abs(int(c))]["name"], bool(c < 0)) for c in class_ids]


def _instances(dataset, image_id: int, class_key) -> list:
    info = dataset.image_info[image_id]
    if "instances" in info and hasattr(dataset, "class_from_source_map"):
        by_key = {k: dataset.class_info[i]["name"]
                  for k, i in dataset.class_from_source_map.items()}
        return [inst._replace(class_key=class_key[by_key[inst.class_key]])
                for inst in info["instances"]]
    masks, class_ids = dataset.load_mask(image_id)
    return [Instance(class_key[name], crowd, "rle", encode_rle(masks[..., k]), f"instance {k}")
            for k, (name, crowd) in enumerate(_class_names(dataset, class_ids))]


def merge_annotations(original, corrected, *, match_iou: float = 0.5, same_iou: float = 0.95,
                      source: str = "merged") -> tuple[InstanceDataset, MergeReport]:
    """Merge ``corrected`` into ``original`` (two prepared Datasets, e.g. from
    :func:`maskrcnn.data.open_dataset`): returns the merged, prepared InstanceDataset and a
    :class:`MergeReport` (see the module docstring for the matching rule). Classes are matched
    by name (the original's first, then new ones of the corrections); image paths are each
    dataset's own, so the merged dataset loads the images it came from."""
    okeys, ckeys = _keys(original, corrected)
    names = [c["name"] for c in original.class_info[1:]]
    names += [c["name"] for c in corrected.class_info[1:] if c["name"] not in names]
    class_key = {name: f"{source}.{i}" for i, name in enumerate(names, start=1)}
    merged = InstanceDataset()
    for i, name in enumerate(names, start=1):
        merged.add_class(source, i, name)
    report = MergeReport()
    corrected_at = {k: i for i, k in enumerate(ckeys)}
    done = set()
    for image_id, key in enumerate(okeys):
        take = (corrected, corrected_at[key]) if key in corrected_at else (original, image_id)
        kept = []  # the original's crowd regions kept beside the correction
        if key in corrected_at:
            done.add(key)
            omasks, oids = original.load_mask(image_id)
            cmasks, cids = corrected.load_mask(corrected_at[key])
            if not (cids < 0).any():  # the correction has no crowd region: keep the original's
                crowd = oids < 0
                kept = [i for i in _instances(original, image_id, class_key) if i.crowd]
                report.crowd_kept += len(kept)
                omasks, oids = omasks[..., ~crowd], oids[~crowd]
            if omasks.shape[:2] != cmasks.shape[:2]:
                raise DatasetError(f"image {key!r}: the original is {omasks.shape[1]}x"
                                   f"{omasks.shape[0]} but the correction "
                                   f"{cmasks.shape[1]}x{cmasks.shape[0]}; they must be the "
                                   "same image")
            report.images[key] = match_instances(
                (omasks, _class_names(original, oids)), (cmasks, _class_names(corrected, cids)),
                match_iou, same_iou)
        else:
            report.only_original += 1
        _add(merged, take, key, class_key, source, kept)
    for key, image_id in corrected_at.items():
        if key not in done:
            report.only_corrected += 1
            _add(merged, (corrected, image_id), key, class_key, source)
    merged.prepare()
    return merged, report


def _add(merged, take, key, class_key, source, kept=()) -> None:
    dataset, image_id = take
    info = dataset.image_info[image_id]
    if "width" in info and "height" in info:
        width, height = int(info["width"]), int(info["height"])
    else:
        height, width = dataset.load_mask(image_id)[0].shape[:2]
    merged.add_image(source, key, info.get("path"), file_name=key, width=width, height=height,
                     instances=_instances(dataset, image_id, class_key) + list(kept))
