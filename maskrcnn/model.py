"""matterport's ``mrcnn.model`` (``modellib``): ``from maskrcnn import model as modellib`` and
``modellib.MaskRCNN(mode=..., config=..., model_dir=...)`` as in matterport's notebooks.

The class is ``maskrcnn.mask_rcnn.MaskRCNN``; the network's parts live in
``maskrcnn.modeling``. Their old module paths (``maskrcnn.model.anchors``, ...) still import,
as aliases of the ``maskrcnn.modeling`` modules.
"""
import importlib
import pkgutil
import sys

from . import mask_rcnn, modeling
from .data.transforms import mold_image, unmold_image  # noqa: F401  (matterport's names)
from .mask_rcnn import MaskRCNN
from .modeling.network import MaskRCNNNetwork

__all__ = ["MaskRCNN", "MaskRCNNNetwork", "mold_image", "unmold_image"]

for _info in pkgutil.iter_modules(modeling.__path__):
    sys.modules.setdefault(f"{__name__}.{_info.name}",
                           importlib.import_module(f"{modeling.__name__}.{_info.name}"))
sys.modules.setdefault(f"{__name__}.mask_rcnn", mask_rcnn)  # where MaskRCNN used to live
