"""Multi-objective pruning: stop a trial whose objective vector is dominated by many others."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._frozen import StudyDirection, TrialState
from .._trial import INTERMEDIATE_VECTORS_ATTR
from .._validation import fail, is_int
from ._base import BasePruner
from ._common import is_check_step, non_negative_int, positive_int

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "ParetoPruner"


def intermediate_vectors(trial: FrozenTrial) -> dict[int, list[float]]:
    """The per-step objective vectors a trial reported with ``Trial.report_values``."""
    raw = trial.system_attrs.get(INTERMEDIATE_VECTORS_ATTR) or {}
    return {int(step): [float(v) for v in vec] for step, vec in raw.items()}


def dominates(a: Sequence[float], b: Sequence[float], signs: Sequence[float]) -> bool:
    """``a`` is no worse than ``b`` in every objective and better in one (NaN is worst)."""
    better = False
    for x, y, s in zip(a, b, signs):
        x = math.inf if math.isnan(x) else s * x
        y = math.inf if math.isnan(y) else s * y
        if x > y:
            return False
        if x < y:
            better = True
    return better


class ParetoPruner(BasePruner):
    """Stop a multi-objective trial whose intermediate vector is Pareto-dominated, at the same
    step, by at least ``min_dominating`` completed trials.

    The objective reports a vector per step with ``trial.report_values([v0, v1, ...], step)``;
    each objective is compared in its own direction. It is the median rule generalised: by
    default (``min_dominating=None``) a trial is stopped when at least half of the completed
    trials that reported at this step dominate it. Among independent random points in two
    objectives a point is dominated by a quarter of the others on average, so being dominated by
    half marks a clearly poor trial; lower it to prune harder. A vector with a NaN is pruned.

    A pruned multi-objective trial has no value unless the objective tells one, so it does not
    enter ``best_trials``.

    Args:
        n_startup_trials: no pruning until this many trials completed.
        n_warmup_steps: no pruning before this step.
        interval_steps: check every this many steps after the warm-up.
        min_dominating: completed trials that must dominate the trial; None for half of those
            that reported at the step (rounded up).
        n_min_trials: no pruning at a step that fewer completed trials reported.
    """

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        min_dominating: int | None = None,
        *,
        n_min_trials: int = 1,
    ) -> None:
        self.n_startup_trials = non_negative_int(n_startup_trials, "n_startup_trials", OWNER)
        self.n_warmup_steps = non_negative_int(n_warmup_steps, "n_warmup_steps", OWNER)
        self.interval_steps = positive_int(interval_steps, "interval_steps", OWNER)
        if min_dominating is not None and (not is_int(min_dominating) or min_dominating < 1):
            raise fail("min_dominating", OWNER, "a positive int or None", min_dominating)
        self.min_dominating = min_dominating
        self.n_min_trials = positive_int(n_min_trials, "n_min_trials", OWNER)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        vectors = intermediate_vectors(trial)
        if not vectors:
            return False
        step = max(vectors)
        if not is_check_step(step, vectors, self.n_warmup_steps, self.interval_steps):
            return False
        mine = vectors[step]
        if len(mine) != len(study.directions):
            raise fail(
                "values",
                "Trial.report_values",
                f"a list of {len(study.directions)} numbers (one per objective)",
                mine,
            )
        if any(math.isnan(v) for v in mine):
            return True
        completed = study.get_trials((TrialState.COMPLETE,), deepcopy=False)
        if not completed or len(completed) < self.n_startup_trials:
            return False
        others = [intermediate_vectors(t).get(step) for t in completed if t.number != trial.number]
        at_step = [v for v in others if v is not None and len(v) == len(mine)]
        if len(at_step) < self.n_min_trials or not at_step:
            return False
        needed = self.min_dominating or math.ceil(len(at_step) / 2)
        signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in study.directions]
        n_dominating = sum(dominates(v, mine, signs) for v in at_step)
        return n_dominating >= needed

    def __repr__(self) -> str:
        return (
            f"ParetoPruner(n_startup_trials={self.n_startup_trials}, "
            f"n_warmup_steps={self.n_warmup_steps}, interval_steps={self.interval_steps}, "
            f"min_dominating={self.min_dominating!r}, n_min_trials={self.n_min_trials})"
        )
