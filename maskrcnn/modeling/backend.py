"""TensorFlow with Keras on its backend, or a message saying how to install them."""
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
