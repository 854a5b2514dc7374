"""Opening a large COCO instances JSON: ``load_coco`` beside pycocotools' ``COCO``.

    python benchmarks/bench_coco_open.py                         # 100k instances, 3 repeats
    python benchmarks/bench_coco_open.py --instances 5000 --repeats 1   # smoke run

Writes a COCO JSON in a temporary folder: ``--images`` images of 640x480 sharing
``--instances`` annotations (polygons of 8 to 24 points, every tenth one an uncompressed RLE,
every fiftieth a crowd region) over 80 categories. Times, median of ``--repeats``:

* ``load_coco``: parse, validate every record, clip polygons, map categories, prepare the
  Dataset (masks stay geometry until ``load_mask``);
* pycocotools' ``COCO(path)``: parse and index, no validation (the peer users know);
* ``load_mask`` for 100 images (mask decoding is lazy, per image).

Image files are not needed for opening and are not written. Not run in CI.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from timing import median_seconds  # noqa: E402

from maskrcnn.data import load_coco  # noqa: E402

WIDTH, HEIGHT = 640, 480


def _polygon(rng, width=WIDTH, height=HEIGHT):
    cx, cy = rng.uniform(40, width - 40), rng.uniform(40, height - 40)
    points = int(rng.integers(8, 25))
    angles = np.sort(rng.uniform(0, 2 * np.pi, points))
    radii = rng.uniform(10, 40, points)
    xy = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
    return [np.round(xy, 2).ravel().tolist()]


def _rle(rng, width=WIDTH, height=HEIGHT):
    """Uncompressed RLE of a rectangle (column-major runs, as COCO stores them)."""
    x1, y1 = int(rng.integers(0, width - 50)), int(rng.integers(0, height - 50))
    w, h = int(rng.integers(5, 50)), int(rng.integers(5, 50))
    counts = [x1 * height + y1]
    for _ in range(w - 1):
        counts += [h, height - h]
    counts += [h, width * height - sum(counts) - h]
    return {"size": [height, width], "counts": counts}


def write_coco(path, num_images, num_instances, seed=0, width=WIDTH, height=HEIGHT,
               file_name=lambda i: f"{i:012d}.jpg"):
    """A COCO instances JSON at ``path``: ``file_name(i)`` names image i."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "file_name": file_name(i), "width": width, "height": height}
              for i in range(num_images)]
    annotations = []
    for k in range(num_instances):
        segmentation = (_rle(rng, width, height) if k % 10 == 9
                        else _polygon(rng, width, height))
        annotations.append({"id": k + 1, "image_id": int(rng.integers(num_images)),
                            "category_id": int(rng.integers(1, 81)),
                            "segmentation": segmentation, "iscrowd": int(k % 50 == 49),
                            "area": 0.0, "bbox": [0, 0, 0, 0]})
    categories = [{"id": c, "name": f"class{c}", "supercategory": "thing"}
                  for c in range(1, 81)]
    with open(path, "w") as f:
        json.dump({"images": images, "annotations": annotations,
                   "categories": categories}, f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--instances", type=int, default=100000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)

    from pycocotools.coco import COCO

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "instances_bench.json")
        write_coco(path, args.images, args.instances)
        megabytes = os.path.getsize(path) / 2 ** 20
        ours = median_seconds(lambda: load_coco(path, image_dir=tmp), args.repeats, warmup=False)

        def peer():
            with contextlib.redirect_stdout(io.StringIO()):
                COCO(path)
        theirs = median_seconds(peer, args.repeats, warmup=False)
        dataset = load_coco(path, image_dir=tmp)
        ids = dataset.image_ids[:100]
        masks = median_seconds(lambda: [dataset.load_mask(i) for i in ids], args.repeats,
                               warmup=False)
        count = sum(len(dataset.image_info[i]["instances"]) for i in dataset.image_ids)

    print(f"{args.instances} instances on {args.images} images ({megabytes:.0f} MB JSON), "
          f"median of {args.repeats}; {count} instances kept")
    print("| | seconds | ratio |\n|---|---|---|")
    print(f"| load_coco (validated, lazy masks) | {ours:.2f} | {ours / theirs:.2f} |")
    print(f"| pycocotools COCO() | {theirs:.2f} | 1.00 |")
    print(f"load_mask for {len(ids)} images: {masks:.2f} s "
          f"({1000 * masks / max(len(ids), 1):.1f} ms per image)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"instances": args.instances, "images": args.images,
                       "json_mb": megabytes, "load_coco_s": ours, "pycocotools_s": theirs,
                       "ratio": ours / theirs, "load_mask_100_s": masks,
                       "cpu_count": os.cpu_count()}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
