"""Hyperband: several successive-halving brackets that trade many short trials for few long ones."""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING

from .._frozen import TrialState
from .._validation import fail, is_int
from ._base import TRIAL_GROUP_ATTR, BasePruner
from ._common import int_at_least, positive_int, single_direction
from ._successive_halving import asha_prune

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "HyperbandPruner"


class HyperbandPruner(BasePruner):
    """Hyperband (Li et al., JMLR 2018) run asynchronously, one ASHA per bracket.

    There are ``floor(log_eta(max_resource / min_resource)) + 1`` brackets; bracket ``s`` makes
    its first cut at ``min_resource * eta**s``, so bracket 0 stops trials earliest and the last
    bracket never stops them before ``max_resource``. Each trial is assigned to one bracket from
    a hash of the study name and its number, weighted by the number of trials Hyperband gives
    each bracket (more in aggressive brackets), and competes only with trials of its bracket.

    The bracket is the trial's *group*: :meth:`trial_group` returns ``"bracket-<s>"``, which the
    study records in the trial's system attrs, so a sampler may learn from same-bracket trials
    only (``tunelab.pruners.same_group``).

    Args:
        min_resource: steps before the first cut of the most aggressive bracket.
        max_resource: the step count of a full trial, or ``"auto"`` (the longest completed
            trial's last step + 1; until one completes, nothing is pruned).
        reduction_factor: eta, at least 2.
        bootstrap_count: as in :class:`SuccessiveHalvingPruner`; needs an int ``max_resource``.
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: int = 3,
        bootstrap_count: int = 0,
    ) -> None:
        self.min_resource = positive_int(min_resource, "min_resource", OWNER)
        if max_resource != "auto" and (not is_int(max_resource) or max_resource < min_resource):
            raise fail(
                "max_resource",
                OWNER,
                f"an int >= min_resource ({min_resource}) or 'auto'",
                max_resource,
            )
        self.max_resource = max_resource
        self.reduction_factor = int_at_least(reduction_factor, 2, "reduction_factor", OWNER)
        self.bootstrap_count = int_at_least(bootstrap_count, 0, "bootstrap_count", OWNER)
        if self.bootstrap_count > 0 and max_resource == "auto":
            raise fail(
                "bootstrap_count",
                OWNER,
                "0 when max_resource is 'auto'",
                bootstrap_count,
                "Give max_resource as an int to use bootstrap_count.",
            )
        self._budgets: list[int] | None = None
        self._resolved_max: int | None = None if max_resource == "auto" else int(max_resource)

    # -- brackets ------------------------------------------------------------------------------
    def _bracket_budgets(self, study: Study) -> list[int] | None:
        """Trials allotted to each bracket (Hyperband's n_i, up to a common factor)."""
        if self._budgets is None:
            if self._resolved_max is None:
                done = study.get_trials((TrialState.COMPLETE,))
                steps = [t.last_step for t in done if t.last_step is not None]
                if not steps:
                    return None
                self._resolved_max = max(max(steps) + 1, self.min_resource)
            eta = self.reduction_factor
            n = math.floor(math.log(self._resolved_max / self.min_resource, eta) + 1e-9) + 1
            # Bracket s is Hyperband's bracket n-1-s: the aggressive ones get more trials.
            self._budgets = [math.ceil(n * eta ** (n - 1 - s) / (n - s)) for s in range(n)]
        return self._budgets

    def bracket_of(self, study: Study, trial_number: int) -> int | None:
        """The bracket of a trial, or None while ``max_resource='auto'`` is still unknown."""
        budgets = self._bracket_budgets(study)
        if budgets is None:
            return None
        h = zlib.crc32(f"{study.study_name}:{trial_number}".encode()) % sum(budgets)
        for s, budget in enumerate(budgets):
            if h < budget:
                return s
            h -= budget
        raise AssertionError("unreachable: the hash is below the budgets' sum")

    def trial_group(self, study: Study, trial: FrozenTrial) -> str | None:
        s = self.bracket_of(study, trial.number)
        return None if s is None else f"bracket-{s}"

    # -- pruning -------------------------------------------------------------------------------
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, OWNER)
        if trial.last_step is None:
            return False
        s = self.bracket_of(study, trial.number)
        if s is None:
            return False
        if TRIAL_GROUP_ATTR not in trial.system_attrs:
            # Created before the brackets were known (max_resource='auto'): record it now.
            study._set_trial_attr(trial, TRIAL_GROUP_ATTR, f"bracket-{s}", system=True)
        same = [t for t in study.get_trials() if self.bracket_of(study, t.number) == s]
        return asha_prune(
            study,
            trial,
            same,
            direction,
            min_resource=self.min_resource,
            eta=self.reduction_factor,
            rate=s,
            bootstrap_count=self.bootstrap_count,
        )

    @property
    def n_brackets(self) -> int | None:
        return None if self._budgets is None else len(self._budgets)

    def __repr__(self) -> str:
        return (
            f"HyperbandPruner(min_resource={self.min_resource}, "
            f"max_resource={self.max_resource!r}, reduction_factor={self.reduction_factor}, "
            f"bootstrap_count={self.bootstrap_count})"
        )
