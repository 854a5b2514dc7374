"""maskrcnn.data.readers.shapes: the synthetic shapes dataset."""
import numpy as np

from maskrcnn.data.readers.shapes import ShapesDataset


def test_shapes_dataset_is_seeded_and_consistent():
    a, b = ShapesDataset(4, 64, 80, seed=5), ShapesDataset(4, 64, 80, seed=5)
    for i in a.image_ids:
        ia, ma, ca = a.load_image_and_masks(i)
        ib, mb, cb = b.load_image_and_masks(i)
        assert np.array_equal(ia, ib) and np.array_equal(ma, mb) and np.array_equal(ca, cb)
        assert ia.shape == (64, 80, 3) and ma.shape[:2] == (64, 80)
        assert ma.reshape(-1, ma.shape[-1]).any(axis=0).all()  # every instance visible
    assert a.class_names == ["BG", "square", "circle", "triangle"]
