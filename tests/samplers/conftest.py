"""What several sampler test modules share."""

from __future__ import annotations

from typing import Any

import pytest

import tunelab as tl
from tunelab.pruners import TRIAL_GROUP_ATTR, HyperbandPruner


def _run_in_brackets(sampler: Any, n_trials: int) -> dict[int, str | None]:
    """Optimize a 9-step curve with ``sampler`` under Hyperband; each trial's bracket."""
    pruner = HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = tl.create_study(sampler=sampler, pruner=pruner)

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", -5, 5)
        for step in range(9):
            trial.report((x - 1) ** 2 + 1 / (step + 1), step)
            if trial.should_prune():
                raise tl.TrialPruned()
        return (x - 1) ** 2

    study.optimize(objective, n_trials=n_trials)
    return {t.number: t.system_attrs.get(TRIAL_GROUP_ATTR) for t in study.trials}


@pytest.fixture
def run_in_brackets() -> Any:
    return _run_in_brackets
