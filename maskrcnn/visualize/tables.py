"""Tables: matterport's ``display_table`` and ``display_weight_stats``."""
from __future__ import annotations

import sys

import numpy as np


def display_table(table) -> None:
    """Show rows of cells: an HTML table in a notebook, aligned text elsewhere."""
    rows = [[str(c) for c in row] for row in table]
    if "IPython" in sys.modules:
        from IPython import get_ipython
        if get_ipython() is not None and "Terminal" not in type(get_ipython()).__name__:
            from IPython.display import HTML, display
            html = "".join("<tr>" + "".join(f"<td>{c:40}</td>" for c in r) + "</tr>"
                           for r in rows)
            display(HTML(f"<table>{html}</table>"))
            return
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows),
                                                                             default=0))]
    for r in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())


def display_weight_stats(model) -> None:
    """Table of every weight's name, shape, min, max and standard deviation."""
    weights = getattr(getattr(model, "keras_model", model), "weights", [])
    table = [["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]]
    for w in weights:
        v = np.asarray(w)
        name = getattr(w, "path", None) or getattr(w, "name", "?")
        table.append([name, str(v.shape), f"{v.min():+9.4f}", f"{v.max():+10.4f}",
                      f"{v.std():+9.4f}"])
    display_table(table)
