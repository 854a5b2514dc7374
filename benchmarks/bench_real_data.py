"""Training from scratch on real photos: ours beside torchvision's Mask R-CNN and ultralytics
YOLO-seg at equal wall time (issues 20 and 36; not part of CI).

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
3. ultralytics YOLO-seg (``--only yolo``): the splits converted by ``maskrcnn convert --to
   yolo``, trained from ``--yolo-model`` (a yaml: no weights) with its own defaults but the
   image size (``--yolo-imgsz 640 320``: one run each), CPU, the seed and ``time=`` T, in its
   own process, off line (``YOLO_OFFLINE=1``, ``plots=False``: no font download); its
   per-epoch validation on the train split (the val split is the test); last.pt scored, and
   a copy of it each 1/``--curve-points`` of T for the curve.
4. All scored on the val split by the same code (``maskrcnn.evaluation.evaluate_model``:
   COCO mask and box AP on the ranked list down to score 0.05, VOC mAP@0.5), with counts per
   image at score >= ``--count-score`` and at the score threshold that counts best on the
   train split; and ours at each checkpoint for the curve of mask AP against minutes; with
   the median CPU seconds of one image's detection (after a warm-up).
5. ``--store KEY`` gathers the runs in ``--work`` into ``--json`` under KEY;
   ``python benchmarks/make_docs_page.py`` then writes docs/benchmarks.md and its plots.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's maskrcnn, also in subprocesses


def load_split(data: str, split: str):
    from maskrcnn.data.layout import open_dataset
    return open_dataset(data, "via", split=split)


def time_inference(detector, dataset, warmup: int = 2) -> dict:
    """CPU seconds of ``detector.detect([image])``, one image at a time over ``dataset``
    (images loaded beforehand), after ``warmup`` calls: the median and each."""
    import numpy as np
    images = [dataset.load_image(int(i)) for i in dataset.image_ids]
    for image in images[:warmup]:
        detector.detect([image])
    seconds = []
    for image in images:
        tic = time.perf_counter()
        detector.detect([image])
        seconds.append(time.perf_counter() - tic)
    return {"seconds_per_image_median": float(np.median(seconds)),
            "seconds_per_image_each": [round(t, 4) for t in seconds]}


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
    scores.update(time_inference(detector, dataset))
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
               model_dir, "--name", "kudzu", "--seed", str(args.seed),
               "--keep-checkpoints", "all"] + args.ours_args  # all: the curve scores them
    print("ours:", " ".join(command), flush=True)
    checkpoints = sorted(glob.glob(os.path.join(model_dir, "*", "mask_rcnn_*.h5")),
                         key=os.path.getmtime)
    if args.ours_started and checkpoints:  # trained before (started then): score only
        start, wall = args.ours_started, args.ours_wall
    else:
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
            "steps": steps_trained(model_dir), "command": " ".join(command)}


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


def torch_before_tensorflow() -> None:
    """Import torch, torchvision and ultralytics before anything imports TensorFlow: with
    TensorFlow 2.21 loaded first, torchvision 0.29's import of triton 3.8 (through
    torch._dynamo) ends the process with a segmentation fault (both bring their own LLVM)."""
    import torch  # noqa: F401
    import torchvision  # noqa: F401
    try:
        import ultralytics  # noqa: F401
    except ImportError:
        pass


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
    import torchvision  # noqa: F401  (before TensorFlow: see torch_before_tensorflow)

    from maskrcnn.data.augmentation import default_augmentation
    from maskrcnn.data.inspect import inspect_dataset, suggest_settings
    from maskrcnn.data.transforms import extract_bboxes

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores taskset left it
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


# ------------------------------------------------------------------ ultralytics YOLO
class YOLODetector:
    """An ultralytics YOLO-seg model behind ``detect(images) -> matterport-style result
    dicts``: masks at the image's full resolution (``retina_masks``), detections ranked down to
    score 0.05, at most 100, class ``k`` of the YOLO labels as dataset class ``k + 1``."""

    def __init__(self, weights: str, imgsz: int):
        from ultralytics import YOLO
        self.model, self.imgsz = YOLO(weights), imgsz

    def detect(self, images):
        import numpy as np
        results = []
        for image in images:
            out = self.model.predict(np.ascontiguousarray(image[..., ::-1]),  # it reads BGR
                                     imgsz=self.imgsz, conf=0.05, max_det=100, device="cpu",
                                     retina_masks=True, verbose=False)[0]
            if len(out.boxes) == 0 or out.masks is None:
                results.append({"rois": np.zeros((0, 4), np.int32),
                                "class_ids": np.zeros(0, np.int32),
                                "scores": np.zeros(0, np.float32),
                                "masks": np.zeros(image.shape[:2] + (0,), bool)})
                continue
            boxes = out.boxes.xyxy.numpy()
            masks = out.masks.data.numpy() > 0.5
            assert masks.shape[1:] == image.shape[:2], (masks.shape, image.shape)
            results.append({
                "rois": np.round(boxes[:, [1, 0, 3, 2]]).astype(np.int32),
                "class_ids": out.boxes.cls.numpy().astype(np.int32) + 1,
                "scores": out.boxes.conf.numpy().astype(np.float32),
                "masks": np.moveaxis(masks, 0, -1)})
        return results


def yolo_dataset(args, work: str) -> str:
    """The train and val splits in the YOLO-seg layout, written by ``maskrcnn convert``; and
    a data.yaml for training whose ``val`` is the train split (as ours calibrates on train:
    the val split is the test, never seen in training). Returns that yaml's path."""
    import yaml
    out = os.path.join(work, "kudzu_yolo")
    for split in ("train", "val"):
        subprocess.run([sys.executable, "-m", "maskrcnn", "convert", args.data, "--format", "via",
                        "--split", split, "--to", "yolo", "--output", out], check=True,
                       cwd=os.path.dirname(HERE))
    with open(os.path.join(out, "data.yaml")) as f:
        data = yaml.safe_load(f)
    data.update(path=out, val=data["train"])
    path = os.path.join(out, "train_only.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path


def train_yolo(args) -> None:
    """Runs in its own process: ultralytics' defaults from the model yaml (no weights), but
    ``imgsz``, CPU, the seed and its ``time`` limit; keeps a copy of last.pt when each
    1/curve-points of the budget has passed, for the curve."""
    started = time.time()
    import shutil

    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS
    SETTINGS.update(sync=False)  # no usage events sent (it is off line anyway)

    budget = args.seconds
    marks = [budget * k / args.curve_points for k in range(1, args.curve_points)]
    kept = []

    def keep(trainer):
        elapsed = time.time() - started
        if marks and elapsed >= marks[0]:
            while marks and elapsed >= marks[0]:
                marks.pop(0)
            path = os.path.join(os.path.dirname(trainer.last), f"at_{elapsed:.0f}s.pt")
            shutil.copy2(trainer.last, path)
            kept.append({"weights": path, "seconds": elapsed, "epochs": trainer.epoch + 1})

    model = YOLO(args.yolo_model)
    model.add_callback("on_model_save", keep)
    name = f"yolo_{args.yolo_imgsz[0]}"
    model.train(data=args.yolo_data, imgsz=args.yolo_imgsz[0], device="cpu", seed=args.seed,
                time=budget / 3600, project=os.path.dirname(args.out), name=name,
                exist_ok=True, plots=False)
    trainer = model.trainer
    wall = time.time() - started
    kept.append({"weights": str(trainer.last), "seconds": wall, "epochs": trainer.epoch + 1})
    with open(args.out, "w") as f:
        json.dump({"wall_seconds": wall, "epochs": trainer.epoch + 1,
                   "epochs_planned": trainer.epochs, "imgsz": args.yolo_imgsz[0],
                   "model": args.yolo_model, "checkpoints": kept}, f)


def score_yolo(args) -> None:
    torch_before_tensorflow()
    detector = YOLODetector(args.score_yolo, args.yolo_imgsz[0])
    val = load_split(args.data, "val")
    scores = score_detector(detector, val, args.count_score,
                            choose_on=load_split(args.data, "train") if args.final else None)
    with open(args.out, "w") as f:
        json.dump(scores, f)


def run_yolo(args, work: str, seconds: float, imgsz: int) -> dict:
    """Convert, train at ``imgsz`` in its own process, score each kept checkpoint."""
    out = os.path.join(work, f"yolo_{imgsz}.json")
    command = [sys.executable, __file__, "--data", args.data, "--train-yolo", "--seconds",
               str(seconds), "--out", out, "--seed", str(args.seed), "--yolo-model",
               args.yolo_model, "--yolo-imgsz", str(imgsz), "--yolo-data",
               yolo_dataset(args, work), "--curve-points", str(args.curve_points)]
    print("yolo:", " ".join(command), flush=True)
    env = dict(os.environ, YOLO_OFFLINE="1")
    with open(os.path.join(work, f"yolo_{imgsz}_train.log"), "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    with open(out) as f:
        trained = json.load(f)
    curve = []
    for i, point in enumerate(trained["checkpoints"]):
        final = i == len(trained["checkpoints"]) - 1
        scored = os.path.join(work, f"yolo_{imgsz}_eval.json")
        subprocess.run([sys.executable, __file__, "--data", args.data, "--score-yolo",
                        point["weights"], "--yolo-imgsz", str(imgsz), "--out", scored,
                        "--count-score", str(args.count_score)] + (["--final"] if final else []),
                       check=True, env=env)
        with open(scored) as f:
            scores = json.load(f)
        scores.update(minutes=point["seconds"] / 60, epochs=point["epochs"],
                      checkpoint=os.path.basename(point["weights"]))
        curve.append(scores)
        print(f"yolo {imgsz} px {scores['checkpoint']} at {scores['minutes']:.1f} min "
              f"({point['epochs']} epochs): mask AP {scores['mask_AP']:.1f}", flush=True)
    return dict(trained, final=curve[-1], curve=curve, command=" ".join(command))


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


def _summary(framework: str, image_size: str, record: dict, final: dict, curve) -> dict:
    """One framework's row: its training, its scores on the val split, its curve."""
    keys = ("mask_AP", "box_AP", "mask_AP50", "voc_mAP50", "count_error_mean",
            "operating_threshold", "count_error_at_operating", "count_threshold_chosen_on_train",
            "count_error_at_chosen", "best_threshold_on_test", "count_error_best_on_test",
            "seconds_per_image_median")
    row = {"framework": framework, "image_size": image_size,
           "steps": record.get("steps"), "epochs": record.get("epochs"),
           "wall_seconds": record["wall_seconds"]}
    row.update({k: final[k] if k in final and math.isfinite(final[k]) else None for k in keys})
    row["curve"] = [{"minutes": c["minutes"], "mask_AP": c["mask_AP"], "box_AP": c["box_AP"],
                     "mask_AP50": c["mask_AP50"], **({"epochs": c["epochs"]} if "epochs" in c
                                                    else {})} for c in curve]
    row["command"] = record.get("command")
    return row


def store(args) -> None:
    """Gather the runs in ``--work`` (ours.json, yolo_*_result.json, torchvision.json) as
    ``--store KEY`` of ``--json``, the other keys kept; ``--store-extra`` (a JSON file: the
    machine, the command lines, notes) merged into the record."""
    work, runs = args.work, {}
    if os.path.isfile(os.path.join(work, "ours.json")):
        with open(os.path.join(work, "ours.json")) as f:
            ours = json.load(f)
        size = "576-768 (pad64), 384 crops in training"
        runs["ours"] = _summary("ours (maskrcnn train, ResNet-18-FPN)", size, ours,
                                ours["final"], ours["curve"])
    for path in sorted(glob.glob(os.path.join(work, "yolo_*_result.json")),
                       key=lambda p: -int(p.split("_")[-2])):
        with open(path) as f:
            yolo = json.load(f)
        name = os.path.splitext(yolo["model"])[0]
        runs[f"{name} {yolo['imgsz']}"] = _summary(f"ultralytics {name}", str(yolo["imgsz"]),
                                                   yolo, yolo["final"], yolo["curve"])
    if os.path.isfile(os.path.join(work, "torchvision.json")):
        with open(os.path.join(work, "torchvision.json")) as f:
            tv = json.load(f)
        runs["torchvision"] = _summary("torchvision Mask R-CNN, ResNet-18-FPN",
                                       "576-768 (as ours)", tv, tv,
                                       [dict(tv, minutes=tv["wall_seconds"] / 60)])
    record = {}
    if args.store_extra:
        with open(args.store_extra) as f:
            record.update(json.load(f))
    record.update(runs=runs)
    with open(args.json) as f:
        results = json.load(f)
    results[args.store] = record
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print(f"{args.json}: {args.store} with {', '.join(runs)}")


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
    p.add_argument("--only", choices=["ours", "torchvision", "yolo"], default=None)
    p.add_argument("--yolo-model", default="yolo26n-seg.yaml",
                   help="ultralytics model yaml, trained from scratch")
    p.add_argument("--yolo-imgsz", type=int, nargs="+", default=[640, 320],
                   help="YOLO image sizes, one run each (640 is ultralytics' default)")
    p.add_argument("--seconds", type=float, default=None,
                   help="torchvision's wall time (default: what ours took)")
    p.add_argument("--ours-started", type=float, default=None,
                   help="score the checkpoints already in --work, of a run of ours started at "
                        "this time (seconds since the epoch) and lasting --ours-wall seconds")
    p.add_argument("--ours-wall", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--work", default="/tmp/bench_real_data")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--store", default=None, metavar="KEY",
                   help="only gather the runs in --work into --json under KEY (others kept)")
    p.add_argument("--store-extra", default=None,
                   help="with --store: a JSON file of fields to add (machine, commands, notes)")
    p.add_argument("--ours-args", nargs=argparse.REMAINDER, default=[],
                   help="more arguments for maskrcnn train (last on the line)")
    # internal: the subprocesses
    p.add_argument("--score-ours", default=None, help=argparse.SUPPRESS)
    p.add_argument("--train-torchvision", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--train-yolo", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--yolo-data", default=None, help=argparse.SUPPRESS)
    p.add_argument("--score-yolo", default=None, help=argparse.SUPPRESS)
    p.add_argument("--final", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.score_ours:
        return score_ours(args)
    if args.train_torchvision:
        return train_torchvision(args)
    if args.train_yolo:
        return train_yolo(args)
    if args.score_yolo:
        return score_yolo(args)
    if args.store:
        return store(args)
    os.makedirs(args.work, exist_ok=True)
    results = {"data": os.path.abspath(args.data), "minutes": args.minutes,
               "cpus": os.cpu_count()}
    saved = os.path.join(args.work, "ours.json")
    if args.only is None or args.only == "ours":
        results["ours"] = run_ours(args, args.work)
        with open(saved, "w") as f:
            json.dump(results["ours"], f)
    elif os.path.isfile(saved):  # the last run of ours in --work, for the table
        with open(saved) as f:
            results["ours"] = json.load(f)
    seconds = args.seconds or results.get("ours", {}).get("wall_seconds") or args.minutes * 60
    if args.only is None or args.only == "yolo":
        for imgsz in args.yolo_imgsz:
            results[f"yolo_{imgsz}"] = run_yolo(args, args.work, seconds, imgsz)
            with open(os.path.join(args.work, f"yolo_{imgsz}_result.json"), "w") as f:
                json.dump(results[f"yolo_{imgsz}"], f)
    if args.only is None or args.only == "torchvision":
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
