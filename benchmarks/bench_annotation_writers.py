"""Seconds to write predictions as annotations (``detect --annotations``), per image and per
instance, before and after the polygon tracing was made linear (issue 35).

A barely trained model predicts fragmented masks: hundreds of specks and holes per instance.
Writing them as VIA joins every part into one region, and the old join compared each part with
everything joined so far through full distance matrices (a minute per such instance); the
Douglas-Peucker simplification ran one Python step per kept vertex. Masks here: noisy
fields (uniform noise smoothed by a Gaussian, thresholded at 0.5) in boxes of 100-250 px on
1000 x 1000 images ("fragmented"), and filled ellipses ("clean"). "before" is
maskrcnn/data/polygons.py as of commit 75c8474, read from git.

    python benchmarks/bench_annotation_writers.py [--images 2] [--instances 12]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import write_results  # noqa: E402

from maskrcnn.data import writers  # noqa: E402

BEFORE = "75c8474"
HERE = os.path.dirname(os.path.abspath(__file__))


def old_polygons():
    """maskrcnn/data/polygons.py at commit BEFORE, as a module."""
    source = subprocess.run(["git", "show", f"{BEFORE}:maskrcnn/data/polygons.py"], cwd=HERE,
                            check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("polygons_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, "polygons_before.py", "exec"), module.__dict__)
    return module


def masks_of(kind: str, instances: int, seed: int, size: int = 1000) -> np.ndarray:
    """(size, size, instances) bool masks: fragmented noise or clean ellipses in boxes."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((size, size, instances), bool)
    yy, xx = np.mgrid[:250, :250]
    for i in range(instances):
        s = int(rng.integers(100, 250))
        y, x = rng.integers(0, size - s, 2)
        if kind == "fragmented":
            box = ndimage.gaussian_filter(rng.random((s, s)), 1.0) > 0.5
        else:
            box = ((yy[:s, :s] - s / 2) / (s / 2)) ** 2 + ((xx[:s, :s] - s / 2) / (s / 3)) ** 2 < 1
        masks[y:y + s, x:x + s, i] = box
    return masks


def records(kind: str, images: int, instances: int) -> list:
    return [{"file_name": f"{kind}{n}.jpg", "result": {
        "class_ids": np.ones(instances, np.int64), "scores": np.full(instances, 0.5),
        "masks": masks_of(kind, instances, seed=n)}} for n in range(images)]


def seconds(batch: list, fmt: str, polygons) -> tuple[float, object]:
    """Wall time of write_predictions with ``polygons``' tracing and joining."""
    saved = writers.mask_to_polygons, writers.join_parts
    writers.mask_to_polygons, writers.join_parts = polygons.mask_to_polygons, polygons.join_parts
    try:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            report = writers.write_predictions(batch, fmt, out, ["BG", "thing"])
            return time.perf_counter() - start, report
    finally:
        writers.mask_to_polygons, writers.join_parts = saved


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--instances", type=int, default=12)
    parser.add_argument("--formats", default="via,coco")
    parser.add_argument("--output", default=os.path.join(HERE, "results_annotation_writers.json"))
    args = parser.parse_args(argv)
    from maskrcnn.data import polygons
    versions = {"before": old_polygons(), "after": polygons}
    for module in versions.values():  # imports and first calls, outside the clock
        seconds(records("clean", 1, 1), "via", module)
    figures = {"images": args.images, "instances_per_image": args.instances,
               "image_size": "1000x1000", "before": f"commit {BEFORE}", "cases": {}}
    for kind in ("clean", "fragmented"):
        batch = records(kind, args.images, args.instances)
        for fmt in args.formats.split(","):
            case = figures["cases"].setdefault(f"{kind} {fmt}", {})
            for name, module in versions.items():
                took, report = seconds(batch, fmt, module)
                case[name] = {"s_per_image": round(took / args.images, 3),
                              "s_per_instance": round(took / args.images / args.instances, 4),
                              "fragments_dropped": report.fragments_dropped}
                print(f"{kind:10s} {fmt:5s} {name:6s} {took / args.images:8.2f} s/image "
                      f"{took / args.images / args.instances:8.3f} s/instance", flush=True)
            case["speedup"] = round(case["before"]["s_per_image"]
                                    / max(case["after"]["s_per_image"], 1e-9), 1)
    write_results(args.output, figures)
    return figures


if __name__ == "__main__":
    main()
