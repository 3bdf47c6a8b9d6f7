"""Callbacks for ``Study.optimize`` that many programs need."""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING

from ._frozen import TrialState
from ._validation import fail, is_int

if TYPE_CHECKING:
    from ._frozen import FrozenTrial
    from ._study import Study


class MaxTrialsCallback:
    """Stop the study once it holds ``n_trials`` trials in ``states`` (COMPLETE by default), as
    Optuna's ``MaxTrialsCallback``: several workers sharing a study through a storage then stop
    together at a total, whatever each was asked to run. ``states=None`` counts every trial."""

    def __init__(
        self, n_trials: int, states: Container[TrialState] | None = (TrialState.COMPLETE,)
    ) -> None:
        if not is_int(n_trials) or n_trials < 1:
            raise fail("n_trials", "MaxTrialsCallback", "a positive int", n_trials)
        self.n_trials = int(n_trials)
        self.states = states

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        if len(study.get_trials(self.states, deepcopy=False)) >= self.n_trials:
            study.stop()
