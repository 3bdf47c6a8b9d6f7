"""The pruner interface: decide from a trial's intermediate values whether to stop it early.

For each trial the study calls, in order:

1. ``trial_group(study, trial)`` once, when the trial is created (``Study.ask``), before the
   sampler sees it. A pruner that runs trials in separate groups (Hyperband's brackets) returns
   the group's id; the study records it in the trial's system attrs under
   :data:`TRIAL_GROUP_ATTR`, where a sampler may read it to learn only from trials of the same
   group (see :func:`same_group`). Every other pruner returns None and nothing is recorded.
2. ``prune(study, trial)`` each time the objective calls ``trial.should_prune()``, with the
   trial's reports so far in ``trial.intermediate_values`` (and, in a multi-objective study,
   the per-step vectors of ``trial.report_values`` in its system attrs).

A pruner's decisions rest on no state of its own: what it must remember goes into the storage, a
rung reached into the trial's system attrs and a value settled for the whole study (an "auto"
resource) into the study's, so several worker processes, and later runs, can share a study.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

#: System attr holding the group id returned by :meth:`BasePruner.trial_group`.
TRIAL_GROUP_ATTR = "pruner_group"


class BasePruner(abc.ABC):
    """Subclass this and implement ``prune``."""

    @abc.abstractmethod
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        """True to stop ``trial`` now. Called by ``trial.should_prune()``;
        ``trial.intermediate_values`` holds its reports."""

    def trial_group(self, study: Study, trial: FrozenTrial) -> str | None:
        """The id of the group ``trial`` competes in, or None when all trials compete together.

        Called once when the trial is created, before any parameter is sampled. It must depend
        only on the study and the trial's number, so every worker computes the same group.
        """
        return None


class NopPruner(BasePruner):
    """Never prunes: the default."""

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return False


def same_group(trials: Iterable[FrozenTrial], trial: FrozenTrial) -> list[FrozenTrial]:
    """The trials of ``trials`` in ``trial``'s pruner group (all of them if it has none).

    A sampler that wants to model only comparable trials (e.g. Hyperband's bracket, where every
    trial gets the same budget before its first cut) filters its history with this.
    """
    group = trial.system_attrs.get(TRIAL_GROUP_ATTR)
    trials = list(trials)
    if group is None:
        return trials
    return [t for t in trials if t.system_attrs.get(TRIAL_GROUP_ATTR) == group]
