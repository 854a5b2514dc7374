"""Timing helpers shared by the benchmark scripts."""
from __future__ import annotations

import statistics
import time


def median_seconds(fn, repeats: int, warmup: bool = True) -> float:
    """Median wall time of ``repeats`` calls of ``fn()``, after one untimed call if ``warmup``."""
    if warmup:
        fn()  # tracing, allocation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_results(path: str | None, figures: dict) -> None:
    """Write a benchmark's figures as indented JSON to ``path`` (nothing when it is None)."""
    if path:
        import json

        with open(path, "w") as f:
            json.dump(figures, f, indent=2)
