"""How well the anchors cover a dataset's objects (issue 20; not part of CI).

    python benchmarks/anchor_coverage.py --data ../shared/datasets/kudzu --format via \\
        --split train --scales "[4, 11, 30, 81, 220]" "[[4, 6, 8], [11, 15, 21], ...]"

Each image as detection molds it (``load_image_gt(training=False)``: no crop, paste or
augmentation), every anchor of ``--scales`` (``RPN_ANCHOR_SCALES``: a side a level, or a list
of sides a level) against every ground-truth box (the evaluation's box IoU). Per band
of object side: the median of each object's best anchor IoU, the mean number of anchors at
IoU >= 0.7 (the RPN's positive threshold; below it only the object's single best anchor is
positive) and the share of objects with none, and the mean number at IoU >= 0.5.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

BANDS = [(0, 8), (8, 12), (12, 20), (20, 40), (40, 10 ** 6)]


def coverage(dataset, config) -> np.ndarray:
    """(objects, 4): side (sqrt of box area, px), best anchor IoU, anchors at >= 0.7, >= 0.5."""
    from maskrcnn.data.pipeline import load_image_gt
    from maskrcnn.evaluation.voc import compute_overlaps
    from maskrcnn.modeling.anchors import pyramid_anchors
    rows = []
    for image_id in dataset.image_ids:
        image, _, _, boxes, _ = load_image_gt(dataset, config, image_id, training=False)
        if not len(boxes):
            continue
        boxes = boxes.astype(np.float64)
        iou = compute_overlaps(boxes, pyramid_anchors(config, image.shape, np.float64))
        side = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        rows.append(np.stack([side, iou.max(1), (iou >= 0.7).sum(1), (iou >= 0.5).sum(1)], 1))
    return np.concatenate(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--format", default="via")
    p.add_argument("--split", default="train")
    p.add_argument("--scales", nargs="+", required=True, help="RPN_ANCHOR_SCALES as JSON")
    args = p.parse_args(argv)

    from maskrcnn.config import Config
    from maskrcnn.data.inspect import inspect_dataset, suggest_settings
    from maskrcnn.data.layout import open_dataset
    from maskrcnn.presets import FROM_SCRATCH
    dataset = open_dataset(args.data, args.format, split=args.split)
    suggested = suggest_settings(inspect_dataset(dataset))
    for scales in args.scales:
        fields = {**FROM_SCRATCH, **suggested, "NAME": "coverage",
                  "NUM_CLASSES": dataset.num_classes, "RPN_ANCHOR_SCALES": json.loads(scales),
                  "USE_MINI_MASK": False, "COPY_PASTE": 0.0}
        rows = coverage(dataset, Config.from_dict(fields))
        print(f"RPN_ANCHOR_SCALES={scales}: {len(rows)} objects")
        for lo, hi in BANDS:
            band = rows[(rows[:, 0] >= lo) & (rows[:, 0] < hi)]
            if not len(band):
                continue
            print(f"  side {lo:3d}-{min(hi, 9999):4d} px: {len(band):4d} objects, best IoU "
                  f"median {np.median(band[:, 1]):.2f}, anchors >= 0.7: {band[:, 2].mean():.2f} "
                  f"(none: {np.mean(band[:, 2] == 0):.0%}), >= 0.5: {band[:, 3].mean():.2f}")


if __name__ == "__main__":
    main()
