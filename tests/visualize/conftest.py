"""Fixtures of the visualize tests: one shapes image with its instances; no figure left open."""
import matplotlib.pyplot as plt
import pytest

from maskrcnn.data import ShapesDataset
from maskrcnn.data.transforms import extract_bboxes


@pytest.fixture(scope="session")
def data():
    ds = ShapesDataset(count=3, height=64, width=64)
    image, masks, class_ids = ds.load_image_and_masks(0)
    return ds, image, masks, class_ids, extract_bboxes(masks)


@pytest.fixture(autouse=True)
def no_leaks():
    before = len(plt.get_fignums())
    yield
    assert len(plt.get_fignums()) == before, "a figure was left open in pyplot"

