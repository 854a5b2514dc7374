"""maskrcnn.data.pipeline: one training sample (load_image_gt), its augmentation branches, the
batches of BatchLoader and make_training_dataset."""
import sys
import types

import numpy as np
import pytest

from maskrcnn.config import Config
from maskrcnn.data.dataset import Dataset
from maskrcnn.data.pipeline import BatchLoader, load_image_gt
from maskrcnn.data.transforms import extract_bboxes
from maskrcnn.errors import DatasetError

SIDE = 64


class PipeConfig(Config):
    NAME = "pipe"
    NUM_CLASSES = 1 + 3
    IMAGES_PER_GPU = 2
    IMAGE_RESIZE_MODE = "none"  # 64x64 images stay as they are: masks can be compared as made
    IMAGE_MIN_DIM = SIDE
    IMAGE_MAX_DIM = SIDE
    MAX_GT_INSTANCES = 6
    MINI_MASK_SHAPE = (8, 8)


def config(**fields):
    cfg = PipeConfig()
    for name, value in fields.items():
        setattr(cfg, name, value)
    return cfg


class Blobs(Dataset):
    """Images with ``count`` random blobs, each with a 16x16 bounding box (corners set)."""

    def __init__(self, counts=(3,), seed=0):
        super().__init__()
        for i, name in enumerate(("a", "b", "c"), start=1):
            self.add_class("blobs", i, name)
        rng = np.random.default_rng(seed)
        for k, count in enumerate(counts):
            masks = np.zeros((SIDE, SIDE, count), bool)
            for i in range(count):
                y, x = rng.integers(0, SIDE - 16, 2)
                masks[y:y + 16, x:x + 16, i] = rng.random((16, 16)) < 0.6
                masks[y, x, i] = masks[y + 15, x + 15, i] = True
            image = rng.integers(0, 256, (SIDE, SIDE, 3)).astype(np.uint8)
            self.add_image("blobs", f"img{k}", None, image=image, masks=masks,
                           class_ids=(np.arange(count) % 3 + 1).astype(np.int32))
        self.prepare()

    def load_image(self, image_id):
        return self.image_info[image_id]["image"]

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        return info["masks"], info["class_ids"]


def test_sample_without_augmentation_keeps_image_boxes_and_meta():
    data = Blobs()
    cfg = config(USE_MINI_MASK=False)
    image, meta, class_ids, boxes, masks = load_image_gt(data, cfg, 0)
    info = data.image_info[0]
    np.testing.assert_array_equal(image, info["image"])
    np.testing.assert_array_equal(masks, info["masks"])
    np.testing.assert_array_equal(class_ids, info["class_ids"])
    for (y1, x1, y2, x2), m in zip(boxes, np.moveaxis(info["masks"], -1, 0)):
        assert (y2 - y1, x2 - x1) == (16, 16) and m[y1, x1] and m[y2 - 1, x2 - 1]
    assert meta.shape == (cfg.IMAGE_META_SIZE,)
    assert meta[1:4].tolist() == [SIDE, SIDE, 3] and meta[7:11].tolist() == [0, 0, SIDE, SIDE]


def test_mini_masks_are_the_box_crop_resized():
    data = Blobs(counts=(4,))
    _, _, _, full_boxes, full = load_image_gt(data, config(USE_MINI_MASK=False), 0)
    _, _, _, boxes, mini = load_image_gt(data, config(USE_MINI_MASK=True), 0)
    np.testing.assert_array_equal(boxes, full_boxes)
    assert mini.shape == (8, 8, 4) and mini.dtype == bool
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        crop = full[y1:y2, x1:x2, i].astype(float)  # 16x16 -> 8x8: bilinear = 2x2 means
        expected = crop.reshape(8, 2, 8, 2).mean(axis=(1, 3)) >= 0.5
        np.testing.assert_array_equal(mini[..., i], expected)


def test_albumentations_transform_moves_masks_with_the_image():
    albumentations = pytest.importorskip("albumentations")
    data = Blobs()
    flip = albumentations.HorizontalFlip(p=1.0)
    image, _, _, boxes, masks = load_image_gt(data, config(USE_MINI_MASK=False), 0, flip)
    info = data.image_info[0]
    np.testing.assert_array_equal(image, info["image"][:, ::-1])
    np.testing.assert_array_equal(masks, info["masks"][:, ::-1])
    assert masks.dtype == bool
    before = extract_bboxes(info["masks"])  # x1, x2 mirror: x1' = W - x2, x2' = W - x1
    np.testing.assert_array_equal(boxes[:, [0, 2]], before[:, [0, 2]])
    np.testing.assert_array_equal(boxes[:, [1, 3]], SIDE - before[:, [3, 1]])


class FakeImgaugAugmenter:
    """An imgaug-style augmenter: ``to_deterministic()`` fixes the random draw, and
    ``augment_image(x, hooks=...)`` asks the hooks whether to act (as imgaug does for masks)."""

    def __init__(self, name, rng=None):
        self.__class__ = type(name, (FakeImgaugAugmenter,), {})
        self.rng = rng or np.random.default_rng(0)
        self.flip = None

    def to_deterministic(self):
        det = FakeImgaugAugmenter(type(self).__name__, self.rng)
        det.flip = bool(self.rng.random() < 0.5)
        return det

    def augment_image(self, image, hooks=None):
        assert self.flip is not None, "augment only through to_deterministic()"
        if hooks is not None and not hooks.activator([image], self, [], True):
            return image
        if type(self).__name__ == "Fliplr":
            return image[:, ::-1] if self.flip else image
        return np.clip(image.astype(int) + 40, 0, 255).astype(image.dtype)  # e.g. Add


@pytest.fixture
def fake_imgaug(monkeypatch):
    """Stock imgaug does not import under numpy 2; the pipeline only needs its HooksImages."""
    module = types.ModuleType("imgaug")
    module.HooksImages = lambda activator=None: types.SimpleNamespace(activator=activator)
    monkeypatch.setitem(sys.modules, "imgaug", module)


def test_imgaug_geometric_augmenter_moves_masks_like_the_image(fake_imgaug):
    data = Blobs()
    info = data.image_info[0]
    flipped = 0
    augmenter = FakeImgaugAugmenter("Fliplr", np.random.default_rng(1))
    for _ in range(8):  # a random flip: image and masks must take the same draw each time
        image, _, _, _, masks = load_image_gt(data, config(USE_MINI_MASK=False), 0, augmenter)
        flip = not np.array_equal(image, info["image"])
        flipped += flip
        expected = info["masks"][:, ::-1] if flip else info["masks"]
        np.testing.assert_array_equal(masks, expected)
        if flip:
            np.testing.assert_array_equal(image, info["image"][:, ::-1])
    assert 0 < flipped < 8


def test_imgaug_pixel_augmenter_leaves_masks_alone(fake_imgaug):
    data = Blobs()
    info = data.image_info[0]
    image, _, _, _, masks = load_image_gt(data, config(USE_MINI_MASK=False), 0,
                                          FakeImgaugAugmenter("Add"))
    assert not np.array_equal(image, info["image"])  # the image was changed...
    np.testing.assert_array_equal(masks, info["masks"])  # ...its masks were not


def test_plain_function_augmentation_and_shape_changes():
    data = Blobs()
    info = data.image_info[0]

    def roll(image, masks):
        return np.roll(image, 5, axis=0), np.roll(masks, 5, axis=0)

    image, _, _, _, masks = load_image_gt(data, config(USE_MINI_MASK=False), 0, roll)
    np.testing.assert_array_equal(image, np.roll(info["image"], 5, axis=0))
    np.testing.assert_array_equal(masks, np.roll(info["masks"], 5, axis=0))

    def shrink(image, masks):
        return image[:32], masks[:32]

    with pytest.raises(DatasetError, match="changed the image shape"):
        load_image_gt(data, config(), 0, shrink)
    with pytest.raises(TypeError, match="augmentation must be"):
        load_image_gt(data, config(), 0, "flip")


def test_instances_left_empty_by_augmentation_are_dropped():
    data = Blobs(counts=(3,))

    def erase_first(image, masks):
        masks = masks.copy()
        masks[..., 0] = False
        return image, masks

    _, _, class_ids, boxes, masks = load_image_gt(data, config(), 0, erase_first)
    np.testing.assert_array_equal(class_ids, data.image_info[0]["class_ids"][1:])
    assert boxes.shape == (2, 4) and masks.shape == (8, 8, 2)


def test_max_gt_instances_keeps_exactly_that_many_and_warns():
    data = Blobs(counts=(9,))
    info = data.image_info[0]
    with pytest.warns(UserWarning, match="9 instances, more than MAX_GT_INSTANCES=6"):
        _, _, class_ids, boxes, masks = load_image_gt(
            data, config(USE_MINI_MASK=False), 0, rng=np.random.default_rng(0))
    assert class_ids.shape == (6,) and boxes.shape == (6, 4) and masks.shape[-1] == 6
    # a subset of the instances, in their order, each with its own class id and box
    full = np.moveaxis(info["masks"], -1, 0)
    picked = [next(k for k, m in enumerate(full) if np.array_equal(m, kept))
              for kept in np.moveaxis(masks, -1, 0)]
    assert picked == sorted(set(picked))
    np.testing.assert_array_equal(class_ids, info["class_ids"][picked])


def test_max_gt_instances_exactly_reached_does_not_warn(recwarn):
    data = Blobs(counts=(6,))
    _, _, class_ids, _, _ = load_image_gt(data, config(), 0)
    assert class_ids.shape == (6,) and not [w for w in recwarn if "MAX_GT" in str(w.message)]


def test_batch_loader_pads_instances_and_keeps_the_last_partial_batch():
    data = Blobs(counts=(1, 3, 2, 4, 2))
    batches = list(BatchLoader(data, config(), shuffle=False, repeat=False, seed=0,
                               workers=2))
    assert [len(b["image"]) for b in batches] == [2, 2, 1]
    first = batches[0]
    assert first["image"].shape == (2, SIDE, SIDE, 3) and first["image"].dtype == np.uint8
    assert first["image_meta"].shape == (2, PipeConfig().IMAGE_META_SIZE)
    assert first["gt_class_ids"].shape == (2, 3) and first["gt_boxes"].shape == (2, 3, 4)
    assert first["gt_masks"].shape == (2, 8, 8, 3) and first["gt_masks"].dtype == np.uint8
    assert first["gt_class_ids"][0].tolist() == [1, 0, 0]  # 1 instance, padded with zeros
    assert not first["gt_boxes"][0, 1:].any() and not first["gt_masks"][0, ..., 1:].any()
    assert [b["image_meta"][:, 0].tolist() for b in batches] == [[0, 1], [2, 3], [4]]


def test_batch_loader_repeats_in_full_batches_and_names_failing_images():
    data = Blobs(counts=(1, 2, 3))
    loader = iter(BatchLoader(data, config(), shuffle=True, repeat=True, seed=1, workers=1))
    sizes = [len(next(loader)["image"]) for _ in range(4)]
    loader.close()
    assert sizes == [2, 2, 2, 2]

    def broken(image, masks):
        raise RuntimeError("boom")

    with pytest.raises(DatasetError, match=r"blobs:img0: RuntimeError: boom"):
        list(BatchLoader(data, config(), shuffle=False, repeat=False, augmentation=broken))


@pytest.mark.parametrize("mode, image_hw", [("square", [SIDE, SIDE]), ("none", [None, None])])
def test_make_training_dataset_batch_shapes(mode, image_hw):
    tf = pytest.importorskip("tensorflow")
    from maskrcnn.data.pipeline import make_training_dataset

    cfg = config(IMAGE_RESIZE_MODE=mode)
    ds = make_training_dataset(Blobs(counts=(2, 3, 1)), cfg, shuffle=False, repeat=False)
    assert ds.element_spec["image"].shape.as_list() == [None] + image_hw + [3]
    assert ds.element_spec["gt_masks"].shape.as_list() == [None, 8, 8, None]
    batches = list(ds.as_numpy_iterator())
    assert [b["image"].shape for b in batches] == [(2, SIDE, SIDE, 3), (1, SIDE, SIDE, 3)]
    assert [b["gt_class_ids"].shape for b in batches] == [(2, 3), (1, 1)]
    assert batches[0]["gt_boxes"].dtype == np.float32
    assert batches[0]["gt_masks"].shape == (2, 8, 8, 3)
    assert batches[0]["image_meta"].shape == (2, cfg.IMAGE_META_SIZE)
    assert ds.element_spec["image"].dtype == tf.uint8
