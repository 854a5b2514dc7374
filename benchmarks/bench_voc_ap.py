"""VOC-style AP speed: 1,000 images of 100 detections, ours beside a per-prediction loop.

    python benchmarks/bench_voc_ap.py                       # 1000 images, 512 x 512, 3 repeats
    python benchmarks/bench_voc_ap.py --images 50 --repeats 1   # smoke run

Each image gets 20 ground-truth instances (ellipses, 4 classes) and 100 scored predictions:
jittered copies of the ground truths, some with the wrong class, and random false positives.
Both sides compute mAP@0.5 and mAP@[.5:.95] on mask IoU for every image:

* ours: ``maskrcnn.evaluation.evaluate_image`` (what ``evaluate_model`` calls per image: both
  APs and the confusion matrix from one overlap computation, vectorised matching);
* the loop: the sequential scheme of matterport's ``mrcnn.utils`` (mask IoU as one matrix
  product over all pixels, then one Python step per prediction and per candidate ground
  truth), written out below as the reference a user's notebook would run.

Only the AP calls are timed (the synthetic masks are drawn outside the clock). Ours runs over
all images; the loop, about 50 times slower, over the first ``--loop-images``. The table gives
medians of ``--repeats`` passes, seconds per image and the ratio ours / loop per image, and
checks that both sides give the same APs on the images both ran. Not run in CI.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from skimage.draw import ellipse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from maskrcnn.data.transforms import extract_bboxes  # noqa: E402
from maskrcnn.evaluation import evaluate_image  # noqa: E402

THRESHOLDS = np.round(np.arange(0.5, 1.0, 0.05), 2)
NUM_CLASSES = 4  # background + 3


# --------------------------------------------------------------------------- synthetic data
def _ellipse_masks(centres, radii, size):
    masks = np.zeros((size, size, len(centres)), dtype=bool)
    for i, ((cy, cx), (ry, rx)) in enumerate(zip(centres, radii)):
        rr, cc = ellipse(cy, cx, ry, rx, shape=(size, size))
        masks[rr, cc, i] = True
    return masks


def make_image(rng, size, num_gt, num_pred, num_classes=NUM_CLASSES):
    """(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores, pred_masks)."""
    centres = rng.uniform(0.1 * size, 0.9 * size, (num_gt, 2))
    radii = rng.uniform(0.03 * size, 0.12 * size, (num_gt, 2))
    gt_masks = _ellipse_masks(centres, radii, size)
    keep = gt_masks.any(axis=(0, 1))
    gt_masks, centres, radii = gt_masks[..., keep], centres[keep], radii[keep]
    gt_class_ids = rng.integers(1, num_classes, centres.shape[0])

    copies = rng.integers(0, centres.shape[0], num_pred // 2)
    p_centres = np.concatenate([centres[copies] + rng.normal(0, 0.02 * size, (copies.size, 2)),
                                rng.uniform(0.1 * size, 0.9 * size, (num_pred - copies.size, 2))])
    p_radii = np.concatenate([radii[copies] * rng.uniform(0.8, 1.2, (copies.size, 2)),
                              rng.uniform(0.03 * size, 0.12 * size,
                                          (num_pred - copies.size, 2))])
    pred_class_ids = np.concatenate([
        np.where(rng.random(copies.size) < 0.9, gt_class_ids[copies],
                 rng.integers(1, num_classes, copies.size)),
        rng.integers(1, num_classes, num_pred - copies.size)])
    pred_masks = _ellipse_masks(p_centres, p_radii, size)
    pred_scores = rng.random(num_pred).astype(np.float32)
    return (extract_bboxes(gt_masks), gt_class_ids, gt_masks,
            extract_bboxes(pred_masks), pred_class_ids, pred_scores, pred_masks)


# --------------------------------------------------------------------------- reference loop
def loop_overlaps_masks(masks1, masks2):
    """Mask IoU (N1, N2) as one float32 matrix product over every pixel."""
    m1 = masks1.reshape(-1, masks1.shape[-1]).astype(np.float32)
    m2 = masks2.reshape(-1, masks2.shape[-1]).astype(np.float32)
    area1, area2 = m1.sum(axis=0), m2.sum(axis=0)
    inter = m1.T @ m2
    return inter / (area1[:, None] + area2[None, :] - inter)


def loop_ap(gt_class_ids, gt_masks, pred_class_ids, pred_scores, pred_masks, threshold):
    """AP of one image: predictions in score order, each taking its best free same-class gt."""
    order = np.argsort(-pred_scores, kind="stable")
    pred_class_ids, pred_masks = pred_class_ids[order], pred_masks[..., order]
    overlaps = loop_overlaps_masks(pred_masks, gt_masks)
    pred_match = -np.ones(len(order))
    gt_match = -np.ones(gt_masks.shape[-1])
    for i in range(len(order)):
        for j in np.argsort(-overlaps[i], kind="stable"):
            if gt_match[j] > -1:
                continue
            if overlaps[i, j] < threshold:
                break
            if pred_class_ids[i] == gt_class_ids[j]:
                gt_match[j], pred_match[i] = i, j
                break
    tp = pred_match > -1
    precisions = np.cumsum(tp) / (np.arange(len(tp)) + 1)
    recalls = np.cumsum(tp) / len(gt_match)
    precisions = np.concatenate([[0], precisions, [0]])
    recalls = np.concatenate([[0], recalls, [1]])
    for i in range(len(precisions) - 2, -1, -1):
        precisions[i] = max(precisions[i], precisions[i + 1])
    steps = np.where(recalls[:-1] != recalls[1:])[0] + 1
    return float(np.sum((recalls[steps] - recalls[steps - 1]) * precisions[steps]))


# --------------------------------------------------------------------------- timing
def ours(image):
    ap50, ap_range, _ = evaluate_image(*image, num_classes=NUM_CLASSES,
                                       iou_thresholds=THRESHOLDS)
    return ap50, ap_range


def loop(image):
    _, gt_class_ids, gt_masks, _, pred_class_ids, pred_scores, pred_masks = image
    args = (gt_class_ids, gt_masks, pred_class_ids, pred_scores, pred_masks)
    ap50 = loop_ap(*args, 0.5)
    return ap50, float(np.mean([loop_ap(*args, t) for t in THRESHOLDS]))


def one_pass(images, fn):
    """Seconds spent in ``fn`` over all images, and its (image, 2) APs."""
    seconds, aps = 0.0, []
    for image in images:
        start = time.perf_counter()
        aps.append(fn(image))
        seconds += time.perf_counter() - start
    return seconds, np.asarray(aps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512, help="square image side, pixels")
    parser.add_argument("--gt", type=int, default=20, help="ground truths per image")
    parser.add_argument("--detections", type=int, default=100, help="predictions per image")
    parser.add_argument("--loop-images", type=int, default=100,
                        help="images for the (slow) reference loop")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)

    def images(count):
        for i in range(count):
            yield make_image(np.random.default_rng(i), args.size, args.gt, args.detections)

    results = {}
    for name, fn, count in (("ours", ours, args.images),
                            ("loop", loop, min(args.loop_images, args.images))):
        passes = [one_pass(images(count), fn) for _ in range(args.repeats)]
        seconds = statistics.median(p[0] for p in passes)
        results[name] = {"images": count, "seconds": seconds, "per_image": seconds / count,
                         "aps": passes[0][1]}
    ours_r, loop_r = results["ours"], results["loop"]
    same = np.allclose(ours_r["aps"][:loop_r["images"]], loop_r["aps"], atol=1e-9)
    ratio = ours_r["per_image"] / loop_r["per_image"]
    mean = np.nanmean(ours_r["aps"], axis=0)
    print(f"{args.size}x{args.size} images, {args.gt} ground truths and {args.detections} "
          f"detections each; mAP@0.5 and mAP@[.5:.95] on mask IoU; median of {args.repeats}")
    print("| | images | total s | ms per image |\n|---|---|---|---|")
    for name, r in (("ours (evaluate_image)", ours_r), ("per-prediction loop", loop_r)):
        print(f"| {name} | {r['images']} | {r['seconds']:.2f} | {1000 * r['per_image']:.1f} |")
    print(f"ratio ours / loop per image: {ratio:.3f}; mAP@0.5 {mean[0]:.4f}, mAP@[.5:.95] "
          f"{mean[1]:.4f}; both sides equal: {'yes' if same else 'NO'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"images": args.images, "size": args.size, "gt": args.gt,
                       "detections": args.detections, "repeats": args.repeats,
                       "ours_images": ours_r["images"], "ours_s": ours_r["seconds"],
                       "loop_images": loop_r["images"], "loop_s": loop_r["seconds"],
                       "ratio_per_image": ratio,
                       "map50": mean[0], "map50_95": mean[1], "equal": bool(same),
                       "cpu_count": os.cpu_count()}, f, indent=2)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
