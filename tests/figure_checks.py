"""Checks that a figure really shows something: what its data artists add to the picture."""
import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image


def render(fig: Figure) -> np.ndarray:
    """The figure as an (H, W, 3) uint8 array, at a fixed size (no tight bounding box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return np.asarray(Image.open(buf).convert("RGB"))


def drawn(fig: Figure) -> int:
    """How many pixels the figure's data (lines, images, patches, collections and texts inside
    the axes) change: the figure rendered with them against the figure rendered without them.
    Axes frames, ticks, titles and legends do not count, so an empty plot gives 0."""
    assert isinstance(fig, Figure), f"expected a Figure, got {type(fig).__name__}"
    with_data = render(fig)
    hidden = [a for ax in fig.axes
              for a in (*ax.lines, *ax.images, *ax.patches, *ax.collections, *ax.texts)
              if a.get_visible()]
    for artist in hidden:
        artist.set_visible(False)
    without = render(fig)
    for artist in hidden:
        artist.set_visible(True)
    return int((with_data != without).any(axis=-1).sum())


def is_png(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"
