"""What a project checkpoint carries beside its weights: root attributes ``maskrcnn_config``
(JSON), ``class_names`` (JSON), ``epoch``, ``losses`` (JSON: the epoch's Keras losses),
``calibration`` (JSON: how the operating threshold was chosen, see
``maskrcnn.evaluation.calibration``), ``layers`` (the ``layers=`` the weights were trained
with), ``parent`` (the checkpoint the run started from), ``maskrcnn_complete`` and
``maskrcnn_finite``."""
from __future__ import annotations

import json
import os

import h5py
import numpy as np

from ..errors import WeightsError
from .h5 import _all_finite, _text, open_h5

CHECKPOINT_FORMAT = "maskrcnn-checkpoint-1"


def read_checkpoint_info(path: str) -> dict:
    """Config JSON, class names, epoch and losses stored in a project checkpoint (empty values for
    other files). A damaged attribute (class names that are not a JSON list of names, an
    epoch that is not a non-negative integer) raises WeightsError naming file and attribute."""
    path = os.fspath(path)
    with open_h5(path) as f:
        attrs = f.attrs
        config = _checkpoint_attr(attrs, path, "maskrcnn_config", _text)
        class_names = _checkpoint_attr(attrs, path, "class_names", _class_names_attr)
        epoch = _checkpoint_attr(attrs, path, "epoch", _epoch_attr)
        losses = _checkpoint_attr(attrs, path, "losses", _losses_attr)
        calibration = _checkpoint_attr(attrs, path, "calibration", _text)
        layers = _checkpoint_attr(attrs, path, "layers", _text)
        parent = _checkpoint_attr(attrs, path, "parent", _text)
        complete = _checkpoint_attr(attrs, path, "maskrcnn_complete", _flag_attr)
        finite = _checkpoint_attr(attrs, path, "maskrcnn_finite", _flag_attr)
    return {"config": config, "class_names": class_names, "epoch": epoch, "losses": losses,
            "calibration": calibration, "layers": layers, "parent": parent,
            "complete": bool(complete), "finite": finite}


def _checkpoint_attr(attrs, path: str, name: str, parse):
    """``parse(value)`` of attribute ``name`` (None when absent); WeightsError if unusable."""
    try:
        if name not in attrs:
            return None
        return parse(attrs[name])
    except (ValueError, TypeError, OSError, KeyError, UnicodeDecodeError) as err:
        raise WeightsError(f"{path}: checkpoint attribute {name!r} is unusable ({err}); the "
                           "file is damaged or was not written by this package: use another "
                           "checkpoint (an earlier epoch) or rewrite the attribute with "
                           "h5py") from None


def _class_names_attr(value) -> list:
    names = json.loads(_text(value))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"not a JSON list of class names: {_text(value)[:80]!r}")
    return names


def _losses_attr(value) -> dict:
    losses = json.loads(_text(value))
    if not isinstance(losses, dict) or not all(
            isinstance(v, (int, float)) for v in losses.values()):
        raise ValueError(f"not a JSON object of losses: {_text(value)[:80]!r}")
    return {str(k): float(v) for k, v in losses.items()}


def _epoch_attr(value) -> int:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"epoch must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"epoch must not be negative, got {value}")
    return int(value)


def _flag_attr(value) -> bool:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if not isinstance(value, (bool, np.bool_, int, np.integer)):
        raise TypeError(f"expected 0 or 1, got {value!r}")
    return bool(value)


def checkpoint_is_finite(path: str) -> bool:
    """True when every float array of the weights file is finite. Files written by
    ``save_weights_h5`` say so in an attribute (checked when written); others are read."""
    info_finite = read_checkpoint_info(path)["finite"]
    if info_finite is not None:
        return info_finite
    found = []

    def visit(_, obj):
        if (isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fc" and not found
                and not _all_finite(np.asarray(obj))):
            found.append(obj.name)

    try:
        with open_h5(path) as f:
            f.visititems(visit)
    except (OSError, ValueError, TypeError) as err:
        if isinstance(err, WeightsError):
            raise
        raise WeightsError(f"{path}: damaged or truncated weights file ({err})") from None
    return not found


def checkpoint_problem(path: str) -> str | None:
    """Why ``path`` is not a usable project checkpoint (not written to the end, damaged,
    holding NaN or infinite weights), or None when it is usable."""
    try:
        info = read_checkpoint_info(path)
        if not info["complete"]:
            return "not written to the end (no maskrcnn_complete mark)"
        if not checkpoint_is_finite(path):
            return "holds NaN or infinite weights (a diverged training)"
    except WeightsError as err:
        return str(err).removeprefix(f"{os.fspath(path)}: ")
    return None


def is_complete_checkpoint(path: str) -> bool:
    """True for a readable project checkpoint that was written to the end."""
    try:
        return read_checkpoint_info(path)["complete"]
    except WeightsError:
        return False
