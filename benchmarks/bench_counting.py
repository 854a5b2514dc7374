"""Where a trained model's counts go wrong, before and after the post-processing and the
calibrated threshold (issue 33; not part of CI).

    python benchmarks/bench_counting.py --weights CKPT --data ../shared/datasets/kudzu \\
        --format via --json benchmarks/results_counting.json --key kudzu
    python benchmarks/bench_counting.py --weights logs/shapes.../mask_rcnn_shapes_0008.h5 \\
        --format shapes --data 60x128 --key shapes

For each setting, the test split (``--test-split``, default val) is scored by
``maskrcnn.evaluation.evaluate_model`` and every detection counted at the operating threshold
is sorted into the kinds of ``maskrcnn.evaluation.counting.DETECTION_KINDS`` (correct,
duplicate, fragment, merged, in an ignore region, background), with the objects missed and
the wrong detections touching the border:

- ``before``: the threshold 0.7, no mask-level duplicate suppression, border objects counted
  (the library before issue 33);
- ``mask_nms``: the same with the mask-level suppression within each class;
- ``mask_nms_across_classes``: and across classes (mask IoU >= 0.7; the Config defaults);
- ``border_rule``: and the border rule learnt from the training annotations;
- ``after``: the defaults of a model trained now: mask suppression, the border rule learnt
  from the training annotations, the threshold calibrated on the training split;
- ``calibrated_on_test``: the threshold chosen on the test images themselves (the best
  possible; it flatters them), for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


def load(fmt: str, data: str, split: str):
    from maskrcnn.cli.common import load_dataset
    return load_dataset(data, fmt, split)


def score(model, dataset, threshold: float) -> dict:
    """Count error, F1, AP and the kinds of counted detections at ``threshold``."""
    from maskrcnn.evaluation import evaluate_model

    model.config.DETECTION_MIN_CONFIDENCE = threshold
    result = evaluate_model(model, dataset, verbose=False)
    counting = result.counting()
    precision, recall, f1 = result.f1()
    return {"threshold": threshold, "mask_AP": result.coco_segm.stats["AP"],
            "count_error_mean": counting.mean_error,
            "images_within_10pct": counting.within_10_percent, "images": counting.truth.size,
            "counted": int(counting.counts.sum()), "true": int(counting.truth.sum()),
            "precision": precision, "recall": recall, "f1": f1,
            "kinds": {k: int(v) for k, v in result.breakdown().items()},
            "best_on_test": result.best_counting().threshold}


def table_row(scores: dict) -> dict:
    """One setting's figures as a flat row (percent where a share; the kinds as columns)."""
    row = {"threshold": round(scores["threshold"], 3), "counted": scores["counted"],
           "true": scores["true"],
           "count_error_pct": round(100 * scores["count_error_mean"], 1),
           "within_10pct": f"{scores['images_within_10pct']}/{scores['images']}",
           "f1_pct": round(100 * scores["f1"], 1), "mask_AP": round(scores["mask_AP"], 1)}
    row.update(scores["kinds"])
    return row


def machine() -> str:
    """The CPU model and the cores this process may use."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", required=True, help="a checkpoint of this project")
    p.add_argument("--data", required=True)
    p.add_argument("--format", default="via")
    p.add_argument("--train-split", default="train")
    p.add_argument("--test-split", default="val")
    p.add_argument("--key", default="kudzu")
    p.add_argument("--json", default=None)
    args = p.parse_args()

    from maskrcnn import MaskRCNN
    from maskrcnn.data.borders import border_statistics
    from maskrcnn.evaluation.calibration import calibrate

    train, test = load(args.format, args.data, args.train_split), load(args.format, args.data,
                                                                       args.test_split)
    model = MaskRCNN.from_checkpoint(args.weights)
    c = model.config
    out = {"weights": os.path.abspath(args.weights), "data": args.data,
           "date": time.strftime("%Y-%m-%d"), "machine": machine(), "settings": {}}
    c.DETECTION_MASK_NMS_THRESHOLD = c.DETECTION_MASK_CONTAINMENT = None
    c.DETECTION_MASK_NMS_ACROSS_CLASSES = None
    c.DETECTION_BORDER_OBJECTS = "count"
    out["settings"]["before"] = score(model, test, 0.7)
    c.DETECTION_MASK_NMS_THRESHOLD, c.DETECTION_MASK_CONTAINMENT = 0.5, 0.8
    out["settings"]["mask_nms"] = score(model, test, 0.7)
    c.DETECTION_MASK_NMS_ACROSS_CLASSES = 0.7
    out["settings"]["mask_nms_across_classes"] = score(model, test, 0.7)
    borders = border_statistics(train)
    out["border"] = {"rule": borders.rule, "touching": borders.touching,
                     "objects": borders.objects, "expected": borders.expected}
    c.DETECTION_BORDER_OBJECTS = borders.rule
    out["settings"]["border_rule"] = score(model, test, 0.7)
    on_train = calibrate(model, train, "training")
    out["settings"]["after"] = score(model, test, on_train.threshold)
    on_test = calibrate(model, test, "validation")
    out["settings"]["calibrated_on_test"] = score(model, test, on_test.threshold)
    for name, s in out["settings"].items():
        kinds = ", ".join(f"{k} {v}" for k, v in s["kinds"].items())
        print(f"{name:>18}: threshold {s['threshold']:.3f}, counted {s['counted']} for "
              f"{s['true']}, mean count error {100 * s['count_error_mean']:.0f} %, "
              f"{s['images_within_10pct']}/{s['images']} within 10 %, F1 "
              f"{100 * s['f1']:.0f} %, mask AP {s['mask_AP']:.1f}; {kinds}")
    print(f"border: {borders.describe()}")
    out["settings"] = {name: table_row(v) for name, v in out["settings"].items()}
    if args.json:  # one key per dataset, the others kept
        from timing import write_results
        earlier = {}
        if os.path.exists(args.json):
            with open(args.json) as f:
                earlier = json.load(f)
        write_results(args.json, {**earlier, args.key: out})


if __name__ == "__main__":
    main()
