"""Datasets: the Dataset API, readers, checks, conversion and the input pipeline."""
from .dataset import Dataset
from .shapes import ShapesDataset

__all__ = ["Dataset", "ShapesDataset"]
