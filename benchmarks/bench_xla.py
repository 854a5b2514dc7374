"""XLA (``jit_compile=True``) on the part of the graph it can compile: backbone + FPN.

    python benchmarks/bench_xla.py                    # ResNet-50-FPN, 512x512, batch 1
    python benchmarks/bench_xla.py --size 256 --repeats 2   # smoke run

crop_and_resize (ROIAlign) has no XLA kernel, so the whole model cannot be compiled; the
backbone and FPN (most of the FLOPs) can. Times, median of ``--repeats`` after one untimed
call (which also compiles), with jit off and on:

* forward: uint8 image -> [P2..P6] (inference mode);
* train step: forward, the sum of the pyramid's means as a stand-in loss, gradients, SGD.

Also reports the first call (tracing + compiling). Writes JSON with ``--json``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from timing import median_seconds, write_results  # noqa: E402


def build(size: int):
    import keras

    from maskrcnn.config import Config
    from maskrcnn.modeling.backbone import build_backbone
    from maskrcnn.modeling.fpn import build_fpn

    class Bench(Config):
        NAME = "xla"
        NUM_CLASSES = 81
        BACKBONE = "resnet50"
        IMAGE_MIN_DIM = IMAGE_MAX_DIM = size

    config = Bench()
    backbone = build_backbone(config)
    fpn = build_fpn(config, backbone)
    return backbone, fpn, keras.optimizers.SGD(0.001, momentum=0.9)


def functions(backbone, fpn, optimizer, jit: bool):
    import tensorflow as tf

    variables = backbone.trainable_variables + fpn.trainable_variables

    @tf.function(jit_compile=jit)
    def forward(images):
        return fpn(backbone(tf.cast(images, tf.float32) - 120.0, training=False),
                   training=False)

    @tf.function(jit_compile=jit)
    def gradients(images):
        with tf.GradientTape() as tape:
            features = fpn(backbone(tf.cast(images, tf.float32) - 120.0, training=False),
                           training=True)
            loss = tf.add_n([tf.reduce_mean(p) for p in features])
        return loss, tape.gradient(loss, variables)

    def train(images):  # the optimiser update stays outside XLA, as Keras' fit would run it
        loss, grads = gradients(images)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    return forward, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    import tensorflow as tf

    backbone, fpn, optimizer = build(args.size)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.integers(0, 255, (args.batch, args.size, args.size, 3), np.uint8))
    figures = {"size": args.size, "batch": args.batch, "repeats": args.repeats,
               "cpu_count": os.cpu_count(), "tensorflow": tf.__version__}
    outputs = {}
    for jit in (False, True):
        forward, train = functions(backbone, fpn, optimizer, jit)
        for name, fn in (("forward", forward), ("train_step", train)):
            start = time.perf_counter()
            result = fn(images)
            first = time.perf_counter() - start
            figures[f"{name}_{'jit' if jit else 'nojit'}_first_s"] = first
            figures[f"{name}_{'jit' if jit else 'nojit'}_s"] = median_seconds(
                lambda fn=fn: fn(images), args.repeats, warmup=False)
            if name == "forward":
                outputs[jit] = [p.numpy() for p in result]
    figures["forward_max_abs_diff"] = float(max(np.nanmax(np.abs(a - b))
                                                for a, b in zip(outputs[False], outputs[True])))
    print(f"ResNet-50-FPN backbone+FPN, batch {args.batch} x {args.size}x{args.size}, "
          f"{os.cpu_count()} cores, median of {args.repeats}")
    print("| case | jit off s | jit on s | on / off | first call off / on s |")
    print("|---|---|---|---|---|")
    for name in ("forward", "train_step"):
        off, on = figures[f"{name}_nojit_s"], figures[f"{name}_jit_s"]
        print(f"| {name} | {off:.3f} | {on:.3f} | {on / off:.2f} | "
              f"{figures[f'{name}_nojit_first_s']:.1f} / {figures[f'{name}_jit_first_s']:.1f} |")
    gap = figures["forward_max_abs_diff"]
    print(f"forward outputs, jit on vs off: max abs difference {gap:.2e}")
    write_results(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
