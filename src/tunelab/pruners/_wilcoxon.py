"""Prune a trial whose per-instance values are significantly worse than the best trial's."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

from .._frozen import StudyDirection
from ._base import BasePruner
from ._common import int_at_least, number_in, single_direction

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "WilcoxonPruner"


class WilcoxonPruner(BasePruner):
    """For objectives that average over instances (folds, datasets, seeds, problem instances):
    report each instance's value with its index as the step, and stop the trial as soon as a
    one-sided paired Wilcoxon signed-rank test says it is worse than the current best trial on
    the instances both evaluated.

    Evaluate instances in the same order (or at least with the same step ids) in every trial:
    only steps both trials reported are paired. A trial whose mean on the shared steps is at
    least as good as the best trial's is never pruned, whatever the test says. As in Optuna, a
    non-finite value (NaN or infinity) among *any* of this trial's reports or the best trial's
    reports, not only at the shared steps, means no pruning at this check, with a warning: the
    best trial's mean is then undefined, and a rank test cannot order such values.

    Note that a pruned trial's stored value is its last report (one instance), not a mean.

    Args:
        p_threshold: prune when the p-value is below this, in [0, 1]. Lower prunes less.
        n_startup_steps: shared steps needed before testing (at least 2 are always needed).
            The test itself needs more: with n shared steps the smallest one-sided p-value is
            2**-n, so the default ``p_threshold=0.1`` can prune from the 4th shared step on
            (5-fold CV saves at most one fold); a higher threshold prunes earlier.
    """

    def __init__(self, p_threshold: float = 0.1, n_startup_steps: int = 2) -> None:
        self.p_threshold = number_in(p_threshold, 0.0, 1.0, "p_threshold", OWNER)
        self.n_startup_steps = int_at_least(n_startup_steps, 0, "n_startup_steps", OWNER)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, OWNER)
        if not trial.intermediate_values:
            return False
        try:
            best = study.best_trial
        except ValueError:
            return False
        if best.number == trial.number:
            return False
        # Every report of either trial counts, not only the shared steps, as in Optuna.
        if not all(math.isfinite(v) for v in trial.intermediate_values.values()):
            return _non_finite(f"trial {trial.number}")
        if not all(math.isfinite(v) for v in best.intermediate_values.values()):
            return _non_finite(f"the best trial (trial {best.number})")
        shared = sorted(set(trial.intermediate_values) & set(best.intermediate_values))
        if len(shared) < max(2, self.n_startup_steps):
            return False
        mine = [trial.intermediate_values[s] for s in shared]
        theirs = [best.intermediate_values[s] for s in shared]
        sign = 1.0 if direction == StudyDirection.MINIMIZE else -1.0
        # Positive differences mean this trial is worse, whatever the direction.
        diffs = [sign * (a - b) for a, b in zip(mine, theirs)]
        if sum(diffs) <= 0:
            return False
        from scipy.stats import wilcoxon

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small samples: scipy warns about exactness
            p = float(wilcoxon(diffs, alternative="greater", zero_method="zsplit").pvalue)
        return not math.isnan(p) and p < self.p_threshold

    def __repr__(self) -> str:
        return f"WilcoxonPruner(p_threshold={self.p_threshold!r}, n_startup_steps={self.n_startup_steps})"


def _non_finite(whose: str) -> bool:
    """Warn that ``whose`` reported a non-finite value; the answer (do not prune) for prune."""
    warnings.warn(
        f"WilcoxonPruner: {whose} has a non-finite intermediate value (NaN or infinity); "
        "the current trial is not pruned at this step.",
        stacklevel=4,
    )
    return False
