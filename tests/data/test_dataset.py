"""maskrcnn.data.dataset: the Dataset API (matterport's surface), and the package's names."""
import numpy as np
import pytest

from maskrcnn.data.dataset import Dataset
from maskrcnn.errors import DatasetError


class Handmade(Dataset):
    def __init__(self, masks, class_ids, ids=("a1b2c3",)):
        super().__init__()
        self.add_class("hand", 1, "cat")
        self.add_class("hand", 2, "dog,canine")
        for image_id in ids:
            self.add_image("hand", image_id, None, masks=masks, class_ids=class_ids, note="x")
        self.prepare()

    def load_image(self, image_id):
        h, w = self.image_info[image_id]["masks"].shape[:2]
        return np.zeros((h, w, 3), dtype=np.uint8)

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        return info["masks"], info["class_ids"]


def test_matterport_surface_and_string_ids():
    masks = np.zeros((10, 12, 2), dtype=bool)
    masks[2:5, 2:5, 0] = masks[6:9, 6:9, 1] = True
    ds = Handmade(masks, np.array([1, 2]), ids=("img-001", "f00d"))
    assert ds.num_classes == 3 and ds.class_names == ["BG", "cat", "dog"]
    assert list(ds.image_ids) == [0, 1]
    assert ds.image_info[1]["id"] == "f00d" and ds.image_info[1]["note"] == "x"
    assert ds.map_source_class_id("hand.2") == 2
    assert ds.get_source_class_id(2, "hand") == 2
    image, m, ids = ds.load_image_and_masks(1)
    assert image.shape == (10, 12, 3) and m.dtype == bool and ids.dtype == np.int32


def test_mask_count_not_matching_class_ids_names_the_image():
    ds = Handmade(np.zeros((8, 8, 2), dtype=bool), np.array([1]), ids=("photo_7",))
    with pytest.raises(DatasetError, match="hand:photo_7.*2 masks but 1 class ids"):
        ds.load_image_and_masks(0)


def test_class_id_out_of_range_is_reported():
    ds = Handmade(np.ones((8, 8, 1), dtype=bool), np.array([7]))
    with pytest.raises(DatasetError, match="class id 7"):
        ds.load_image_and_masks(0)


def test_unprepared_dataset_says_to_prepare():
    ds = Dataset()
    ds.add_class("x", 1, "thing")
    with pytest.raises(DatasetError, match="prepare"):
        ds.load_image_and_masks(0)


def test_readers_are_importable_from_the_data_package():
    import maskrcnn.data as data
    from maskrcnn.data import bdd, coco, openimages, via

    assert data.load_coco is coco.load_coco and data.load_via is via.load_via
    assert data.load_bdd is bdd.load_bdd and data.load_openimages is openimages.load_openimages
    for name in data.__all__:
        assert callable(getattr(data, name)), name
    with pytest.raises(AttributeError, match="load_pascal"):
        _ = data.load_pascal
