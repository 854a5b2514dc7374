"""The default augmentation keeps the shape and moves masks with the pixels."""
import numpy as np

from maskrcnn.data.augmentation import default_augmentation
from maskrcnn.data.pipeline import augment


def test_default_augmentation_moves_masks_with_pixels():
    image = np.zeros((96, 64, 3), np.uint8)
    image[10:30, 5:20] = 200  # a bright object, and its mask
    masks = np.zeros((96, 64, 2), bool)
    masks[10:30, 5:20, 0] = True
    masks[60:70, 40:60, 1] = True
    transform, seen_moved = default_augmentation(seed=0), 0
    for _ in range(20):
        out_image, out_masks = augment(transform, image, masks)
        assert out_image.shape == image.shape and out_masks.shape == masks.shape
        assert out_image.dtype == np.uint8
        inside = out_masks[..., 0].astype(bool)
        assert inside.sum() > 80  # the object survives (300 px, zoom at least 0.6: 108)
        # under the moved mask the pixels are the object's (brightness may change them)
        assert out_image[inside].mean() > 3 * max(1.0, out_image[~inside].mean())
        seen_moved += not np.array_equal(inside, masks[..., 0])
    assert seen_moved >= 10  # flips and zoom happen about as often as drawn (p >= 0.5 each)
