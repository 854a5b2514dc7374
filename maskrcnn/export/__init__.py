"""Export a trained model: a SavedModel of the inference graph (any image size) and Keras 3
``.weights.h5``; ``load_saved_model`` runs a SavedModel behind ``detect``."""
from .saved_model import (
                          METADATA_FILE,
                          ServedMaskRCNN,
                          ServedModel,
                          export_keras_weights,
                          export_model,
                          export_saved_model,
                          load_saved_model,
)

__all__ = ["METADATA_FILE", "ServedMaskRCNN", "ServedModel", "export_keras_weights",
           "export_model", "export_saved_model", "load_saved_model"]
