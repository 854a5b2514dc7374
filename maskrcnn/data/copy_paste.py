"""Simple Copy-Paste (Ghiasi et al., CVPR 2021): instances of another training image pasted
onto this one, a cheap way to show a model more objects in more places when a dataset has
few images.

The training pipeline calls :func:`paste_instances` for a share ``Config.COPY_PASTE`` of its
images, with a donor: another image of the same dataset, prepared as the image itself was
(resized, padded, augmented). Donor instances are pasted where they are in the donor's frame
(the two frames share their top-left corner), clipped to the image's window; the pasted
pixels hide what lay below them, so the image's own instances lose those pixels.
"""
from __future__ import annotations

import numpy as np

PASTE_SHARE = 0.5  # each donor instance is pasted with this probability


def paste_instances(image: np.ndarray, masks: np.ndarray, class_ids: np.ndarray,
                    donor_image: np.ndarray, donor_masks: np.ndarray,
                    donor_class_ids: np.ndarray, window, rng: np.random.Generator,
                    max_instances: int):
    """Paste a random share of the donor's instances onto ``image``.

    image (H, W, 3) uint8, masks (H, W, N) bool, class_ids (N,); the donor's arrays the same
    for its own (h, w) and M instances. ``window`` (y1, x1, y2, x2): the image's pixels inside
    its padding (nothing is pasted outside it). At most ``max_instances`` instances in all.
    Returns the new image, (H, W, N + K) masks and (N + K,) class ids: the image's instances
    first (emptied ones included; the caller drops them), then the K pasted ones.
    """
    height, width = image.shape[:2]
    y1, x1, y2, x2 = (int(v) for v in window)
    y2, x2 = min(y2, donor_masks.shape[0]), min(x2, donor_masks.shape[1])
    room = max_instances - masks.shape[-1]
    if room <= 0 or y2 <= y1 or x2 <= x1 or donor_masks.shape[-1] == 0:
        return image, masks, class_ids
    inside = donor_masks[y1:y2, x1:x2].any(axis=(0, 1))
    chosen = np.flatnonzero(inside & (rng.random(donor_masks.shape[-1]) < PASTE_SHARE))
    if chosen.size > room:
        chosen = np.sort(rng.choice(chosen, room, replace=False))
    if chosen.size == 0:
        return image, masks, class_ids
    region = (slice(y1, y2), slice(x1, x2))
    pasted = np.zeros((height, width, chosen.size), bool)
    pasted[region] = donor_masks[region][..., chosen]
    union = pasted.any(axis=-1)
    image = image.copy()
    image[region][union[region]] = donor_image[region][union[region]]
    masks = np.concatenate([masks & ~union[..., None], pasted], axis=-1)
    return image, masks, np.concatenate([class_ids, donor_class_ids[chosen]])
