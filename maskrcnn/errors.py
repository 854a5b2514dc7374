"""One exception type per concern, so that notebooks can catch them separately."""


class MaskRCNNError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(MaskRCNNError, ValueError):
    """A Config field has a value the model cannot use; the message says what to change."""


class DatasetError(MaskRCNNError, ValueError):
    """An image, mask or annotation is unusable; the message names the file and the item."""


class WeightsError(MaskRCNNError, ValueError):
    """A weights file is missing, corrupt, or does not fit the model."""
