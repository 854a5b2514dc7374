"""Loss curves, from a Keras history or from TensorBoard logs: one function, ``plot_losses``.

Epochs are numbered as the checkpoints are (``mask_rcnn_<name>_0001.h5`` after the first):
1..N, also for TensorBoard's epoch scalars, which Keras writes at steps 0..N-1.
"""
from __future__ import annotations

import os
from collections import defaultdict

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._figure import axes_or_new, finish, subplots

_STYLE = {"train": "-", "validation": "--"}


def read_tensorboard_scalars(log_dir) -> dict:
    """Scalars of the TensorBoard event files under ``log_dir``.

    Returns ``{run: {tag: (steps, values)}}`` where ``run`` is the event file's folder relative
    to ``log_dir`` ("train", "validation", or "." for files directly in it); steps as written.
    Needs TensorFlow, imported here only.
    """
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    if not os.path.isdir(log_dir):
        raise FileNotFoundError(f"no log folder {log_dir}")
    points = defaultdict(lambda: defaultdict(dict))
    for folder, _, files in sorted(os.walk(log_dir)):
        for name in sorted(f for f in files if "tfevents" in f):
            run = os.path.relpath(folder, log_dir)
            for record in tf.data.TFRecordDataset(os.path.join(folder, name)):
                event = event_pb2.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.HasField("simple_value"):
                        number = float(value.simple_value)
                    elif value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                        number = float(tf.make_ndarray(value.tensor))
                    else:
                        continue  # images, histograms, text
                    points[run][value.tag][int(event.step)] = number  # last write wins
    return {run: {tag: (np.array(sorted(steps)), np.array([steps[s] for s in sorted(steps)]))
                  for tag, steps in tags.items()} for run, tags in points.items()}


def _history_series(history: dict) -> dict:
    """Keras-style ``{"loss": [...], "val_loss": [...]}`` -> {loss: {run: (epochs, values)}}."""
    series = defaultdict(dict)
    for key, values in history.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
        series[name][run] = (np.arange(1, values.size + 1), values)
    return series


def _scalar_series(scalars: dict) -> tuple[dict, str]:
    """{run: {tag: (steps, values)}} -> ({loss: {run: (x, values)}}, x label): the epoch tags
    (at epochs 1..N) when there are any, else every tag at its step."""
    epochs = any(t.startswith("epoch_") for tags in scalars.values() for t in tags)
    series = defaultdict(dict)
    for run, tags in scalars.items():
        for tag, (steps, values) in tags.items():
            if not epochs:
                series[tag][run] = (steps, values)
            elif tag.startswith("epoch_"):
                series[tag.removeprefix("epoch_")][run] = (steps + 1, values)
    return series, "epoch" if epochs else "step"


def _loss_series(source) -> tuple[dict, str]:
    if isinstance(source, (str, os.PathLike)):
        scalars = read_tensorboard_scalars(os.fspath(source))
        if not scalars:
            raise ValueError(f"no scalar summaries in the event files under {source}")
        series, xlabel = _scalar_series(scalars)
    else:
        series, xlabel = _history_series(getattr(source, "history", source)), "epoch"
    losses = {k: v for k, v in series.items() if "loss" in k}
    return losses or dict(series), xlabel


def _draw(ax, series: dict, names, xlabel: str, colors) -> None:
    for name, color in zip(names, colors):
        for run, (x, values) in sorted(series[name].items()):
            if len(names) == 1:
                text = run
            else:
                text = name if run == "train" else f"val_{name}" if run == "validation" \
                    else f"{run}/{name}"
            ax.plot(x, values, _STYLE.get(run, ":"), color=color, label=text,
                    marker="o" if len(values) < 30 else None, markersize=3)
    ax.set(xlabel=xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    xs = sorted({float(v) for name in names for x, _ in series[name].values() for v in x})
    if 0 < len(xs) < 3:  # one or two epochs: ticks at them, not at fractions between
        ax.set_xticks(xs)
        ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small", ncol=1 if len(names) == 1 else 2)


def plot_losses(source, title=None, log_scale=False, ax=None, save_path=None,
                single_axes=False) -> Figure:
    """Loss curves per epoch: training solid, validation dashed, in the colour of the loss.

    source: a Keras ``History`` or its ``.history`` dict (``{"loss": [...], "val_loss": [...],
    "rpn_class_loss": [...], ...}``, one value per epoch), or a TensorBoard log folder (a run's
    ``log_dir``: its epoch scalars ``epoch_loss``... as Keras writes them, else all scalars per
    step). Only the entries with "loss" in their name are drawn, unless there are none.
    One panel per loss; with ``ax`` (or ``single_axes``), all of them on one axes.
    """
    series, xlabel = _loss_series(source)
    names = sorted(series, key=lambda n: (n != "loss", "loss" not in n, n))
    colors = [f"C{i % 10}" for i in range(len(names))]
    if ax is not None or single_axes or not names:
        ax, created = axes_or_new(ax, (9, 5))
        _draw(ax, series, names, xlabel, colors)
        ax.set(title=title or "Losses", ylabel="loss")
        if not names:
            ax.text(0.5, 0.5, "no loss values yet", ha="center", va="center",
                    transform=ax.transAxes)
        if log_scale and names:
            ax.set_yscale("log")
        return finish(ax.figure, created, save_path)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = subplots(rows, cols, (4.0 * cols, 3.0 * rows), layout="constrained")
    axes = axes.reshape(-1)
    for panel, name, color in zip(axes, names, colors):
        _draw(panel, series, [name], xlabel, [color])
        panel.set_title(name)
        if log_scale:
            panel.set_yscale("log")
    for panel in axes[len(names):]:
        panel.set_visible(False)
    if title:
        fig.suptitle(title)
    return finish(fig, True, save_path)


def plot_loss_history(history, title="Losses", ax=None, save_path=None) -> Figure:
    """:func:`plot_losses` of a Keras history, every loss on one axes (the earlier name)."""
    return plot_losses(history, title=title, ax=ax, save_path=save_path, single_axes=True)


plot_loss_curves = plot_losses  # the name in maskrcnn.evaluation
