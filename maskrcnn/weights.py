"""Old name of ``maskrcnn.checkpoint``: the functions that lived here, under their names.

New code imports from ``maskrcnn.checkpoint`` (h5 layout, checkpoint info, downloads, the
ImageNet start, Keras 3 files) or uses ``MaskRCNN`` / ``Checkpointer`` methods.
"""
from .checkpoint.download import (  # noqa: F401
                                  COCO_WEIGHTS_FILE,
                                  COCO_WEIGHTS_URL,
                                  cache_dir,
                                  coco_weights_path,
                                  download,
                                  download_trained_weights,
)
from .checkpoint.h5 import (  # noqa: F401
                                  HEAD_LAYERS,
                                  LoadReport,
                                  assign_by_name,
                                  file_num_classes,
                                  is_complete_h5,
                                  load_weights_by_name,
                                  open_h5,
                                  read_file_weights,
                                  save_weights_h5,
)
from .checkpoint.imagenet import (  # noqa: F401
                                  KERAS_RESNETS,
                                  imagenet_weights_path,
                                  keras_resnet,
                                  keras_resnet_layer_name,
                                  keras_resnet_weights,
)
from .checkpoint.info import (  # noqa: F401
                                  CHECKPOINT_FORMAT,
                                  checkpoint_is_finite,
                                  checkpoint_problem,
                                  is_complete_checkpoint,
                                  read_checkpoint_info,
)
from .checkpoint.keras3 import load_keras3_weights  # noqa: F401
