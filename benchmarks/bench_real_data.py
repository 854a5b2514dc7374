"""Training from scratch on real photos: ours beside torchvision's Mask R-CNN at equal wall
time (issue 20; not part of CI).

    pip install -e ".[cpu,bench]"
    python benchmarks/bench_real_data.py --data ../shared/datasets/kudzu --minutes 20 \\
        --json benchmarks/results_real_data.json

1. Ours: ``maskrcnn train --dataset DATA --format via --budget-minutes M`` exactly as a user
   runs it (the from-scratch recipe, the data's suggested sizes and anchors, the default
   augmentation), in its own process; its wall time T runs from process start to the last
   checkpoint (tracing and the batch-norm recompute included).
2. torchvision: ``maskrcnn_resnet50_fpn``'s design with a ResNet-18-FPN backbone from scratch
   (trainable batch norm), the same image size, anchor sizes, augmentation, learning-rate
   plan (warm-up over 5 %, tenfold drop at 80 %), gradient clipping (norm 5) and detections
   per image (not ours' copy-paste: torchvision has none), in its own process, trained
   until T has passed since that process started.
3. Both scored on the val split by the same code (``maskrcnn.evaluation.evaluate_model``:
   COCO mask and box AP on the ranked list down to score 0.05, VOC mAP@0.5), with counts per
   image at score >= ``--count-score`` and at the score threshold that counts best on the
   train split; and ours at each checkpoint for the curve of mask AP against minutes.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_split(data: str, split: str):
    from maskrcnn.data.layout import open_dataset
    return open_dataset(data, "via", split=split)


def score_detector(detector, dataset, count_score: float, choose_on=None) -> dict:
    """COCO mask/box AP, VOC mAP@0.5 and per-image counts of ``detector`` on ``dataset``,
    counting from ``count_score``; with ``choose_on`` (another split) also the counts on
    ``dataset`` at the threshold that counts best on ``choose_on``."""
    from maskrcnn.evaluation import evaluate_model

    result = evaluate_model(detector, dataset, verbose=False)
    counting = result.counting(count_score)
    scores = {"mask_AP": result.coco_segm.stats["AP"], "box_AP": result.coco_bbox.stats["AP"],
              "mask_AP50": result.coco_segm.stats["AP50"], "voc_mAP50": result.mAP50,
              "count_truth": counting.truth.tolist(), "count_pred": counting.counts.tolist(),
              "count_error_mean": counting.mean_error,
              "images_within_10pct": counting.within_10_percent,
              "images": int(counting.truth.size),
              "seconds_per_image": result.seconds_per_image}
    operating, best = result.counting(), result.best_counting()
    scores.update(  # the model's own operating point (calibrated in training) and the best
        operating_threshold=operating.threshold,  # possible, chosen on these test images
        count_error_at_operating=operating.mean_error,
        images_within_10pct_at_operating=operating.within_10_percent,
        best_threshold_on_test=best.threshold, count_error_best_on_test=best.mean_error,
        images_within_10pct_best_on_test=best.within_10_percent,
        wrong_counts=result.breakdown().astype(int).to_dict())
    if choose_on is not None:
        chosen = evaluate_model(detector, choose_on, verbose=False).best_counting()
        counting = result.counting(chosen.threshold)
        scores.update(count_threshold_chosen_on_train=chosen.threshold,
                      count_error_on_train=chosen.mean_error,
                      count_pred_at_chosen=counting.counts.tolist(),
                      count_error_at_chosen=counting.mean_error,
                      images_within_10pct_at_chosen=counting.within_10_percent)
    return scores


# ----------------------------------------------------------------------------- ours
def run_ours(args, work: str) -> dict:
    """Train with the command line, then score the last checkpoint and each earlier one."""
    model_dir = os.path.join(work, "ours")
    command = [sys.executable, "-m", "maskrcnn", "train", "--dataset", args.data, "--format",
               "via", "--split", "train", "--calibration-split", "train",  # val is the test
               "--budget-minutes", str(args.minutes), "--model-dir",
               model_dir, "--name", "kudzu", "--seed", str(args.seed)] + args.ours_args
    print("ours:", " ".join(command), flush=True)
    start = time.time()
    with open(os.path.join(work, "ours_train.log"), "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - start
    checkpoints = sorted(glob.glob(os.path.join(model_dir, "*", "mask_rcnn_*.h5")),
                         key=os.path.getmtime)
    curve = []
    for path in checkpoints[-args.curve_points:]:
        out = os.path.join(work, "ours_eval.json")
        subprocess.run([sys.executable, __file__, "--data", args.data, "--score-ours", path,
                        "--out", out, "--count-score", str(args.count_score)], check=True)
        with open(out) as f:
            scores = json.load(f)
        scores.update(checkpoint=os.path.basename(path),
                      minutes=(os.path.getmtime(path) - start) / 60)
        curve.append(scores)
        print(f"ours {scores['checkpoint']} at {scores['minutes']:.1f} min: mask AP "
              f"{scores['mask_AP']:.1f}", flush=True)
    return {"wall_seconds": wall, "final": curve[-1], "curve": curve,
            "steps": steps_trained(model_dir)}


def steps_trained(model_dir: str) -> int | None:
    """Training steps of the run in ``model_dir``: the per-step losses it logged for
    TensorBoard (``train_steps``)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    files = glob.glob(os.path.join(model_dir, "*", "train_steps", "events.*"))
    if not files:
        return None
    events = EventAccumulator(files[-1], size_guidance={"tensors": 0})
    events.Reload()
    return len(events.Tensors("step_loss")) if "step_loss" in events.Tags()["tensors"] else None


def score_ours(args) -> None:
    from maskrcnn import MaskRCNN
    model = MaskRCNN.from_checkpoint(args.score_ours)
    scores = score_detector(model, load_split(args.data, "val"), args.count_score,
                            choose_on=load_split(args.data, "train"))
    with open(args.out, "w") as f:
        json.dump(scores, f)


# ---------------------------------------------------------------------- torchvision
class TorchvisionDetector:
    """torchvision's model behind ``detect(images) -> matterport-style result dicts``."""

    def __init__(self, model):
        self.model = model.eval()

    def detect(self, images):
        import numpy as np
        import torch
        results = []
        with torch.no_grad():
            for image in images:
                tensor = torch.from_numpy(image).permute(2, 0, 1).float() / 255
                out = self.model([tensor])[0]
                boxes = out["boxes"].numpy()
                masks = out["masks"][:, 0].numpy() >= 0.5
                results.append({
                    "rois": np.round(boxes[:, [1, 0, 3, 2]]).astype(np.int32),
                    "class_ids": out["labels"].numpy().astype(np.int32),
                    "scores": out["scores"].numpy().astype(np.float32),
                    "masks": np.moveaxis(masks, 0, -1) if len(masks) else
                    np.zeros(image.shape[:2] + (0,), bool)})
        return results


def build_torchvision(num_classes: int, min_size: int, max_size: int, anchor_sizes,
                      detections: int):
    from torch import nn
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None,
                                   trainable_layers=5, norm_layer=nn.BatchNorm2d)
    sizes = tuple(tuple(s) if isinstance(s, (list, tuple)) else (s,) for s in anchor_sizes)
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    return MaskRCNN(backbone, num_classes=num_classes, min_size=min_size, max_size=max_size,
                    rpn_anchor_generator=anchors, box_detections_per_img=detections,
                    box_score_thresh=0.05)


def train_torchvision(args) -> None:
    """Runs in its own process: train until ``--seconds`` after process start, then score."""
    started = time.time()
    import numpy as np
    import torch

    from maskrcnn.data.augmentation import default_augmentation
    from maskrcnn.data.inspect import inspect_dataset, suggest_settings
    from maskrcnn.data.transforms import extract_bboxes

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(args.seed)
    train_set, val_set = load_split(args.data, "train"), load_split(args.data, "val")
    s = suggest_settings(inspect_dataset(train_set))  # the sizes ours takes from the data
    model = build_torchvision(train_set.num_classes, s["IMAGE_MIN_DIM"], s["IMAGE_MAX_DIM"],
                              s["RPN_ANCHOR_SCALES"], s["DETECTION_MAX_INSTANCES"])
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=args.tv_lr, momentum=0.9, weight_decay=1e-4)
    augmentation = default_augmentation(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    model.train()
    steps, losses = 0, []
    budget = args.seconds
    while True:
        elapsed = time.time() - started
        per_step = (elapsed - (losses[0][0] if losses else 0)) / max(1, steps)
        if steps and elapsed + per_step > budget:
            break
        progress = elapsed / budget
        factor = (0.01 + 0.99 * min(1.0, progress / 0.05)) * (0.1 if progress >= 0.8 else 1)
        for group in optimizer.param_groups:
            group["lr"] = args.tv_lr * factor
        images, targets = [], []
        for image_id in rng.choice(train_set.image_ids, args.tv_batch):
            image, masks, class_ids = train_set.load_image_and_masks(int(image_id))
            out = augmentation(image=image, masks=list(np.moveaxis(masks.astype(np.uint8), -1,
                                                                   0)))
            masks = np.stack(out["masks"], -1).astype(bool)
            keep = masks.any(axis=(0, 1))
            masks, class_ids = masks[..., keep], class_ids[keep]
            boxes = extract_bboxes(masks)[:, [1, 0, 3, 2]].astype(np.float32)
            images.append(torch.from_numpy(np.ascontiguousarray(out["image"])).permute(
                2, 0, 1).float() / 255)
            targets.append({"boxes": torch.from_numpy(boxes),
                            "labels": torch.from_numpy(class_ids.astype(np.int64)),
                            "masks": torch.from_numpy(np.moveaxis(masks, -1, 0).astype(np.uint8))})
        loss = sum(model(images, targets).values())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)  # as ours (GRADIENT_CLIP_NORM)
        optimizer.step()
        steps += 1
        losses.append((time.time() - started, float(loss.detach())))
        if steps % 25 == 0:
            print(f"torchvision step {steps} at {losses[-1][0]:.0f} s: loss {float(loss):.3f}",
                  flush=True)
    wall = time.time() - started
    scores = score_detector(TorchvisionDetector(model), val_set, args.count_score,
                            choose_on=train_set)
    scores.update(steps=steps, wall_seconds=wall, images_per_step=args.tv_batch,
                  final_loss=float(np.mean([v for _, v in losses[-20:]])))
    with open(args.out, "w") as f:
        json.dump(scores, f)


def run_torchvision(args, work: str, seconds: float) -> dict:
    out = os.path.join(work, "torchvision.json")
    command = [sys.executable, __file__, "--data", args.data, "--train-torchvision",
               "--seconds", str(seconds), "--out", out, "--count-score", str(args.count_score),
               "--seed", str(args.seed), "--tv-lr", str(args.tv_lr), "--tv-batch",
               str(args.tv_batch)]
    print("torchvision:", " ".join(command), flush=True)
    with open(os.path.join(work, "torchvision_train.log"), "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    with open(out) as f:
        return json.load(f)


def table(ours: dict, tv: dict) -> str:
    rows = [("ours (maskrcnn train)", ours["wall_seconds"], ours["steps"], ours["final"]),
            ("torchvision R18-FPN", tv["wall_seconds"], tv["steps"], tv)]
    lines = ["| model | minutes | steps | mask AP | box AP | VOC mAP@0.5 | count error | "
             "images within 10 % | count error, threshold from train |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, wall, steps, s in rows:
        chosen = (f"{100 * s['count_error_at_chosen']:.0f} % (score >= "
                  f"{s['count_threshold_chosen_on_train']:.2f}, "
                  f"{s['images_within_10pct_at_chosen']}/{s['images']} within 10 %)"
                  if "count_error_at_chosen" in s else "-")
        lines.append(f"| {name} | {wall / 60:.1f} | {steps} | {s['mask_AP']:.1f} | "
                     f"{s['box_AP']:.1f} | {s['voc_mAP50']:.3f} | "
                     f"{100 * s['count_error_mean']:.0f} % | "
                     f"{s['images_within_10pct']}/{s['images']} | {chosen} |")
    lines.append(f"\nmask AP ratio ours / torchvision: "
                 f"{ours['final']['mask_AP'] / max(tv['mask_AP'], 1e-9):.2f}")
    lines.append("ours, mask AP against minutes: " + ", ".join(
        f"{c['minutes']:.1f} min {c['mask_AP']:.1f}" for c in ours["curve"]))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "datasets",
                                                  "kudzu"),
                   help="VIA dataset folder with train/ and val/")
    p.add_argument("--minutes", type=float, default=20.0, help="our --budget-minutes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count-score", type=float, default=0.5,
                   help="score from which a detection counts as an object")
    p.add_argument("--curve-points", type=int, default=6, help="checkpoints scored (last N)")
    p.add_argument("--tv-lr", type=float, default=0.01, help="torchvision's learning rate")
    p.add_argument("--tv-batch", type=int, default=2, help="torchvision's images per step")
    p.add_argument("--only", choices=["ours", "torchvision"], default=None)
    p.add_argument("--seconds", type=float, default=None,
                   help="torchvision's wall time (default: what ours took)")
    p.add_argument("--work", default="/tmp/bench_real_data")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--ours-args", nargs=argparse.REMAINDER, default=[],
                   help="more arguments for maskrcnn train (last on the line)")
    # internal: the subprocesses
    p.add_argument("--score-ours", default=None, help=argparse.SUPPRESS)
    p.add_argument("--train-torchvision", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.score_ours:
        return score_ours(args)
    if args.train_torchvision:
        return train_torchvision(args)
    os.makedirs(args.work, exist_ok=True)
    results = {"data": os.path.abspath(args.data), "minutes": args.minutes,
               "cpus": os.cpu_count()}
    saved = os.path.join(args.work, "ours.json")
    if args.only != "torchvision":
        results["ours"] = run_ours(args, args.work)
        with open(saved, "w") as f:
            json.dump(results["ours"], f)
    elif os.path.isfile(saved):  # the last run of ours in --work, for the table
        with open(saved) as f:
            results["ours"] = json.load(f)
    if args.only != "ours":
        seconds = args.seconds or results.get("ours", {}).get("wall_seconds") or \
            args.minutes * 60
        results["torchvision"] = run_torchvision(args, args.work, seconds)
    if "ours" in results and "torchvision" in results:
        print(table(results["ours"], results["torchvision"]))
    else:
        print(json.dumps(results, indent=1)[:4000])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
