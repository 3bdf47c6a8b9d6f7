"""Wait until a trial has stopped improving for ``patience`` steps before asking another pruner."""

from __future__ import annotations

import math
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
    """Let a trial run while it still improves; once it has not improved by more than
    ``min_delta`` over its last ``patience`` reports, defer to ``wrapped_pruner`` (or prune, when
    that is None: plain early stopping).

    As in Keras' early stopping, the trial is stalled when the best of its last ``patience``
    reports does not beat the best report before them by more than ``min_delta`` (a plateau
    does not count as improving). ``patience=0`` defers at once, so ``PatientPruner(p, 0)``
    behaves as ``p``; without a wrapped pruner it would stop every trial at its first report,
    so that pair is refused. Optuna's PatientPruner waits one report longer. NaN reports are
    ignored; a trial with only NaN reports counts as not improving.

    Args:
        wrapped_pruner: the pruner asked once patience has run out, or None.
        patience: reports without improvement to tolerate.
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(
        self, wrapped_pruner: BasePruner | None, patience: int, min_delta: float = 0.0
    ) -> None:
        if wrapped_pruner is not None and not isinstance(wrapped_pruner, BasePruner):
            raise fail("wrapped_pruner", OWNER, "a tunelab pruner or None", wrapped_pruner)
        self.wrapped_pruner = wrapped_pruner
        self.patience = non_negative_int(patience, "patience", OWNER)
        if wrapped_pruner is None and self.patience == 0:
            raise fail(
                "patience",
                OWNER,
                "at least 1 when wrapped_pruner is None",
                patience,
                "With nothing to defer to, patience=0 would stop every trial at its first "
                "report; patience=1 stops a trial at its first report that does not improve.",
            )
        self.min_delta = non_negative_number(min_delta, "min_delta", OWNER)

    def trial_group(self, study: Study, trial: FrozenTrial) -> str | None:
        if self.wrapped_pruner is None:
            return None
        return self.wrapped_pruner.trial_group(study, trial)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, OWNER)
        steps = sorted(trial.intermediate_values)
        if len(steps) <= self.patience:
            return False
        values = [trial.intermediate_values[s] for s in steps]
        cut = len(values) - self.patience
        before = best_of(values[:cut], direction)
        recent = best_of(values[cut:], direction)
        if math.isnan(recent):
            stalled = True
        elif math.isnan(before):
            stalled = False
        elif direction == StudyDirection.MINIMIZE:
            stalled = recent >= before - self.min_delta
        else:
            stalled = recent <= before + self.min_delta
        if not stalled:
            return False
        return True if self.wrapped_pruner is None else self.wrapped_pruner.prune(study, trial)

    def __repr__(self) -> str:
        return (
            f"PatientPruner(wrapped_pruner={self.wrapped_pruner!r}, patience={self.patience}, "
            f"min_delta={self.min_delta!r})"
        )
