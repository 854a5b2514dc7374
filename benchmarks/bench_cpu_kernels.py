"""TensorFlow's own CPU kernels against oneDNN's: a training step and a detection on kudzu
(issue 20; not part of CI).

    python benchmarks/bench_cpu_kernels.py --data ../shared/datasets/kudzu [--runs 2]

Each setting of ``TF_ENABLE_ONEDNN_OPTS`` (0, 1) runs in its own process, alternating, ``--runs``
times: the from-scratch recipe as ``maskrcnn train`` builds it for the train split (the data's
sizes and anchors, 384 px crops, copy-paste, the default augmentation), the same seeded
initial weights, ``--steps`` training steps (median of those after ``--warmup``), then
detection on ``--images`` val photos with those weights (median after one untimed call;
``DETECTION_MIN_CONFIDENCE = 0`` so that every detection slot reaches the mask head in both).
Prints the medians over runs and the ratios; ``maskrcnn train`` turns oneDNN on for its own
process from these figures (``maskrcnn.cli.train.choose_cpu_kernels``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from timing import write_results  # benchmarks/ is on the path when this script runs

HERE = os.path.dirname(os.path.abspath(__file__))


def child(args) -> None:
    """One process: train step and detection medians, printed as one JSON line."""
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn  # before TensorFlow is imported
    import time
    from types import SimpleNamespace

    import keras

    from maskrcnn.cli.train import config_from
    from maskrcnn.data.augmentation import default_augmentation
    from maskrcnn.data.layout import open_dataset
    from maskrcnn.mask_rcnn import MaskRCNN

    train_set = open_dataset(args.data, "via", split="train")
    val_set = open_dataset(args.data, "via", split="val")
    options = SimpleNamespace(config=None, name="kernels", set=[], lr=None, no_suggest=False)
    config = config_from(options, train_set, from_scratch=True)
    config.STEPS_PER_EPOCH = args.steps
    config.DETECTION_MIN_CONFIDENCE = 0.0
    keras.utils.set_random_seed(0)
    seconds = []

    class StepTimes(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model = MaskRCNN("training", config, os.path.join(args.work, f"onednn{args.onednn}"))
    model.train(train_set, None, learning_rate=config.LEARNING_RATE, epochs=1, layers="all",
                augmentation=default_augmentation(seed=0), custom_callbacks=[StepTimes()])
    step = statistics.median(seconds[args.warmup:])
    detector = MaskRCNN("inference", config, os.path.join(args.work, "detect"))
    detector.keras_model.set_weights(model.keras_model.get_weights())
    images = [val_set.load_image(i) for i in val_set.image_ids[:args.images]]
    detector.detect(images[:1])
    times = []
    for image in images:
        start = time.perf_counter()
        detector.detect([image])
        times.append(time.perf_counter() - start)
    print("RESULT " + json.dumps({"onednn": args.onednn, "train_step_s": step,
                                  "detect_s": statistics.median(times)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "datasets",
                                                  "kudzu"))
    p.add_argument("--steps", type=int, default=30, help="training steps a process")
    p.add_argument("--warmup", type=int, default=8, help="first steps not timed")
    p.add_argument("--images", type=int, default=8, help="val photos detected")
    p.add_argument("--runs", type=int, default=2, help="processes for each setting")
    p.add_argument("--work", default="/tmp/bench_cpu_kernels")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--onednn", default="0", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    figures = {"0": [], "1": []}
    for _ in range(args.runs):
        for flag in ("0", "1"):
            out = subprocess.run([sys.executable, __file__, "--child", "--onednn", flag,
                                  "--data", args.data, "--steps", str(args.steps),
                                  "--warmup", str(args.warmup), "--images", str(args.images),
                                  "--work", args.work], check=True, capture_output=True,
                                 text=True).stdout
            line = next(s for s in out.splitlines() if s.startswith("RESULT "))
            figures[flag].append(json.loads(line[len("RESULT "):]))
    summary = {}
    for flag, runs in figures.items():
        summary[f"onednn={flag}"] = {
            key: statistics.median(r[key] for r in runs) for key in ("train_step_s", "detect_s")}
    off, on = summary["onednn=0"], summary["onednn=1"]
    summary["ratio_off_over_on"] = {key: off[key] / on[key] for key in off}
    summary["runs"] = figures
    print(f"{'TF_ENABLE_ONEDNN_OPTS':24} {'train step (s)':>15} {'detect (s)':>11}")
    for flag in ("0", "1"):
        s = summary[f"onednn={flag}"]
        print(f"{flag:24} {s['train_step_s']:15.3f} {s['detect_s']:11.3f}")
    r = summary["ratio_off_over_on"]
    print(f"{'ratio 0 / 1':24} {r['train_step_s']:15.2f} {r['detect_s']:11.2f}")
    write_results(args.json, summary)


if __name__ == "__main__":
    main()
