"""Colours: distinct instance colours, readable text colour, match colours (internal)."""
from __future__ import annotations

import colorsys

import numpy as np
from matplotlib.colors import to_rgb

TP_COLOR, FP_COLOR, MISSED_COLOR = (0.1, 0.75, 0.1), (1.0, 0.1, 0.1), (1.0, 0.85, 0.0)


def random_colors(N: int, bright: bool = True, seed: int | None = None) -> list[tuple]:
    """N distinct RGB colours in [0, 1]: evenly spaced hues, shuffled (``seed`` fixes order)."""
    value = 1.0 if bright else 0.7
    colors = [colorsys.hsv_to_rgb(i / max(N, 1), 1.0, value) for i in range(N)]
    order = np.random.default_rng(seed).permutation(N)
    return [colors[i] for i in order]


def ink(color) -> str:
    """Black or white, whichever reads better on ``color``."""
    r, g, b = to_rgb(color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white"


def class_palette(class_ids, n_classes: int) -> list[tuple]:
    """One colour per class (the same class, the same colour), for each of ``class_ids``."""
    palette = random_colors(max(n_classes, 1), seed=1)
    return [palette[int(c) % len(palette)] for c in class_ids]
