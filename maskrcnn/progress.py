"""Progress bars that stay one line everywhere: a terminal, Jupyter, Colab and a notebook
exported to HTML.

``tqdm.auto`` needs ipywidgets in a notebook (a widget that an exported page cannot show) and
falls back to text that an exported page prints once per update. In a notebook kernel the bar
here is tqdm's text, written into one display output that is updated in place, so the saved
notebook holds only its last state; elsewhere it is plain tqdm on stderr.
"""
from __future__ import annotations

from tqdm import tqdm


class _DisplayLine:
    """A file for tqdm that shows the current line of text in one updatable output."""

    def __init__(self):
        from IPython.display import display
        self.line = ""
        self.handle = display({"text/plain": ""}, raw=True, display_id=True)

    def write(self, text: str) -> None:
        self.line = (self.line + text).replace("\n", "").rsplit("\r", 1)[-1]

    def flush(self) -> None:
        if self.handle is not None and self.line.strip():
            self.handle.update({"text/plain": self.line.rstrip()}, raw=True)


def in_notebook() -> bool:
    """True inside a Jupyter (or Colab) kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return hasattr(get_ipython(), "kernel")  # a terminal IPython has no kernel


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)``, drawn in a notebook as one line updated in place."""
    if in_notebook() and not kwargs.get("disable") and "file" not in kwargs:
        kwargs.update(file=_DisplayLine(), ascii=kwargs.get("ascii", True))
    return tqdm(iterable, **kwargs)
