"""Checking a dataset before training: counts, sizes and every problem with its file and item.

Readers record what they find while parsing in ``dataset.problems`` (a
:class:`~maskrcnn.data.problems.Problems` list, severity rules in
:mod:`maskrcnn.data.problems`); :func:`inspect_dataset` adds what only loading shows (missing
or unreadable images, masks that do not fit the image or the class ids, zero-area masks,
duplicate images and instances: :mod:`maskrcnn.data.duplicates`) and returns an
:class:`InspectReport`. :func:`inspect_path` reads every split of a dataset folder into a
:class:`DatasetReport`, which also compares the images of different splits.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import DatasetError
from ..progress import progress_bar
from .duplicates import (
    INSTANCE_IOU,
    NEAR_BITS,
    Fingerprint,
    difference_hash,
    duplicate_images,
    duplicate_instances,
    file_digest,
)
from .files import EVERY_SPLIT
from .layout import dataset_layout, open_dataset
from .problems import Problem, Problems, ReportingDataset  # noqa: F401  (their old home)
from .transforms import extract_bboxes

#: COCO's object size buckets: area in pixels below 32**2 is small, below 96**2 medium.
SMALL_AREA, MEDIUM_AREA = 32 ** 2, 96 ** 2


def count(n: int, one: str, many: str | None = None) -> str:
    """``1 class``, ``2 classes``: ``n`` and the word in the number that fits."""
    return f"{n} {one if n == 1 else many or one + 's'}"


class _Findings:
    """What both reports have: their problems split by severity, JSON and text."""

    def all_problems(self) -> list:
        return self.problems

    @property
    def errors(self) -> list:
        return [p for p in self.all_problems() if p.severity == "error"]

    @property
    def warnings(self) -> list:
        return [p for p in self.all_problems() if p.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def tally(self) -> str:
        return f"{count(len(self.errors), 'error')}, {count(len(self.warnings), 'warning')}"

    def to_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)

    def __str__(self) -> str:
        return self.summary()


@dataclass
class InspectReport(_Findings):
    """What :func:`inspect_dataset` found.

    ``class_counts``: instances per class name (crowd regions counted in ``crowd_counts``);
    ``instances_per_image``: image id (as in the source) -> number of instances;
    ``size_counts``: COCO buckets ``small`` / ``medium`` / ``large`` of mask areas in pixels.
    """

    num_images: int = 0
    num_classes: int = 0
    class_counts: dict = field(default_factory=dict)
    crowd_counts: dict = field(default_factory=dict)
    instances_per_image: dict = field(default_factory=dict)
    size_counts: dict = field(default_factory=lambda: {"small": 0, "medium": 0, "large": 0})
    skipped: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    #: (height, width) of each image read, and the side sqrt(height * width) of each
    #: instance's box, in the image's own pixels.
    image_sizes: list = field(default_factory=list)
    box_sides: list = field(default_factory=list)
    #: The split and annotation file, when read from a dataset folder.
    split: str | None = None
    source: str = ""
    #: One :class:`~maskrcnn.data.duplicates.Fingerprint` per image read (not in the JSON).
    fingerprints: list = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (image ids turned into strings)."""
        out = asdict(self)
        del out["fingerprints"]
        out["instances_per_image"] = {str(k): v for k, v in self.instances_per_image.items()}
        return out

    def summary(self, max_problems: int = 50) -> str:
        """A few lines for a terminal or a notebook cell."""
        per_image = np.array(list(self.instances_per_image.values()) or [0])
        lines = [f"split {self.split}: {self.source}"] if self.split else []
        lines.append(f"{count(self.num_images, 'image')}, "
                     f"{count(self.num_classes, 'class', 'classes')}, "
                     f"{count(int(per_image.sum()), 'instance')} "
                     f"({per_image.min()}..{per_image.max()} per image, "
                     f"mean {per_image.mean():.1f})")
        for name, instances in sorted(self.class_counts.items(), key=lambda kv: -kv[1]):
            crowd = self.crowd_counts.get(name, 0)
            lines.append(f"  {name:<24} {instances:>7}" + (f"  (+{crowd} crowd)" if crowd else ""))
        s = self.size_counts
        lines.append(f"sizes: {s['small']} small (< 32^2 px), {s['medium']} medium, "
                     f"{s['large']} large (>= 96^2 px)")
        if self.image_sizes:
            hw = np.array(self.image_sizes)
            lines.append(f"image sizes (h x w): median {int(np.median(hw[:, 0]))} x "
                         f"{int(np.median(hw[:, 1]))}, from {hw[:, 0].min()} x {hw[:, 1].min()}"
                         f" to {hw[:, 0].max()} x {hw[:, 1].max()}")
        if self.box_sides:
            p10, p50, p90 = np.percentile(self.box_sides, [10, 50, 90])
            lines.append(f"object sizes (box side, px): 10th percentile {p10:.0f}, median "
                         f"{p50:.0f}, 90th {p90:.0f}")
            fields = ", ".join(f"{k}={v}" for k, v in suggest_settings(self).items())
            lines.append(f"suggested config: {fields}")
        for what, skipped in self.skipped.items():
            lines.append(f"skipped: {skipped} {what}")
        lines.append(self.tally())
        lines += problem_lines(self.problems, max_problems)
        return "\n".join(lines)


def problem_lines(problems: list, max_problems: int) -> list[str]:
    lines = [f"  {p}" for p in problems[:max_problems]]
    if len(problems) > max_problems:
        lines.append(f"  ... and {len(problems) - max_problems} more")
    return lines


@dataclass
class DatasetReport(_Findings):
    """What :func:`inspect_path` found in a dataset folder: an :class:`InspectReport` per
    split (``splits``: name -> report) and the ``problems`` between splits (images in two
    splits). ``errors`` and ``warnings`` gather those of every split too."""

    root: str = ""
    format: str = ""
    splits: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def all_problems(self) -> list:
        return [p for r in self.splits.values() for p in r.problems] + list(self.problems)

    def to_dict(self) -> dict:
        return {"root": self.root, "format": self.format,
                "splits": {name: r.to_dict() for name, r in self.splits.items()},
                "problems": [asdict(p) for p in self.problems]}

    def summary(self, max_problems: int = 50) -> str:
        """Each split's summary (indented under its name), then what lies between splits."""
        parts = ", ".join(f"{name} ({count(r.num_images, 'image')})"
                          for name, r in self.splits.items())
        lines = [f"{self.format} dataset in {self.root}: "
                 f"{count(len(self.splits), 'split')}, {parts}"]
        for report in self.splits.values():
            first, *rest = report.summary(max_problems).split("\n")
            lines += [first] + [f"  {line}" for line in rest]
        if len(self.splits) > 1:
            lines.append(f"between splits: {count(len(self.problems), 'problem')}")
            lines += problem_lines(self.problems, max_problems)
        lines.append(f"in all: {self.tally()}")
        return "\n".join(lines)


def suggest_settings(report: InspectReport, max_dim_limit: int = 1024) -> dict:
    """Config fields that fit the data in ``report`` (it needs image and object sizes).

    - IMAGE_MIN_DIM / IMAGE_MAX_DIM: the median image at its own size (sides rounded up to
      multiples of 64), the long side at most ``max_dim_limit``; small objects suffer most
      from downscaling.
    - RPN_ANCHOR_SCALES: five sides in geometric steps, the smallest the power of two at or
      below the 10th-percentile object side once resized (at least 4 px, at most
      matterport's 32), the steps doubling, or wider (at most 3x) where that leaves the
      largest object above the fifth side: kudzu's insects are 5 to 250 px across, and with
      anchors of 4-64 px the close-ups came out as a dozen fragments.
    - MAX_GT_INSTANCES: the most instances in an image; DETECTION_MAX_INSTANCES: that with
      a quarter more room, at least 100.
    """
    hw = np.array(report.image_sizes or [(1024, 1024)], dtype=np.float64)
    short, long = np.median(hw.min(axis=1)), np.median(hw.max(axis=1))
    max_dim = int(min(max_dim_limit, 64 * np.ceil(long / 64)))
    scale = min(1.0, max_dim / long)
    min_dim = int(min(max_dim, 64 * np.ceil(short * scale / 64)))
    sides = np.asarray(report.box_sides or [32.0]) * scale
    smallest = int(2 ** np.floor(np.log2(max(4.0, np.percentile(sides, 10)))))
    smallest = min(smallest, 32)
    step = float(np.clip((np.max(sides) / smallest) ** 0.25, 2.0, 3.0))
    most = max([1] + list(report.instances_per_image.values()))
    return {"IMAGE_MIN_DIM": min_dim, "IMAGE_MAX_DIM": max_dim,
            "RPN_ANCHOR_SCALES": [int(round(smallest * step ** i)) for i in range(5)],
            "MAX_GT_INSTANCES": int(most),
            "DETECTION_MAX_INSTANCES": int(max(100, 10 * np.ceil(1.25 * most / 10)))}


def inspect_dataset(dataset, max_images: int | None = None, split: str | None = None,
                    near_bits: int = NEAR_BITS, instance_iou: float = INSTANCE_IOU
                    ) -> InspectReport:
    """Load every image and its masks of a prepared Dataset and report what is there.

    Problems the reader recorded (``dataset.problems``) are included. Loading problems
    (missing or unreadable image, masks that do not fit) are errors; zero-area masks,
    repeated images (byte-identical, or perceptual hashes at most ``near_bits`` of 256 bits
    apart) and instances of one image whose masks overlap with IoU above ``instance_iou``
    are warnings. Each problem names the image file (or the image id) and the instance(s).
    ``max_images``: look at an even sample of that many images only (counts then describe
    the sample). ``split``: the split's name, shown in the report.
    """
    dataset._check_prepared()
    report = InspectReport(num_images=len(dataset.image_info), num_classes=dataset.num_classes - 1,
                           split=split, source=str(getattr(dataset, "annotation_file", "") or ""))
    names = dataset.class_names
    classes, crowds = Counter(), Counter()
    problems = Problems(strict=False)
    image_ids = dataset.image_ids
    if max_images is not None and len(image_ids) > max_images:  # an even sample
        image_ids = image_ids[np.linspace(0, len(image_ids) - 1, max_images).astype(int)]
    for image_id in progress_bar(image_ids, desc="inspecting", unit="image", leave=False,
                                 disable=len(image_ids) < 50):
        info = dataset.image_info[image_id]
        ref = dataset.image_reference(image_id)
        item = f"image {info['id']!r}"
        try:
            image = dataset.load_image(image_id)
            masks, class_ids = dataset.load_mask(image_id)
            masks, class_ids = dataset.check_instances(image_id, image.shape[:2], masks,
                                                       class_ids)
        except DatasetError as err:
            problems.error(ref, item, str(err))
            report.instances_per_image[info["id"]] = 0
            continue
        report.image_sizes.append(tuple(int(v) for v in image.shape[:2]))
        report.fingerprints.append(Fingerprint(ref, item, file_digest(info.get("path")),
                                               difference_hash(image), split))
        boxes = extract_bboxes(masks)
        for i, j, iou in duplicate_instances(masks, boxes, class_ids, instance_iou):
            which = " and ".join(dict.fromkeys(names[int(class_ids[k])] for k in (i, j)))
            problems.warning(ref, f"{item}, instances {i} and {j}",
                             f"masks overlap with IoU {iou:.2f} (above {instance_iou}; "
                             f"{which}): the same object drawn twice?")
        report.box_sides += np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                                    )[class_ids > 0].round(1).tolist()
        areas = masks.reshape(-1, masks.shape[-1]).sum(axis=0) if masks.size else np.zeros(0)
        for i, (class_id, area) in enumerate(zip(class_ids, areas)):
            (crowds if class_id < 0 else classes)[names[abs(int(class_id))]] += 1
            if area == 0:
                problems.warning(ref, f"{item}, instance {i}", "mask has zero area")
            elif area < SMALL_AREA:
                report.size_counts["small"] += 1
            elif area < MEDIUM_AREA:
                report.size_counts["medium"] += 1
            else:
                report.size_counts["large"] += 1
        report.instances_per_image[info["id"]] = int(masks.shape[-1])
    report.class_counts = {name: classes.get(name, 0) for name in names[1:]}
    report.crowd_counts = dict(crowds)
    report.skipped = dict(getattr(dataset, "skipped", {}) or {})
    report.problems = (list(getattr(dataset, "problems", []) or []) + list(problems)
                       + duplicate_images(report.fingerprints, near_bits))
    return report


def _folder_layout(path: str, format: str):
    """The layout of a dataset folder or zip of ``format`` that names its splits; None for
    anything else."""
    if not (os.path.isdir(path) or path.lower().endswith(".zip")):
        return None
    try:
        layout = dataset_layout(path, format)
    except DatasetError:
        return None
    return None if EVERY_SPLIT in layout.splits else layout


def inspect_path(path, format: str, images: str | None = None, split: str | None = None,
                 class_names_as=None, near_bits: int = NEAR_BITS,
                 instance_iou: float = INSTANCE_IOU, **options) -> InspectReport | DatasetReport:
    """Read ``path`` with the reader of ``format`` (leniently) and inspect it.

    A dataset folder (or zip) without ``split``: every split, in a :class:`DatasetReport`
    that also compares the images of different splits; a file or one ``split``: an
    :class:`InspectReport`. ``class_names_as``: new names of the classes, in order (see
    :meth:`~maskrcnn.data.Dataset.rename_classes`). Problems that stop reading altogether
    (malformed JSON, a wrong schema) still raise DatasetError; everything per item ends up
    in the report.
    """
    path = os.fspath(path)
    layout = _folder_layout(path, format) if split is None else None

    def one(split_name):
        dataset = open_dataset(path, format, images=images, split=split_name, strict=False,
                               **options)
        if class_names_as is not None:
            dataset.rename_classes(class_names_as)
        return inspect_dataset(dataset, split=split_name, near_bits=near_bits,
                               instance_iou=instance_iou)

    if layout is None:
        return one(split)
    splits = {name: one(name) for name in layout.splits}
    prints = [f for r in splits.values() for f in r.fingerprints]
    return DatasetReport(layout.root, format, splits,
                         duplicate_images(prints, near_bits, across_splits_only=True))
