"""Where the time goes: TensorFlow's profiler over one benchmark case, summed by op type.

    python benchmarks/profile_ops.py --case infer,800,1024,1 [--runs 3] [--top 25]

Builds the same model as bench_vs_torchvision.py, warms up, traces ``--runs`` runs and prints
the host time of each op type (and of the slowest single ops), in milliseconds per run.
Used to decide what to optimise (issue 8: profile first, then predict, then measure).
"""
from __future__ import annotations

import argparse
import collections
import glob
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def op_times(logdir: str) -> tuple[collections.Counter, collections.Counter]:
    """Sum the durations (ms) of TensorFlow op events in a profiler trace, by op type and by
    op name."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    by_type, by_name = collections.Counter(), collections.Counter()
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                if line.name != "tf_Compute" and not line.name.startswith("tf_"):
                    continue
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if ":" not in name or name.startswith("ExecutorState"):
                        continue
                    op_name, op_type = name.rsplit(":", 1)
                    ms = event.duration_ps / 1e9
                    by_type[op_type] += ms
                    by_name[f"{op_name} ({op_type})"] += ms
    return by_type, by_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="infer,800,1024,1", help="kind,height,width,batch")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--types", default="", help="comma-separated op types: list only "
                        "ops of these types in the per-op table")
    args = parser.parse_args()
    kind, h, w, batch = args.case.split(",")
    import tensorflow as tf
    from bench_vs_torchvision import build_ours

    _, fn = build_ours(kind, int(h), int(w), int(batch))
    fn()
    logdir = tempfile.mkdtemp(prefix="profile_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    for _ in range(args.runs):
        fn()
    wall = (time.perf_counter() - start) / args.runs
    tf.profiler.experimental.stop()
    by_type, by_name = op_times(logdir)
    total = sum(by_type.values()) / args.runs
    print(f"wall time per run (traced): {wall * 1000:.0f} ms; "
          f"op time per run, summed over threads: {total:.0f} ms")
    print(f"{'op type':32} {'ms/run':>8} {'share':>6}")
    for op_type, ms in by_type.most_common(args.top):
        print(f"{op_type:32} {ms / args.runs:8.1f} {ms / args.runs / total:6.1%}")
    print(f"\n{'op (type)':70} {'ms/run':>8}")
    wanted = tuple(f"({t})" for t in args.types.split(",") if t)
    ops = [(n, ms) for n, ms in by_name.most_common() if not wanted or n.endswith(wanted)]
    for name, ms in ops[:args.top]:
        print(f"{name[-70:]:70} {ms / args.runs:8.1f}")


if __name__ == "__main__":
    main()
