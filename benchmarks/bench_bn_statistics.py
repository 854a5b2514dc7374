"""Which batch-norm statistics make inference compute what training computed (issue 20).

    python benchmarks/bench_bn_statistics.py --ipg 2 --minutes 4          # shapes, 128 px
    python benchmarks/bench_bn_statistics.py --ipg 8 --minutes 3 --lr 0.02
    python benchmarks/bench_bn_statistics.py --data ../shared/datasets/kudzu --size 384

Trains a small model from scratch with TRAIN_BN for a wall-clock budget (no recompute), then
evaluates the same weights (VOC mAP50, COCO mask and box AP, detections against ground truth,
on held-out and on 20 training images) with the batch norms on:

* ``moving``: Keras' moving averages (what inference used before issue 20);
* ``image``: each image's own statistics in the backbone, moving ones in the heads;
* ``batch``: every batch norm on the statistics of what it is given (one image at a time);
* ``recomputed``: moving statistics recomputed on ``--recompute-images`` training images
  (``maskrcnn.modeling.precise_bn.recompute_batch_norm_statistics``);
* ``image+recomputed``: what ``MaskRCNN.train`` and ``BN_INFERENCE_STATISTICS = "auto"`` now
  give at IMAGES_PER_GPU <= 4.

Writes ``--out`` (JSON). Not run in CI. Figures (2-core CPU, shapes 128 px, test mAP50 /
COCO mask AP): 2 images per step, 4 min: moving 0.53 / 37.0, batch 0.97 / 61.4, recomputed
0.63 / 45.9, image+recomputed 0.975 / 79.4; 4 per step, 3 min: 0.98 / 79.5, 0.997 / 71.8,
0.977 / 81.7, 0.993 / 84.0; 8 per step, 3 min: 0.93 / 71.7, 0.93 / 60.3, 0.976 / 76.2,
0.947 / 73.3.
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="shapes", help="'shapes' or a VIA dataset folder with "
                   "train/ and val/ (via_region_data.json each)")
    p.add_argument("--minutes", type=float, default=4.0, help="training wall time")
    p.add_argument("--ipg", type=int, default=2, help="IMAGES_PER_GPU")
    p.add_argument("--size", type=int, default=128, help="IMAGE_MAX_DIM")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--recompute-images", type=int, default=200)
    p.add_argument("--test", type=int, default=40, help="held-out shapes images")
    p.add_argument("--out", default="bn_statistics.json")
    args = p.parse_args()

    import keras

    from maskrcnn import MaskRCNN
    from maskrcnn.config import Config
    from maskrcnn.evaluation import evaluate_model
    from maskrcnn.modeling import precise_bn

    keras.utils.set_random_seed(0)
    if args.data == "shapes":
        from maskrcnn.data.readers.shapes import ShapesDataset
        s = args.size
        train_set, test_set = ShapesDataset(500, s, s, seed=0), ShapesDataset(args.test, s, s,
                                                                                  seed=2)
        scales, max_gt, min_dim = tuple(int(v * s / 128) for v in (8, 16, 32, 64, 128)), 8, s
    else:
        from maskrcnn.data.readers.via import load_via
        train_set, test_set = (load_via(os.path.join(args.data, split, "via_region_data.json"),
                                        default_class="object") for split in ("train", "val"))
        scales, max_gt, min_dim = (8, 16, 32, 64, 128), 120, int(args.size * 0.75) // 64 * 64

    class BenchConfig(Config):
        NAME = "bnstats"
        NUM_CLASSES = train_set.num_classes
        BACKBONE = "small"
        IMAGES_PER_GPU = args.ipg
        IMAGE_MIN_DIM = min_dim
        IMAGE_MAX_DIM = args.size
        TOP_DOWN_PYRAMID_SIZE = 64
        RPN_HEAD_CHANNELS = 64
        FPN_CLASSIF_FC_LAYERS_SIZE = 256
        MASK_HEAD_CHANNELS = 32
        RPN_ANCHOR_SCALES = scales
        RPN_TRAIN_ANCHORS_PER_IMAGE = 128
        PRE_NMS_LIMIT = 1000
        POST_NMS_ROIS_TRAINING = 256
        POST_NMS_ROIS_INFERENCE = 128 if args.data == "shapes" else 256
        TRAIN_ROIS_PER_IMAGE = 32 if args.data == "shapes" else 64
        MAX_GT_INSTANCES = max_gt
        DETECTION_MAX_INSTANCES = 50 if args.data == "shapes" else 150
        DETECTION_MIN_CONFIDENCE = 0.5
        TRAIN_BN = True
        BN_RECOMPUTE_IMAGES = 0  # recomputed below, after the other modes are measured
        LEARNING_RATE = args.lr
        STEPS_PER_EPOCH = 50
        VALIDATION_STEPS = 0

    model = MaskRCNN("training", BenchConfig(), "logs_bench_bn")

    class Stop(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.start, self.steps = time.time(), 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if time.time() - self.start > args.minutes * 60:
                self.model.stop_training = True

    stop = Stop()
    model.train(train_set, None, learning_rate=args.lr, epochs=10_000, layers="all",
                custom_callbacks=[stop], verbose=0)
    results = {"args": vars(args), "steps": stop.steps,
               "train_seconds": round(time.time() - stop.start, 1)}
    print(f"trained {stop.steps} steps in {results['train_seconds']} s", flush=True)

    def score(name, mode):
        precise_bn.set_inference_statistics(model, mode)
        row = {}
        for split, ds, ids in (("test", test_set, None),
                               ("train", train_set, train_set.image_ids[:20])):
            r = evaluate_model(model, ds, image_ids=ids, verbose=False, batch_size=1)
            row[split] = {"mAP50": round(float(r.mAP50), 4),
                          "mask_AP": round(float(r.coco_segm.summary["AP"].iloc[0]), 2),
                          "box_AP": round(float(r.coco_bbox.summary["AP"].iloc[0]), 2),
                          "detections": int(r.per_image["n_pred"].sum()),
                          "instances": int(r.per_image["n_gt"].sum())}
        results[name] = row
        print(name, json.dumps(row), flush=True)

    score("moving", "moving")
    score("image", "image")
    score("batch", "batch")
    tic = time.time()
    precise_bn.recompute_batch_norm_statistics(model, train_set, images=args.recompute_images)
    results["recompute_seconds"] = round(time.time() - tic, 1)
    score("recomputed", "moving")
    score("image+recomputed", "image")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
