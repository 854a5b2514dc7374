"""Images and their masks: grids of images, the largest classes of an image, dataset rows."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._drawing import as_rgb, label
from ._figure import finish, subplots


def display_images(images, titles=None, cols=4, cmap=None, norm=None, interpolation=None,
                   save_path=None) -> Figure:
    """Images in a grid, ``cols`` per row, each with its title (None or "" for none)."""
    titles = list(titles) if titles is not None else [""] * len(images)
    rows = max(1, -(-len(images) // cols))
    fig, axes = subplots(rows, cols, (14, max(3.5, 14 * rows / cols)))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.set_title(titles[i] if i < len(titles) else "", fontsize=9)
            image = np.asarray(images[i])
            ax.imshow(as_rgb(image) if image.ndim == 3 else image, cmap=cmap, norm=norm,
                      interpolation=interpolation)
    fig.tight_layout()
    return finish(fig, True, save_path)


def _top_masks(mask, class_ids, class_names, limit):
    """The ``limit`` classes covering most pixels: ([(H, W) label maps], [names]), padded."""
    mask = np.asarray(mask).astype(bool)
    class_ids = np.asarray(class_ids).reshape(-1)
    ids = np.unique(class_ids)
    area = [mask[..., class_ids == c].sum() for c in ids]
    top = [ids[i] for i in np.argsort(area)[::-1]][:limit]
    maps, names = [], []
    for c in top:
        picked = mask[..., class_ids == c]
        maps.append(np.max(picked * np.arange(1, picked.shape[-1] + 1), axis=-1))
        names.append(label(class_names, int(c)))
    blank = np.zeros(mask.shape[:2])
    return maps + [blank] * (limit - len(maps)), names + ["-"] * (limit - len(names))


def display_top_masks(image, mask, class_ids, class_names, limit=4) -> Figure:
    """The image, then one panel per class (the ``limit`` largest by area) showing its masks."""
    maps, names = _top_masks(mask, class_ids, class_names, limit)
    return display_images([as_rgb(image)] + maps, ["H x W={}x{}".format(*np.shape(image)[:2])]
                          + names, cols=limit + 1, cmap="Blues_r")


def display_dataset_samples(dataset, image_ids, class_names=None, limit=4,
                            save_path=None) -> Figure:
    """One row per image id: the image, then its ``limit`` largest classes' masks."""
    class_names = class_names or dataset.class_names
    limit = max(1, min(limit, len(class_names) - 1))  # no empty panels for a one-class set
    image_ids = list(image_ids)
    rows = max(1, len(image_ids))
    fig, axes = subplots(rows, limit + 1, (3 * (limit + 1), 3 * rows))
    for row, image_id in enumerate(image_ids):
        image, masks, class_ids = dataset.load_image_and_masks(image_id)
        maps, names = _top_masks(masks, class_ids, class_names, limit)
        axes[row, 0].imshow(as_rgb(image))
        n = len(class_ids)
        axes[row, 0].set_title(f"{dataset.image_reference(image_id)}\n{n} instance"
                               + "s" * (n != 1), fontsize=9)
        for ax, m, name in zip(axes[row, 1:], maps, names):
            ax.imshow(m, cmap="Blues_r")
            ax.set_title(name, fontsize=9)
        for ax in axes[row]:
            ax.axis("off")
    fig.tight_layout()
    return finish(fig, True, save_path)
