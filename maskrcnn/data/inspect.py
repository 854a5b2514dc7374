"""Checking a dataset before training: counts, sizes and every problem with its file and item.

Readers record what they find while parsing in ``dataset.problems`` (a
:class:`~maskrcnn.data.problems.Problems` list, severity rules in
:mod:`maskrcnn.data.problems`); :func:`inspect_dataset` adds what only loading shows (missing
or unreadable images, masks that do not fit the image or the class ids, zero-area masks) and
returns an :class:`InspectReport`.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..errors import DatasetError
from .layout import open_dataset
from .problems import Problem, Problems, ReportingDataset  # noqa: F401  (their old home)
from .transforms import extract_bboxes

#: COCO's object size buckets: area in pixels below 32**2 is small, below 96**2 medium.
SMALL_AREA, MEDIUM_AREA = 32 ** 2, 96 ** 2


@dataclass
class InspectReport:
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

    @property
    def errors(self) -> list:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def to_dict(self) -> dict:
        """JSON-ready dict (image ids turned into strings)."""
        out = asdict(self)
        out["instances_per_image"] = {str(k): v for k, v in self.instances_per_image.items()}
        return out

    def to_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)

    def summary(self, max_problems: int = 50) -> str:
        """A few lines for a terminal or a notebook cell."""
        per_image = np.array(list(self.instances_per_image.values()) or [0])
        lines = [(f"{self.num_images} images, {self.num_classes} classes, "
                 f"{int(per_image.sum())} instances "
                 f"({per_image.min()}..{per_image.max()} per image, mean {per_image.mean():.1f})")]
        for name, count in sorted(self.class_counts.items(), key=lambda kv: -kv[1]):
            crowd = self.crowd_counts.get(name, 0)
            lines.append(f"  {name:<24} {count:>7}" + (f"  (+{crowd} crowd)" if crowd else ""))
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
        for what, count in self.skipped.items():
            lines.append(f"skipped: {count} {what}")
        lines.append(f"{len(self.errors)} errors, {len(self.warnings)} warnings")
        lines += [f"  {p}" for p in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            lines.append(f"  ... and {len(self.problems) - max_problems} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def suggest_settings(report: InspectReport, max_dim_limit: int = 1024) -> dict:
    """Config fields that fit the data in ``report`` (it needs image and object sizes).

    - IMAGE_MIN_DIM / IMAGE_MAX_DIM: the median image at its own size (sides rounded up to
      multiples of 64), the long side at most ``max_dim_limit``; small objects suffer most
      from downscaling.
    - RPN_ANCHOR_SCALES: five doubling sides, the smallest the power of two at or below the
      10th-percentile object side once resized (at least 4 px, at most matterport's 32).
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
    most = max([1] + list(report.instances_per_image.values()))
    return {"IMAGE_MIN_DIM": min_dim, "IMAGE_MAX_DIM": max_dim,
            "RPN_ANCHOR_SCALES": [smallest * 2 ** i for i in range(5)],
            "MAX_GT_INSTANCES": int(most),
            "DETECTION_MAX_INSTANCES": int(max(100, 10 * np.ceil(1.25 * most / 10)))}


def inspect_dataset(dataset, max_images: int | None = None) -> InspectReport:
    """Load every image and its masks of a prepared Dataset and report what is there.

    Problems the reader recorded (``dataset.problems``) are included. Loading problems
    (missing or unreadable image, masks that do not fit) are errors; zero-area masks are
    warnings. Each problem names the image file (or the image id) and the instance.
    ``max_images``: look at an even sample of that many images only (counts then describe
    the sample).
    """
    dataset._check_prepared()
    report = InspectReport(num_images=len(dataset.image_info), num_classes=dataset.num_classes - 1)
    names = dataset.class_names
    classes, crowds = Counter(), Counter()
    problems = Problems(strict=False)
    image_ids = dataset.image_ids
    if max_images is not None and len(image_ids) > max_images:  # an even sample
        image_ids = image_ids[np.linspace(0, len(image_ids) - 1, max_images).astype(int)]
    for image_id in tqdm(image_ids, desc="inspecting", unit="image", leave=False,
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
        boxes = extract_bboxes(masks)
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
    report.problems = list(getattr(dataset, "problems", []) or []) + list(problems)
    return report


def inspect_path(path: str, format: str, images: str | None = None, split: str | None = None,
                 **options) -> InspectReport:
    """Read ``path`` with the reader of ``format`` (leniently) and inspect it.

    Problems that stop reading altogether (malformed JSON, a wrong schema) still raise
    DatasetError; everything per item ends up in the report.
    """
    dataset = open_dataset(path, format, images=images, split=split, strict=False, **options)
    return inspect_dataset(dataset)
