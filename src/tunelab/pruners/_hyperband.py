"""Hyperband: several successive-halving brackets that trade many short trials for few long ones."""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING

from .._frozen import TrialState
from .._validation import fail, is_int, seed_or_none
from ._base import TRIAL_GROUP_ATTR, BasePruner
from ._common import int_at_least, is_auto, positive_int, settled_in_study, single_direction
from ._successive_halving import asha_prune

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "HyperbandPruner"
#: Study system attr holding the step count ``max_resource="auto"`` settled on for the study.
MAX_RESOURCE_ATTR = "hyperband_max_resource"
BRACKET_PREFIX = "bracket-"


def recorded_bracket(trial: FrozenTrial) -> int | None:
    """The bracket recorded in the trial's group, or None (none yet, or another pruner's)."""
    group = trial.system_attrs.get(TRIAL_GROUP_ATTR)
    if not isinstance(group, str) or not group.startswith(BRACKET_PREFIX):
        return None
    digits = group[len(BRACKET_PREFIX) :]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def longest_completed(study: Study) -> int | None:
    """'auto' max_resource: the longest completed trial's last step + 1 (None before one)."""
    done = study.get_trials((TrialState.COMPLETE,), deepcopy=False)
    steps = [t.last_step for t in done if t.last_step is not None]
    return max(steps) + 1 if steps else None


class HyperbandPruner(BasePruner):
    """Hyperband (Li et al., JMLR 2018) run asynchronously, one ASHA per bracket.

    There are ``floor(log_eta(max_resource / min_resource)) + 1`` brackets; bracket ``s`` makes
    its first cut at ``min_resource * eta**s``, so bracket 0 stops trials earliest and the last
    bracket latest, at the largest ``min_resource * eta**k`` that is at most ``max_resource``.
    Only when ``max_resource`` is exactly that step (27 for ``min_resource=1, eta=3``) does the
    last bracket let every trial run to ``max_resource``; with ``max_resource=20`` it still
    cuts at step 9. Each trial is assigned to one bracket from a hash of its number (and
    ``seed``), weighted by the number of trials Hyperband gives each bracket (more in
    aggressive brackets), and competes only with trials of its bracket.

    The bracket is the trial's *group*: :meth:`trial_group` returns ``"bracket-<s>"``, which the
    study records in the trial's system attrs, so a sampler may learn from same-bracket trials
    only (``tunelab.pruners.same_group``). The recorded bracket is the trial's for good: rivals
    are found by it, and a resumed study keeps it whatever the hash says now.

    Args:
        min_resource: steps before the first cut of the most aggressive bracket.
        max_resource: the step count of a full trial, or ``"auto"``: the longest completed
            trial's last step + 1, settled the first time a trial is asked or checked after one
            completes (until then, nothing is pruned) and stored in the study's system attrs
            (``hyperband_max_resource``), so every worker and every resumed run has the same
            brackets.
        reduction_factor: eta, at least 2.
        bootstrap_count: as in :class:`SuccessiveHalvingPruner`; needs an int ``max_resource``.
        seed: mixed into the bracket hash; the same seed (or none) gives the same brackets in
            every run. A trial's bracket is drawn once, by the process that asks it, and
            recorded, so workers agree on it even with different seeds.
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: int = 3,
        bootstrap_count: int = 0,
        *,
        seed: int | None = None,
    ) -> None:
        self.min_resource = positive_int(min_resource, "min_resource", OWNER)
        auto = is_auto(max_resource)
        if not auto and (not is_int(max_resource) or max_resource < min_resource):
            raise fail(
                "max_resource",
                OWNER,
                f"an int >= min_resource ({min_resource}) or 'auto'",
                max_resource,
            )
        self.max_resource: int | str = "auto" if auto else int(max_resource)
        self.reduction_factor = int_at_least(reduction_factor, 2, "reduction_factor", OWNER)
        self.bootstrap_count = int_at_least(bootstrap_count, 0, "bootstrap_count", OWNER)
        if self.bootstrap_count > 0 and auto:
            raise fail(
                "bootstrap_count",
                OWNER,
                "0 when max_resource is 'auto'",
                bootstrap_count,
                "Give max_resource as an int to use bootstrap_count.",
            )
        self.seed = seed_or_none(seed, "seed", OWNER)
        self._budgets = None if auto else self._budgets_for(int(max_resource))

    # -- brackets ------------------------------------------------------------------------------
    def _budgets_for(self, max_resource: int) -> list[int]:
        """Trials allotted to each bracket (Hyperband's n_i, up to a common factor)."""
        eta = self.reduction_factor
        ratio = max(max_resource, self.min_resource) / self.min_resource
        n = math.floor(math.log(ratio, eta) + 1e-9) + 1
        # Bracket s is Hyperband's bracket n-1-s: the aggressive ones get more trials.
        return [math.ceil(n * eta ** (n - 1 - s) / (n - s)) for s in range(n)]

    def _bracket_budgets(self, study: Study) -> list[int] | None:
        if not is_auto(self.max_resource):
            return self._budgets
        max_resource = settled_in_study(study, MAX_RESOURCE_ATTR, lambda: longest_completed(study))
        if max_resource is None:
            return None
        # Kept for n_brackets only: decisions always start from the study's stored value.
        self._budgets = self._budgets_for(max_resource)
        return self._budgets

    def _hash(self, trial_number: int) -> int:
        # Not the study name: the default one is random, so identical seeded runs of an
        # unnamed study got different brackets, and so different results.
        key = str(trial_number) if self.seed is None else f"{self.seed}:{trial_number}"
        return zlib.crc32(key.encode())

    def bracket_of(self, study: Study, trial_number: int) -> int | None:
        """The bracket the hash gives trial ``trial_number``, or None while
        ``max_resource='auto'`` is still unknown. A trial whose bracket is recorded keeps that
        one (see :func:`recorded_bracket`)."""
        budgets = self._bracket_budgets(study)
        if budgets is None:
            return None
        h = self._hash(trial_number) % sum(budgets)
        for s, budget in enumerate(budgets):
            if h < budget:
                return s
            h -= budget
        raise AssertionError("unreachable: the hash is below the budgets' sum")

    def trial_group(self, study: Study, trial: FrozenTrial) -> str | None:
        s = recorded_bracket(trial)
        if s is None:
            s = self.bracket_of(study, trial.number)
        return None if s is None else f"{BRACKET_PREFIX}{s}"

    # -- pruning -------------------------------------------------------------------------------
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        direction = single_direction(study, OWNER)
        if trial.last_step is None:
            return False
        s = recorded_bracket(trial)
        if s is None:
            s = self.bracket_of(study, trial.number)
            if s is None:
                return False
            # Asked before the brackets were known (max_resource='auto'): recorded before its
            # first rung value, so every trial holding rung values has its bracket on record.
            study._set_trial_attr(trial, TRIAL_GROUP_ATTR, f"{BRACKET_PREFIX}{s}", system=True)
        group = trial.system_attrs[TRIAL_GROUP_ATTR]
        # Rivals by their recorded bracket: one recomputed here could differ from the one they
        # were judged in (a study resumed from an older tunelab, another seed in a worker).
        same = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.system_attrs.get(TRIAL_GROUP_ATTR) == group
        ]
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
        """The number of brackets; with ``max_resource='auto'``, in the study this pruner last
        settled it for (None before that)."""
        return None if self._budgets is None else len(self._budgets)

    def __repr__(self) -> str:
        return (
            f"HyperbandPruner(min_resource={self.min_resource}, "
            f"max_resource={self.max_resource!r}, reduction_factor={self.reduction_factor}, "
            f"bootstrap_count={self.bootstrap_count}, seed={self.seed!r})"
        )
