"""Old name of ``maskrcnn.trainer``: its presets, callbacks and schedules under their names."""
from .trainer import (  # noqa: F401
    DEFAULT_LOSS_LIMIT,  # noqa: F401
    HEADS,
    LAYER_PRESETS,
    CheckpointCallback,
    DivergenceGuard,
    LearningRateWarmup,
    Stage,
    Trainer,
    as_stages,
    coco_schedule,
    layer_regex,
    make_optimizer,
    set_trainable,
)


def train_schedule(model, train_dataset, val_dataset, stages, augmentation=None,
                   warmup_steps: int = 0, custom_callbacks=None, verbose="auto") -> list:
    """Old spelling of ``model.train_schedule(...)``."""
    return model.train_schedule(train_dataset, val_dataset, stages, augmentation, warmup_steps,
                                custom_callbacks, verbose)
