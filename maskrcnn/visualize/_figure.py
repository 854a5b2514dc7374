"""Figures that show once in Jupyter and leave nothing open in scripts and tests (internal)."""
from __future__ import annotations

import io
import sys

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

_HEADLESS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def headless() -> bool:
    """True when the matplotlib backend draws no window (Agg, as in scripts and tests)."""
    return matplotlib.get_backend().lower() in _HEADLESS


class NotebookFigure(Figure):
    """A Figure that Jupyter shows exactly once (as the cell's value or at the end of the cell)."""

    def _ipython_display_(self):
        if not (headless() or "inline" in matplotlib.get_backend().lower()):
            return  # GUI and widget backends show the figure themselves
        from IPython.display import Image, display
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        display(Image(buf.getvalue()))
        plt.close(self)  # keeps the inline backend from showing it again at the end of the cell


def subplots(nrows: int = 1, ncols: int = 1, figsize=(16, 16), gridspec_kw=None, **kwargs):
    """A new figure and its (nrows, ncols) array of axes; pyplot-managed only on a display.
    ``gridspec_kw``: as matplotlib's (e.g. ``height_ratios``)."""
    if headless():
        fig = NotebookFigure(figsize=figsize, **kwargs)
    else:
        fig = plt.figure(figsize=figsize, FigureClass=NotebookFigure, **kwargs)
    return fig, fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=gridspec_kw)


def axes_or_new(ax, figsize):
    """(the axes to draw on, whether a figure was created for it)."""
    if ax is not None:
        return ax, False
    return subplots(figsize=figsize)[1][0, 0], True


def finish(fig: Figure, created: bool, save_path: str | None) -> Figure:
    """Save (and close what we opened) when asked; otherwise show a window in GUI scripts."""
    if save_path:
        fig.savefig(save_path, bbox_inches="tight")
        if created:
            plt.close(fig)
    elif created and not headless() and "IPython" not in sys.modules:
        plt.show()
    return fig
