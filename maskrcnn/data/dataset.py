"""Dataset: the container every reader fills, compatible with matterport's ``utils.Dataset``.

A dataset holds classes (``add_class``) and images (``add_image``), each image with any id (a
string such as an Open Images hash works) and any extra fields. Subclasses override
``load_mask`` (and ``load_image`` when images are not files). After ``prepare()``, images and
classes are addressed by contiguous internal ids: ``image_ids`` is ``0..num_images-1`` and
class 0 is the background.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import DatasetError
from .image_io import read_image


def clean_name(name: str) -> str:
    """Short display name: the text before the first comma (matterport's convention)."""
    return ",".join(str(name).split(",")[:1])


class Dataset:
    """Images, their instances and the class list. See the module docstring."""

    def __init__(self, class_map: dict | None = None) -> None:
        self._image_ids = np.zeros(0, dtype=np.int64)
        self.image_info: list[dict[str, Any]] = []
        self.class_info: list[dict[str, Any]] = [{"source": "", "id": 0, "name": "BG"}]
        self.source_class_ids: dict[str, list[int]] = {}
        self.class_from_source_map: dict[str, int] = {}
        self.image_from_source_map: dict[str, int] = {}
        self.sources: list[str] = []
        #: Pixel limit of ``load_image`` (None: ``image_io.MAX_IMAGE_PIXELS``).
        self.max_image_pixels: int | None = None
        self._prepared = False

    # ----------------------------------------------------------------- building
    def add_class(self, source: str, class_id: int, class_name: str) -> None:
        """Register class ``class_id`` of ``source``; adding the same pair twice is a no-op."""
        if "." in source:
            raise DatasetError(f"source name {source!r} must not contain a dot")
        for info in self.class_info:
            if info["source"] == source and info["id"] == class_id:
                return
        self.class_info.append({"source": source, "id": class_id, "name": class_name})
        self._prepared = False

    def add_image(self, source: str, image_id: Any, path: str | None, **kwargs: Any) -> None:
        """Register an image. ``image_id`` may be any value (kept as given); extra keyword
        arguments (``width``, ``height``, ``polygons``...) are stored in ``image_info``."""
        info = {"id": image_id, "source": source, "path": path}
        info.update(kwargs)
        self.image_info.append(info)
        self._prepared = False

    def prepare(self, class_map: dict | None = None) -> None:
        """Freeze the lists: contiguous class ids, display names and the source maps."""
        self.num_classes = len(self.class_info)
        self.class_ids = np.arange(self.num_classes)
        self.class_names = [clean_name(c["name"]) for c in self.class_info]
        self.num_images = len(self.image_info)
        self._image_ids = np.arange(self.num_images)
        self.class_from_source_map = {f"{info['source']}.{info['id']}": i
                                      for i, info in enumerate(self.class_info)}
        self.image_from_source_map = {f"{info['source']}.{info['id']}": i
                                      for i, info in enumerate(self.image_info)}
        self.sources = sorted({c["source"] for c in self.class_info})
        self.source_class_ids = {}
        for source in self.sources:
            self.source_class_ids[source] = [
                i for i, info in enumerate(self.class_info) if i == 0 or info["source"] == source]
        self._prepared = True

    def rename_classes(self, names) -> None:
        """Give the classes (background left out, in class id order) new display ``names``,
        e.g. ``["balloon"]`` for a one-class VIA set that its reader calls "object". Ids and
        masks stay as they are; DatasetError when the number of names differs."""
        names = [str(n).strip() for n in names]
        current = [c["name"] for c in self.class_info[1:]]
        if len(names) != len(current) or not all(names):
            raise DatasetError(f"class names {names} given for the classes {current}: give "
                               "one non-empty name per class, in this order")
        for info, name in zip(self.class_info[1:], names):
            info["name"] = name
        if self._prepared:
            self.class_names = [clean_name(c["name"]) for c in self.class_info]

    def order_classes(self, names) -> None:
        """Put the classes (background left out) in the order of ``names``, the same names
        in another order (e.g. a model's); class ids follow the new order and each object
        keeps its class (ids are looked up when masks load). DatasetError for other names."""
        names = [str(n) for n in names]
        by_name = {clean_name(c["name"]): c for c in self.class_info[1:]}
        if sorted(names) != sorted(by_name) or len(set(names)) != len(names):
            raise DatasetError(f"classes {names} are not {sorted(by_name)} in another order")
        self.class_info = [self.class_info[0]] + [by_name[n] for n in names]
        self.prepare()

    # ----------------------------------------------------------------- lookups
    @property
    def image_ids(self) -> np.ndarray:
        return self._image_ids

    def map_source_class_id(self, source_class_id: str) -> int:
        """Internal class id of ``"source.id"``, e.g. ``"coco.12"``."""
        try:
            return self.class_from_source_map[source_class_id]
        except KeyError:
            raise DatasetError(f"unknown class {source_class_id!r}; known: "
                               f"{sorted(self.class_from_source_map)}") from None

    def get_source_class_id(self, class_id: int, source: str) -> int:
        info = self.class_info[class_id]
        if info["source"] != source:
            raise DatasetError(f"class {class_id} belongs to source {info['source']!r}, "
                               f"not {source!r}")
        return info["id"]

    def image_reference(self, image_id: int) -> str:
        """A human-readable name of the image: its path, else its source and id."""
        info = self.image_info[image_id]
        return str(info.get("path") or f"{info['source']}:{info['id']}")

    def source_image_link(self, image_id: int) -> str | None:
        return self.image_info[image_id]["path"]

    def active_class_ids(self, image_id: int) -> np.ndarray:
        """(num_classes,) int32: 1 for the classes of the image's source (and background)."""
        active = np.zeros(self.num_classes, dtype=np.int32)
        active[self.source_class_ids[self.image_info[image_id]["source"]]] = 1
        return active

    def _check_prepared(self) -> None:
        if not self._prepared:
            raise DatasetError("call dataset.prepare() after adding classes and images")

    # ----------------------------------------------------------------- loading
    def load_image(self, image_id: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB, whatever the file's mode (gray, RGBA, palette, 16-bit)."""
        path = self.image_info[image_id].get("path")
        if path is None:
            raise DatasetError(f"image {self.image_info[image_id]['id']!r} has no path; "
                               "override load_image() to make it")
        return read_image(path, max_pixels=getattr(self, "max_image_pixels", None))

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, N) bool masks and (N,) int32 class ids. Override this in a subclass.

        The default says the image has no instances.
        """
        return np.zeros((0, 0, 0), dtype=bool), np.zeros((0,), dtype=np.int32)

    def load_image_and_masks(self, image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Image, masks and class ids of one image, checked against each other.

        Returns (H, W, 3) uint8, (H, W, N) bool and (N,) int32. Raises DatasetError naming the
        image when the masks do not fit the image or the class ids do not fit the masks.
        """
        self._check_prepared()
        image = self.load_image(image_id)
        masks, class_ids = self.load_mask(image_id)
        masks, class_ids = self.check_instances(image_id, image.shape[:2], masks, class_ids)
        return image, masks, class_ids

    def check_instances(self, image_id: int, image_hw: Iterable[int], masks: np.ndarray,
                        class_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validate what ``load_mask`` returned; returns (bool masks, int32 class ids)."""
        ref = self.image_reference(image_id)
        h, w = tuple(image_hw)
        masks = np.asarray(masks)
        class_ids = np.asarray(class_ids).reshape(-1)
        if masks.size == 0 and class_ids.size == 0:
            return np.zeros((h, w, 0), dtype=bool), np.zeros((0,), dtype=np.int32)
        if masks.ndim == 2:
            masks = masks[..., None]
        if masks.ndim != 3:
            raise DatasetError(f"{ref}: load_mask must return masks of shape (H, W, N), got "
                               f"{masks.shape}")
        if masks.shape[:2] != (h, w):
            raise DatasetError(f"{ref}: masks are {masks.shape[0]}x{masks.shape[1]} but the "
                               f"image is {h}x{w}")
        if masks.shape[2] != class_ids.shape[0]:
            raise DatasetError(f"{ref}: load_mask returned {masks.shape[2]} masks but "
                               f"{class_ids.shape[0]} class ids; they must match one to one")
        if (not np.issubdtype(class_ids.dtype, np.integer) and class_ids.size
                and not np.all(np.mod(class_ids, 1) == 0)):
            raise DatasetError(f"{ref}: class ids must be integers, got {class_ids}")
        class_ids = class_ids.astype(np.int32)
        # Negative ids mark crowd regions (matterport's COCO convention); zero is background.
        bad = np.flatnonzero((class_ids == 0) | (np.abs(class_ids) >= self.num_classes))
        if bad.size:
            i = int(bad[0])
            raise DatasetError(f"{ref}: instance {i} has class id {class_ids[i]}, outside "
                               f"1..{self.num_classes - 1} (the dataset has {self.num_classes} "
                               f"classes, background included)")
        return masks.astype(bool, copy=False), class_ids

    def __len__(self) -> int:
        return len(self.image_info)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__}: {len(self.image_info)} images, "
                f"{len(self.class_info)} classes>")


def __getattr__(name: str):
    if name == "image_path_in_root":
        raise AttributeError("maskrcnn.data.dataset.image_path_in_root moved to "
                             "maskrcnn.data.files.image_path_in_root")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
