"""Which checkpoints of a run stay on disk: ``Config.CHECKPOINTS_KEEP``.

"all" keeps one per epoch (matterport); a number N keeps the newest N and the one with the
lowest validation loss ("last_and_best" is N = 1). A run without validation keeps the newest
N: training loss never ranks. Whatever the policy, a checkpoint that something refers to stays:
the one this training started from, another run's starting point (its ``parent`` attribute)
and one that was evaluated (a ``<checkpoint>_evaluation_<split>`` folder beside it, as
``maskrcnn evaluate`` writes).
"""
from __future__ import annotations

import glob
import os

from ..errors import WeightsError
from .info import read_checkpoint_info


def keep_count(keep) -> int | None:
    """How many of the newest checkpoints ``keep`` (a CHECKPOINTS_KEEP value) keeps; None
    for "all"."""
    if keep == "all":
        return None
    if keep == "last_and_best":
        return 1
    return int(keep)


def parse_keep(text: str):
    """A ``--keep-checkpoints`` value: "all", "last_and_best" or a number."""
    return int(text) if text.strip().isdigit() else text.strip()


def describe_keep(keep, validated: bool) -> str:
    """The policy in words, e.g. "keeping the newest 2 and the best by val_loss"."""
    count = keep_count(keep)
    if count is None:
        return "keeping every epoch's checkpoint (CHECKPOINTS_KEEP='all')"
    newest = "the newest" if count == 1 else f"the newest {count}"
    best = (" and the best by val_loss" if validated
            else " (no validation: none is ranked as best)")
    return (f"keeping {newest}{best}, and any checkpoint evaluated or started from "
            f"(CHECKPOINTS_KEEP={keep!r}; --keep-checkpoints all keeps every epoch)")


def referenced_checkpoints(model_dir: str) -> set[str]:
    """Absolute paths of the checkpoints that runs under ``model_dir`` started from, in
    other run folders (a run resumed in its own folder does not hold on to its old files)."""
    parents = set()
    for path in glob.glob(os.path.join(glob.escape(model_dir), "*", "*.h5")):
        try:
            parent = read_checkpoint_info(path)["parent"]
        except WeightsError:
            continue
        if parent and os.path.dirname(os.path.abspath(parent)) != os.path.dirname(
                os.path.abspath(path)):
            parents.add(os.path.abspath(parent))
    return parents


def was_evaluated(path: str) -> bool:
    """True when an evaluation folder of ``path`` lies beside it
    (``maskrcnn.cli.evaluate.default_output``)."""
    stem = os.path.splitext(os.path.abspath(path))[0]
    return bool(glob.glob(glob.escape(stem) + "_evaluation_*"))
