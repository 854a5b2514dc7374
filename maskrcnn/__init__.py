"""maskrcnn: Mask R-CNN on TensorFlow 2.16+ / Keras 3 with matterport's familiar API.

``from maskrcnn import Config, Dataset, MaskRCNN``. The data and evaluation parts import
without TensorFlow; the model needs it (``pip install 'maskrcnn[cpu]'`` or ``[gpu]``).
"""
from .config import Config
from .data.dataset import Dataset
from .errors import ConfigError, DatasetError, MaskRCNNError, WeightsError

__version__ = "0.1.0"
__all__ = ["Config", "Dataset", "MaskRCNN", "ConfigError", "DatasetError", "MaskRCNNError",
           "WeightsError"]


def __getattr__(name):
    if name == "MaskRCNN":
        from .model import MaskRCNN
        return MaskRCNN
    raise AttributeError(f"module 'maskrcnn' has no attribute {name!r}")
