"""The augmentation ``maskrcnn train`` uses unless told otherwise (albumentations).

Applied by the training pipeline after resizing and padding (as matterport did), so every
transform here keeps the image shape; masks move with the pixels.
"""
from __future__ import annotations

SCALE_JITTER = (0.8, 1.25)  # zoom range of the scale jitter (1 = unchanged)


def default_augmentation(seed: int | None = None):
    """Horizontal and vertical flips, scale jitter and brightness/contrast, each with
    probability 0.5: ``albumentations.Compose``. ``seed`` makes the draws repeatable.

    Vertical flips suit photos taken from above (leaves, microscope slides, shelves from
    above); pass your own transform for street scenes, where up is up.
    """
    import albumentations as A

    return A.Compose([
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.Affine(scale=SCALE_JITTER, p=0.5),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    ], seed=seed)
