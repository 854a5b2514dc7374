"""maskrcnn: Mask R-CNN on TensorFlow 2.16+ / Keras 3 with matterport's familiar API.

``from maskrcnn import Config, Dataset, MaskRCNN``. The data and evaluation parts import
without TensorFlow; the model needs it (``pip install 'maskrcnn[cpu]'`` or ``[gpu]``).
"""
import importlib.abc
import os
import sys

from . import _tf_startup

# Before anything imports TensorFlow: Keras on TensorFlow, and TensorFlow's C++ log quiet
# (its grappler cost-model warnings fill notebooks otherwise). Both can be set beforehand.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .config import Config
from .data.dataset import Dataset
from .errors import ConfigError, DatasetError, MaskRCNNError, WeightsError

# none of the above imports TensorFlow; its native start-up notices ignore the log level
_tf_startup.install()

__version__ = "0.1.0"
__all__ = ["Config", "Dataset", "MaskRCNN", "ConfigError", "DatasetError", "MaskRCNNError",
           "WeightsError"]


def __getattr__(name):
    if name == "MaskRCNN":
        from .mask_rcnn import MaskRCNN
        return MaskRCNN
    raise AttributeError(f"module 'maskrcnn' has no attribute {name!r}")


# Modules that moved in the redesign; importing one says where its names went.
MOVED_MODULES = {
    "maskrcnn.inference_run": "maskrcnn.inference (state.py: run state and resume; run.py)",
    "maskrcnn.inference_commands": "maskrcnn.cli.detect",
    "maskrcnn.data.commands": "maskrcnn.cli.data",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED_MODULES:
            raise ImportError(f"{fullname} moved: use {MOVED_MODULES[fullname]}",
                              name=fullname)
        return None


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder())
