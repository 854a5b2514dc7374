"""The model: backbone, FPN, RPN, proposals, ROIAlign, heads, targets, detection, and the
MaskRCNN class that wires them (``from maskrcnn import model as modellib`` works as
matterport's ``mrcnn.model``)."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # grappler cost-model noise

try:
    import tensorflow  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the machine
    raise ImportError(
        "maskrcnn's model needs TensorFlow 2.16+: pip install 'maskrcnn[cpu]' on a CPU "
        "machine, 'maskrcnn[gpu]' with a GPU (Colab already has it)") from err

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":  # pragma: no cover
    raise ImportError(f"maskrcnn needs Keras on the TensorFlow backend, but Keras uses "
                      f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before "
                      "importing keras")

from .mask_rcnn import MaskRCNN  # noqa: E402
from .network import MaskRCNNNetwork  # noqa: E402

__all__ = ["MaskRCNN", "MaskRCNNNetwork"]
