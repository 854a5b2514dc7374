"""Keras 3 ``.weights.h5`` and ``.keras`` files of this model (weights only)."""
from __future__ import annotations

import os

from ..errors import WeightsError
from .h5 import open_h5


def load_keras3_weights(keras_model, path: str) -> None:
    """Load a Keras 3 ``.weights.h5`` (or the weights of a ``.keras`` archive) into
    ``keras_model``. Only variables are read: Keras rebuilds no objects from these files."""
    import zipfile
    path = os.fspath(path)
    if path.endswith(".keras"):
        if not (os.path.isfile(path) and zipfile.is_zipfile(path)):
            raise WeightsError(f"{path}: not a .keras archive (missing, truncated or another "
                               "format)")
    else:
        open_h5(path).close()
        if not path.endswith(".weights.h5"):
            raise WeightsError(f"{path}: a Keras 3 weights file; name it *.weights.h5 so "
                               "that Keras reads it in its own layout")
    try:
        keras_model.load_weights(path)
    except (ValueError, KeyError, OSError) as err:
        raise WeightsError(f"{path}: cannot load these Keras 3 weights into this model; a "
                           ".weights.h5 fits only a model of the same config (NUM_CLASSES, "
                           "BACKBONE, head sizes). To change the classes, load a checkpoint "
                           f"or matterport .h5 with exclude=[...] instead ({err})") from None
