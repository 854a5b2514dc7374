"""One exception type per concern, so that notebooks can catch them separately."""


class MaskRCNNError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(MaskRCNNError, ValueError):
    """A Config field has a value the model cannot use; the message says what to change."""


class DatasetError(MaskRCNNError, ValueError):
    """An image, mask or annotation is unusable; the message names the file and the item."""


class WeightsError(MaskRCNNError, ValueError):
    """A weights file is missing, corrupt, or does not fit the model."""


class DiskFullError(WeightsError):
    """A weights file could not be written because its disk (or quota) is full."""


class TrainingDivergedError(MaskRCNNError, FloatingPointError):
    """Training stopped: the loss became non-finite or exploded; the message names the
    learning rate, the epoch and step, and what to change."""


class TrainingInterrupted(MaskRCNNError):
    """Training was stopped by the user (Ctrl-C); ``checkpoint`` is the file saved at the step
    reached (None when nothing was saved)."""

    def __init__(self, message: str, checkpoint: str | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint


class NonFiniteWeightsError(WeightsError):
    """Weights hold NaN or infinity: refused when saving, loading or picking a checkpoint."""


class WorkerLostError(MaskRCNNError, RuntimeError):
    """Multi-worker training stopped because a worker of the cluster died or could not be
    reached; the message names the workers, the last checkpoint and how to resume."""
