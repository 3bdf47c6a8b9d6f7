"""Prune a trial whose best value so far is worse than a percentile of finished trials' values."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .._frozen import StudyDirection, TrialState
from ._base import BasePruner
from ._common import (
    best_of,
    is_check_step,
    non_negative_int,
    number_in,
    positive_int,
    single_direction,
)

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study


class PercentilePruner(BasePruner):
    """Keep a trial only while it is within the best ``percentile`` percent at its step.

    At a check step ``s`` the trial's best value so far is compared with the ``percentile``-th
    percentile of the values that completed trials reported at ``s`` (the best tail: low values
    when minimizing, high ones when maximizing). Using the trial's best so far, as Optuna does,
    keeps one noisy step from killing a good trial. A trial whose reports are all NaN is pruned;
    NaN reports of other trials are ignored.

    Args:
        percentile: in [0, 100]; 25 keeps trials in the best quarter, 50 is the median rule.
        n_startup_trials: no pruning until this many trials completed.
        n_warmup_steps: no pruning before this step.
        interval_steps: check every this many steps after the warm-up.
        n_min_trials: no pruning at a step that fewer completed trials reported.
    """

    _owner = "PercentilePruner"

    def __init__(
        self,
        percentile: float,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        owner = self._owner
        self.percentile = number_in(percentile, 0.0, 100.0, "percentile", owner)
        self.n_startup_trials = non_negative_int(n_startup_trials, "n_startup_trials", owner)
        self.n_warmup_steps = non_negative_int(n_warmup_steps, "n_warmup_steps", owner)
        self.interval_steps = positive_int(interval_steps, "interval_steps", owner)
        self.n_min_trials = positive_int(n_min_trials, "n_min_trials", owner)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, self._owner)
        step = trial.last_step
        if step is None:
            return False
        if not is_check_step(
            step, trial.intermediate_values, self.n_warmup_steps, self.interval_steps
        ):
            return False
        completed = study.get_trials((TrialState.COMPLETE,), deepcopy=False)
        if not completed or len(completed) < self.n_startup_trials:
            return False
        best = best_of(trial.intermediate_values.values(), direction)
        if math.isnan(best):
            return True
        at_step = [
            t.intermediate_values[step]
            for t in completed
            if step in t.intermediate_values and not math.isnan(t.intermediate_values[step])
        ]
        if len(at_step) < self.n_min_trials or not at_step:
            return False
        q = self.percentile if direction == StudyDirection.MINIMIZE else 100.0 - self.percentile
        cut = float(np.percentile(np.asarray(at_step, dtype=float), q))
        return best > cut if direction == StudyDirection.MINIMIZE else best < cut

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(percentile={self.percentile!r}, "
            f"n_startup_trials={self.n_startup_trials}, n_warmup_steps={self.n_warmup_steps}, "
            f"interval_steps={self.interval_steps}, n_min_trials={self.n_min_trials})"
        )
