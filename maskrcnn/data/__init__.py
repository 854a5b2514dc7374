"""Datasets: the Dataset API, readers, checks, conversion and the input pipeline.

Shared primitives: :mod:`.dataset` (the Dataset API), :mod:`.image_io`, :mod:`.instances`
(instances before rasterising), :mod:`.problems` (problems and ``ReportingDataset``),
:mod:`.files` (JSON, image paths, the readers' split helpers), :mod:`.polygons` (masks as
polygons). Above them the readers (:mod:`.readers`: coco, via, bdd, openimages, labelme,
yolo, shapes), then :mod:`.archives` (dataset zips), :mod:`.layout` (``open_dataset``),
:mod:`.inspect`, :mod:`.convert`, :mod:`.writers` (a dataset or predictions as COCO, VIA,
LabelMe or YOLO files) and :mod:`.merge` (corrected annotations merged into the originals).
The input pipeline (:mod:`.transforms`, :mod:`.pipeline`) is separate and is not imported
here (it is the only part that may load TensorFlow, and only when called).
"""
import sys

from .archives import safe_extract_zip
from .convert import dataset_to_coco, write_coco_json
from .dataset import Dataset
from .inspect import inspect_dataset, inspect_path
from .layout import open_dataset
from .merge import merge_annotations
from .polygons import join_parts, mask_to_polygons
from .readers import bdd, coco, openimages, shapes, via
from .readers.bdd import load_bdd, load_bdd_bitmasks
from .readers.coco import load_coco
from .readers.labelme import load_labelme
from .readers.openimages import load_openimages, select_images
from .readers.shapes import ShapesDataset
from .readers.via import load_via
from .readers.yolo import load_yolo
from .writers import write_dataset, write_predictions

__all__ = ["Dataset", "ShapesDataset", "load_coco", "load_via", "load_bdd", "load_bdd_bitmasks",
           "load_openimages", "select_images", "inspect_dataset", "inspect_path",
           "dataset_to_coco", "write_coco_json", "open_dataset", "safe_extract_zip",
           "load_labelme", "load_yolo", "write_dataset", "write_predictions",
           "mask_to_polygons", "join_parts", "merge_annotations"]

# The readers' old module paths (``maskrcnn.data.coco`` ...), before they moved to readers/.
for _reader in (bdd, coco, openimages, shapes, via):
    sys.modules.setdefault(f"{__name__}.{_reader.__name__.rsplit('.', 1)[1]}", _reader)
del _reader
