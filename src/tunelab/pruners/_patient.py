"""Defer to another pruner only once a trial's recent reports have fallen behind its earlier best."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._frozen import StudyDirection
from .._validation import fail
from ._base import BasePruner
from ._common import best_of, non_negative_int, non_negative_number, single_direction

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "PatientPruner"


class PatientPruner(BasePruner):
    """Optuna's PatientPruner: let a trial run until its last ``patience + 1`` reports are all
    worse than its best report before them by more than ``min_delta``; then defer to
    ``wrapped_pruner`` (or prune, when that is None: plain early stopping).

    At each check the reports are taken in step order and split into the last ``patience + 1``
    ("recent") and those before them. For minimize the trial may be pruned when
    ``min(before) + min_delta < min(recent)``, for maximize when
    ``max(before) - min_delta > max(recent)``. So a plateau is never pruned (the recent best
    equals the earlier best), nor is a trial that improves however slowly; a trial that declines
    after a peak is pruned once the peak has left the recent window. ``min_delta`` is a
    tolerance: a larger one prunes less. With ``patience + 1`` reports or fewer nothing is
    pruned. NaN reports are ignored; when all reports before the window, or all in it, are NaN
    the trial is not pruned. These are Optuna's rules, so a PatientPruner ported from Optuna
    makes the same decisions. ``PatientPruner(None, 0)`` prunes at the first report worse than
    every earlier one by more than ``min_delta``.

    Args:
        wrapped_pruner: the pruner asked once patience has run out, or None.
        patience: recent reports (besides the latest) that must all fall behind the earlier
            best before the trial may be pruned.
        min_delta: how far behind the earlier best the recent reports must be, at least 0.
    """

    def __init__(
        self, wrapped_pruner: BasePruner | None, patience: int, min_delta: float = 0.0
    ) -> None:
        if wrapped_pruner is not None and not isinstance(wrapped_pruner, BasePruner):
            raise fail("wrapped_pruner", OWNER, "a tunelab pruner or None", wrapped_pruner)
        self.wrapped_pruner = wrapped_pruner
        self.patience = non_negative_int(patience, "patience", OWNER)
        self.min_delta = non_negative_number(min_delta, "min_delta", OWNER)

    def trial_group(self, study: Study, trial: FrozenTrial) -> str | None:
        if self.wrapped_pruner is None:
            return None
        return self.wrapped_pruner.trial_group(study, trial)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, OWNER)
        window = self.patience + 1
        steps = sorted(trial.intermediate_values)
        if len(steps) <= window:
            return False
        values = [trial.intermediate_values[s] for s in steps]
        # best_of skips NaN and is NaN when nothing is left; every comparison with NaN is
        # false, so an all-NaN side never prunes (Optuna's nanmin/nanmax give the same).
        before = best_of(values[:-window], direction)
        recent = best_of(values[-window:], direction)
        if direction == StudyDirection.MINIMIZE:
            fell_behind = before + self.min_delta < recent
        else:
            fell_behind = before - self.min_delta > recent
        if not fell_behind:
            return False
        return True if self.wrapped_pruner is None else self.wrapped_pruner.prune(study, trial)

    def __repr__(self) -> str:
        return (
            f"PatientPruner(wrapped_pruner={self.wrapped_pruner!r}, patience={self.patience}, "
            f"min_delta={self.min_delta!r})"
        )
