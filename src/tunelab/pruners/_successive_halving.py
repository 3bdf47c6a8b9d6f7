"""Asynchronous successive halving (ASHA): at each rung keep only the top 1/eta of trials."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._frozen import StudyDirection, TrialState
from .._validation import fail, is_int
from ._base import BasePruner
from ._common import int_at_least, is_auto, non_negative_int, settled_in_study, single_direction

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "SuccessiveHalvingPruner"
#: Study system attr holding the step count ``min_resource="auto"`` settled on for the study.
MIN_RESOURCE_ATTR = "sh_min_resource"


def rung_key(rung: int) -> str:
    """System attr recording the value a trial had when it reached ``rung``."""
    return f"sh_rung_{rung}"


def rungs_reached(trial: FrozenTrial) -> int:
    rung = 0
    while rung_key(rung) in trial.system_attrs:
        rung += 1
    return rung


def check_min_resource(value: Any, param: str, owner: str) -> int | None:
    if is_auto(value):
        return None
    if not is_int(value) or value < 1:
        raise fail(param, owner, "a positive int or 'auto'", value)
    return int(value)


def estimate_min_resource(trials: Sequence[FrozenTrial]) -> int | None:
    """'auto': 1% of the longest completed trial (at least 1 step), as Optuna estimates it."""
    last = [
        t.last_step for t in trials if t.state == TrialState.COMPLETE and t.last_step is not None
    ]
    if not last:
        return None
    return max(max(last) // 100, 1)  # type: ignore[type-var]


class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving (Li et al., "A System for Massively Parallel
    Hyperparameter Tuning", 2020).

    Rung ``k`` sits at step ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``.
    When a trial first reports at or past a rung, its value there is recorded in its system
    attrs (``sh_rung_<k>``) and compared with the values every other trial recorded at that rung
    (running and pruned ones included: that is what makes it asynchronous). It goes on only if
    it is in the best ``1 / reduction_factor`` of them; with fewer than ``reduction_factor``
    competitors that means being the best so far. A NaN at a rung prunes. The defaults are
    Optuna's, so ``SuccessiveHalvingPruner()`` makes Optuna's decisions.

    Args:
        min_resource: steps before the first rung, or ``"auto"``: 1% of the longest completed
            trial, settled at the first check after a trial completes (no pruning before) and
            stored in the study's system attrs (``sh_min_resource``), so every worker and every
            resumed run puts the rungs at the same steps.
        reduction_factor: eta, at least 2: the fraction 1/eta promoted and the growth of rungs.
            4 by default, as in Optuna.
        min_early_stopping_rate: s, shifts the first rung to ``min_resource * eta**s``.
        bootstrap_count: a trial is stopped at a rung that fewer than this many other trials
            have reached (so early trials do not promote themselves unopposed).
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        reduction_factor: int = 4,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        self.min_resource = check_min_resource(min_resource, "min_resource", OWNER)
        self.reduction_factor = int_at_least(reduction_factor, 2, "reduction_factor", OWNER)
        self.min_early_stopping_rate = non_negative_int(
            min_early_stopping_rate, "min_early_stopping_rate", OWNER
        )
        self.bootstrap_count = non_negative_int(bootstrap_count, "bootstrap_count", OWNER)

    def min_resource_of(self, study: Study) -> int | None:
        """The first rung's step in ``study``: ``min_resource``, or for ``"auto"`` the value
        settled for the study (None while no trial has completed)."""
        if self.min_resource is not None:
            return self.min_resource
        return settled_in_study(
            study,
            MIN_RESOURCE_ATTR,
            lambda: estimate_min_resource(study.get_trials((TrialState.COMPLETE,), deepcopy=False)),
        )

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, OWNER)
        if trial.last_step is None:
            return False
        min_resource = self.min_resource_of(study)
        if min_resource is None:
            return False
        return asha_prune(
            study,
            trial,
            study.get_trials(deepcopy=False),
            direction,
            min_resource=min_resource,
            eta=self.reduction_factor,
            rate=self.min_early_stopping_rate,
            bootstrap_count=self.bootstrap_count,
        )

    def __repr__(self) -> str:
        min_resource = "auto" if self.min_resource is None else self.min_resource
        return (
            f"SuccessiveHalvingPruner(min_resource={min_resource!r}, "
            f"reduction_factor={self.reduction_factor}, "
            f"min_early_stopping_rate={self.min_early_stopping_rate}, "
            f"bootstrap_count={self.bootstrap_count})"
        )


def asha_prune(
    study: Study,
    trial: FrozenTrial,
    competitors: Sequence[FrozenTrial],
    direction: StudyDirection,
    *,
    min_resource: int,
    eta: int,
    rate: int,
    bootstrap_count: int,
) -> bool:
    """The ASHA decision for ``trial`` against ``competitors`` (Hyperband passes one bracket)."""
    step = trial.last_step
    assert step is not None
    value = trial.intermediate_values[step]
    others = [t for t in competitors if t.number != trial.number]
    rung = rungs_reached(trial)
    while step >= min_resource * eta ** (rate + rung):
        if math.isnan(value):
            return True
        study._set_trial_attr(trial, rung_key(rung), value, system=True)
        key = rung_key(rung)
        rivals = [t.system_attrs[key] for t in others if key in t.system_attrs]
        rivals = [v for v in rivals if not (isinstance(v, float) and math.isnan(v))]
        if len(rivals) < bootstrap_count:
            return True
        if not _in_top_fraction(value, rivals, eta, direction):
            return True
        rung += 1
    return False


def _in_top_fraction(
    value: float, rivals: list[float], eta: int, direction: StudyDirection
) -> bool:
    pool = sorted([*rivals, value], reverse=direction == StudyDirection.MAXIMIZE)
    # Index of the last promotable place; below eta entrants only the best goes on.
    k = max(len(pool) // eta - 1, 0)
    threshold = pool[k]
    return value <= threshold if direction == StudyDirection.MINIMIZE else value >= threshold
