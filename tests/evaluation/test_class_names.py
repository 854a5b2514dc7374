"""evaluate_model refuses a model whose class list is not the dataset's, saying which id."""
import pytest

from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.errors import DatasetError
from maskrcnn.evaluation import class_names_problem, evaluate_model


def test_class_names_problem():
    shapes = ["BG", "square", "circle", "triangle"]
    assert class_names_problem(shapes, shapes) is None
    assert class_names_problem(["background"] + shapes[1:], shapes) is None
    assert class_names_problem(None, shapes) is None  # a matterport file names none
    message = class_names_problem(["BG", "circle", "square", "triangle"], shapes)
    assert "class id 1 is 'circle' for the model and 'square' in the dataset" in message
    assert "4 classes, the dataset 3" in class_names_problem(shapes, shapes[:3])


def test_evaluate_model_refuses_other_classes():
    class Model:
        class_names = ["BG", "balloon"]

        def detect(self, images):  # never reached
            raise AssertionError

    with pytest.raises(DatasetError, match="'balloon' for the model and 'square'"):
        evaluate_model(Model(), ShapesDataset(2, 64, 64), verbose=False)
