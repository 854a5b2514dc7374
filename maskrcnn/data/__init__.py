"""Datasets: the Dataset API, readers, checks, conversion and the input pipeline.

The readers are importable from here (``from maskrcnn.data import load_coco``); they are
loaded on first use, so ``import maskrcnn.data`` stays light.
"""
from importlib import import_module

from .dataset import Dataset
from .shapes import ShapesDataset

_LAZY = {
    "load_coco": ".coco", "load_via": ".via", "load_bdd": ".bdd", "load_bdd_bitmasks": ".bdd",
    "load_openimages": ".openimages", "select_images": ".openimages",
    "inspect_dataset": ".inspect", "inspect_path": ".inspect",
    "dataset_to_coco": ".convert", "write_coco_json": ".convert",
    "open_dataset": ".layout", "safe_extract_zip": ".layout",
}

__all__ = ["Dataset", "ShapesDataset", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
