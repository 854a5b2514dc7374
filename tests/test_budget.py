"""TrainingBudget keeps time for what follows training and reports where the run stands."""
import keras
import pytest

from maskrcnn.budget import (
    EXIT_SECONDS,
    GRAPH_SECONDS,
    TrainingBudget,
    finishing_seconds,
    fit_finishing,
)


class Optimizer:
    learning_rate = keras.Variable(0.02)


class Model:
    optimizer, stop_training = Optimizer(), False


def test_the_time_after_training_is_reserved_and_reported(tiny_config, capsys):
    budget = TrainingBudget(max_seconds=60, reserve=lambda step: 60.0, report_seconds=0)
    model = Model()
    budget.set_model(model)
    budget.on_train_begin()
    for step in range(2):  # the first step builds the graph: timing starts after it
        budget.on_train_batch_begin(step)
        budget.on_train_batch_end(step, {"loss": 1.5})
        assert model.stop_training == (step == 1)  # the reserve would not fit
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("step 2/2 · ") and "of the budget left" in line
    assert "loss 1.500" in line and "budget of 1 minutes reached" in line


def test_what_follows_training_is_cut_to_the_time_left(tiny_config):
    per_image = 2.0 / tiny_config.BATCH_SIZE
    bare = finishing_seconds(tiny_config, 2.0, save_seconds=1.0)
    assert bare == pytest.approx(EXIT_SECONDS + 3.0)  # three checkpoint writes
    full = finishing_seconds(tiny_config, 2.0, bn_images=40, calibration_images=20,
                             save_seconds=1.0)
    assert full == pytest.approx(EXIT_SECONDS + 3.0 + 2 * GRAPH_SECONDS + 40 * per_image * 0.7
                                 + 20 * per_image * 1.5)
    assert fit_finishing(full, tiny_config, 2.0, 40, 20, 1.0) == (40, 20)
    assert fit_finishing(full - 1, tiny_config, 2.0, 40, 20, 1.0) == (20, 10)
    assert fit_finishing(EXIT_SECONDS + 10.0, tiny_config, 2.0, 40, 20, 1.0) == (0, 0)


def test_the_plan_hears_the_time_left_when_training_stops():
    heard = []
    budget = TrainingBudget(max_seconds=100, plan=lambda left, step: heard.append(left))
    budget.set_model(Model())
    budget.on_train_begin()
    budget.on_train_batch_end(0)
    budget.on_train_end()
    assert len(heard) == 1 and 99 < heard[0] <= 100
