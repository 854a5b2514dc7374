"""visualize.training: the one loss plot (Keras history or TensorBoard logs), and tables."""
import numpy as np
import pytest
from figure_checks import drawn, is_png
from matplotlib.figure import Figure

from maskrcnn import evaluation, visualize

HISTORY = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.0],
           "rpn_class_loss": [0.5, 0.3, 0.2], "val_rpn_class_loss": [0.6, 0.4, 0.3],
           "learning_rate": [0.01] * 3}


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_one_loss_plot_under_every_name():
    assert visualize.plot_loss_curves is visualize.plot_losses
    assert evaluation.plot_losses is evaluation.plot_loss_curves is visualize.plot_losses
    assert evaluation.read_tensorboard_scalars is visualize.read_tensorboard_scalars


def test_losses_one_panel_per_loss_epochs_from_one(tmp_path):
    path = tmp_path / "loss.png"
    fig = visualize.plot_losses(HISTORY, title="run", save_path=str(path))
    assert is_png(path)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["loss", "rpn_class_loss"], "no learning rate"
    train, val = panels[0].lines
    assert (train.get_label(), val.get_label()) == ("train", "validation")
    assert (train.get_linestyle(), val.get_linestyle()) == ("-", "--")
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])  # as the checkpoints: _0001..
    np.testing.assert_array_equal(val.get_ydata(), HISTORY["val_loss"])
    assert panels[0].get_xlabel() == "epoch" and fig.get_suptitle() == "run"
    assert drawn(fig) > 100


def test_loss_history_on_one_axes(tmp_path):
    """plot_loss_history (and plot_losses with ax=) draw every loss on one axes."""
    fig = visualize.plot_loss_history(HISTORY, title="all")
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "all"
    path = tmp_path / "loss.png"
    ax = Figure().subplots()
    for figure, axes in ((fig, fig.axes[0]), (visualize.plot_losses(HISTORY, ax=ax), ax)):
        labels = [line.get_label() for line in axes.lines]
        assert labels == ["loss", "val_loss", "rpn_class_loss", "val_rpn_class_loss"]
        assert axes.lines[0].get_color() == axes.lines[1].get_color() != axes.lines[2].get_color()
        assert drawn(figure) > 100
    visualize.plot_loss_history({"loss": [1.0]}, save_path=str(path))
    assert is_png(path)


def test_losses_without_loss_entries_and_empty():
    fig = visualize.plot_losses({"learning_rate": [0.1, 0.01]}, log_scale=True)
    assert [ax.get_title() for ax in _panels(fig)] == ["learning_rate"]
    assert _panels(fig)[0].get_yscale() == "log"
    empty = visualize.plot_losses({})
    assert [t.get_text() for t in empty.axes[0].texts] == ["no loss values yet"]
    assert drawn(empty) > 0  # the note


def test_losses_from_a_keras_history():
    class History:
        history = {"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}

    fig = visualize.plot_losses(History())
    np.testing.assert_array_equal(_panels(fig)[0].lines[0].get_xdata(), [1, 2])


def test_losses_from_tensorboard_epochs_numbered_as_checkpoints(tmp_path):
    """Keras writes epoch scalars at steps 0..N-1; the plot shows epochs 1..N."""
    tf = pytest.importorskip("tensorflow")
    for run, offset in (("train", 0.0), ("validation", 0.5)):
        with tf.summary.create_file_writer(str(tmp_path / "logs" / run)).as_default():
            for epoch in range(3):
                tf.summary.scalar("epoch_loss", 2.0 - epoch * 0.5 + offset, step=epoch)
                tf.summary.scalar("epoch_rpn_class_loss", 0.3 - epoch * 0.1, step=epoch)
                tf.summary.scalar("batch_loss", 9.0, step=epoch)  # ignored: epoch tags exist
    scalars = visualize.read_tensorboard_scalars(tmp_path / "logs")
    steps, values = scalars["validation"]["epoch_loss"]
    np.testing.assert_array_equal(steps, [0, 1, 2])
    np.testing.assert_allclose(values, [2.5, 2.0, 1.5])
    fig = visualize.plot_losses(tmp_path / "logs")
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["loss", "rpn_class_loss"]
    for line in panels[0].lines:
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    assert panels[0].get_xlabel() == "epoch" and drawn(fig) > 100
    with tf.summary.create_file_writer(str(tmp_path / "steps")).as_default():
        for step in range(4):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step * 10)
    by_step = _panels(visualize.plot_losses(str(tmp_path / "steps")))[0]
    assert by_step.get_xlabel() == "step"
    np.testing.assert_array_equal(by_step.lines[0].get_xdata(), [0, 10, 20, 30])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no scalar summaries"):
        visualize.plot_losses(empty)


def test_display_table_and_weight_stats(capsys):
    visualize.display_table([["name", "value"], ["loss", 1.5]])
    assert capsys.readouterr().out.splitlines() == ["name  value", "loss  1.5"]

    class Weight:
        def __init__(self, name, value):
            self.name, self.value = name, value

        def __array__(self, dtype=None, copy=None):
            return self.value

    class Model:
        weights = [Weight("conv1/kernel", np.arange(6.0).reshape(2, 3))]

    visualize.display_weight_stats(Model())
    out = capsys.readouterr().out
    assert "conv1/kernel" in out and "(2, 3)" in out and "+5.0000" in out
