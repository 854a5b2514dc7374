"""Folder detection throughput: ``detect_folder`` beside torchvision's equivalent loop.

    python benchmarks/bench_detect_folder.py                  # 50 images of 800 x 1024
    python benchmarks/bench_detect_folder.py --images 2       # smoke run
    python benchmarks/bench_detect_folder.py --weights mask_rcnn_coco.h5 --config coco.json

Both sides get the same JPEG files (synthetic shapes), a ResNet-50 FPN Mask R-CNN resizing to
800..1024 pixels, the same batch size, score threshold and at most 100 detections per image,
and do the same per-image work: decode, detect, paste masks, per-class area shares, RLE
encoding and an annotated JPEG. Without ``--weights`` both models are randomly initialised
(the threshold defaults to 0 and our head's background logit is lowered so that both
detect something; the instances per image are printed, as they weigh on the per-image
work). The torchvision side runs when torchvision is installed. Each side runs in its own
process. A first batch warms each model up and is not timed. Not run in CI.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from maskrcnn.config import Config  # noqa: E402
from maskrcnn.data.convert import encode_rle  # noqa: E402
from maskrcnn.data.readers.shapes import ShapesDataset  # noqa: E402
from maskrcnn.inference import area_shares, detect_folder  # noqa: E402


def make_images(folder: str, count: int, height: int, width: int) -> None:
    data = ShapesDataset(count, height, width, seed=0, max_instances=8)
    for i in range(count):
        Image.fromarray(data.load_image(i)).save(os.path.join(folder, f"img{i:03d}.jpg"),
                                                 quality=90)


class BenchConfig(Config):
    NAME = "bench"
    BACKBONE = "resnet50"
    NUM_CLASSES = 81
    IMAGE_MIN_DIM = 800
    IMAGE_MAX_DIM = 1024
    IMAGE_RESIZE_MODE = "pad32"  # 800x1024 stays so, as in torchvision ("square": 1024x1024)


def bench_ours(args, folder: str, warmup: str) -> dict:
    from maskrcnn import MaskRCNN
    from maskrcnn.inference import load_detector

    if args.weights:
        model = load_detector(args.weights, config=args.config, min_confidence=args.min_confidence,
                              batch_size=args.batch)
    else:
        config = BenchConfig()
        config.IMAGES_PER_GPU = args.batch
        config.DETECTION_MIN_CONFIDENCE = args.min_confidence
        model = MaskRCNN("inference", config, model_dir=tempfile.mkdtemp())
        # A random head ranks the background first for every ROI and detects nothing;
        # lowering its logit lets it detect (how many depends on the random proposals).
        for layer in model.keras_model.leaf_layers():
            if layer.name == "mrcnn_class_logits":
                kernel, bias = layer.get_weights()
                bias[0] = -20.0
                layer.set_weights([kernel, bias])
    out = tempfile.mkdtemp()
    detect_folder(model, warmup, os.path.join(out, "warmup"), device=args.device,
                  progress=False)
    df = detect_folder(model, folder, os.path.join(out, "run"), device=args.device,
                       progress=False)
    a = df.attrs
    return {"images/s": a["images_per_s"], "model s/image": a["detect_seconds"] / a["detected"],
            "instances/image": float(df["instances"].mean())}


def bench_torchvision(args, folder: str, warmup: str) -> dict:
    import torch
    import torchvision
    from torchvision.io import ImageReadMode, decode_image
    from torchvision.models.detection import maskrcnn_resnet50_fpn
    from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks

    device = "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu"
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91,
                                  min_size=800, max_size=1024, box_detections_per_img=100,
                                  box_score_thresh=args.min_confidence).eval().to(device)
    names = ["BG"] + [f"class_{i}" for i in range(1, 91)]

    class Files(torch.utils.data.Dataset):
        def __init__(self, root):
            self.paths = sorted(os.path.join(root, n) for n in os.listdir(root))

        def __len__(self):
            return len(self.paths)

        def __getitem__(self, i):
            return decode_image(torchvision.io.read_file(self.paths[i]), ImageReadMode.RGB)

    def run(root, out) -> tuple[int, float, float, list]:
        os.makedirs(out, exist_ok=True)
        loader = torch.utils.data.DataLoader(Files(root), batch_size=args.batch, num_workers=2,
                                             collate_fn=list)
        start, model_seconds, counts, k = time.perf_counter(), 0.0, [], 0
        with torch.inference_mode():
            for images in loader:
                t = time.perf_counter()
                outputs = model([im.to(device).float() / 255 for im in images])
                outputs = [{n: v.cpu() for n, v in o.items()} for o in outputs]
                model_seconds += time.perf_counter() - t
                for image, o in zip(images, outputs):
                    masks = o["masks"][:, 0] > 0.5
                    result = {"masks": masks.permute(1, 2, 0).numpy(),
                              "class_ids": o["labels"].numpy()}
                    area_shares(result, names)
                    for m in result["masks"].transpose(2, 0, 1):
                        encode_rle(m)
                    drawn = draw_segmentation_masks(image, masks, alpha=0.5)
                    drawn = draw_bounding_boxes(drawn, o["boxes"], width=2)
                    Image.fromarray(drawn.permute(1, 2, 0).numpy()).save(
                        os.path.join(out, f"{k}.jpg"), quality=92)
                    counts.append(len(masks))
                    k += 1
        return k, time.perf_counter() - start, model_seconds, counts

    out = tempfile.mkdtemp()
    run(warmup, os.path.join(out, "warmup"))
    n, seconds, model_seconds, counts = run(folder, os.path.join(out, "run"))
    return {"images/s": n / seconds, "model s/image": model_seconds / n,
            "instances/image": float(np.mean(counts))}


def run_side(args, side: str, folder: str, warmup: str) -> dict | None:
    """One side's figures from a subprocess of this script: TensorFlow and torch in one
    process can crash at import (triton's native module after TensorFlow's)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--only", side, "--folder", folder,
           "--warmup", warmup, "--batch", str(args.batch),
           "--min-confidence", str(args.min_confidence)]
    for flag, value in (("--device", args.device), ("--weights", args.weights),
                        ("--config", args.config)):
        if value:
            cmd += [flag, value]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{side} failed (exit status {proc.returncode}):\n{proc.stderr[-2000:]}",
              file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--size", default="800x1024", help="image height x width")
    parser.add_argument("--batch", type=int, default=2, help="images per batch")
    parser.add_argument("--device", choices=("cpu", "gpu"), default=None)
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="score threshold (default: 0 with random weights, else 0.7)")
    parser.add_argument("--weights", default=None, help="our checkpoint or a matterport .h5")
    parser.add_argument("--config", default=None, help="config JSON for a matterport .h5")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    # used for the subprocesses:
    parser.add_argument("--only", choices=("ours", "torchvision"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.min_confidence is None:
        args.min_confidence = 0.7 if args.weights else 0.0
    if args.only:
        bench = bench_ours if args.only == "ours" else bench_torchvision
        print(json.dumps(bench(args, args.folder, args.warmup)))
        return
    height, width = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as root:
        folder, warmup = os.path.join(root, "images"), os.path.join(root, "warmup")
        os.makedirs(folder)
        os.makedirs(warmup)
        make_images(folder, args.images, height, width)
        make_images(warmup, args.batch, height, width)
        rows = {"maskrcnn (ours)": run_side(args, "ours", folder, warmup)}
        if importlib.util.find_spec("torchvision") is None:
            print("torchvision is not installed: ours only")
        else:
            rows["torchvision"] = run_side(args, "torchvision", folder, warmup)
    print(f"\n{args.images} images of {height} x {width}, batch {args.batch}, "
          f"threshold {args.min_confidence}, weights: {args.weights or 'random'}")
    print(f"{'':18}{'images/s':>10}{'model s/image':>15}{'instances/image':>17}")
    for name, r in rows.items():
        if r:
            print(f"{name:18}{r['images/s']:>10.2f}{r['model s/image']:>15.2f}"
                  f"{r['instances/image']:>17.1f}")
    ours, theirs = rows.get("maskrcnn (ours)"), rows.get("torchvision")
    if ours and theirs:
        print(f"ratio of times per image, ours / torchvision: "
              f"{theirs['images/s'] / ours['images/s']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"images": args.images, "size": args.size, "batch": args.batch,
                       "rows": rows, "cpu_count": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
