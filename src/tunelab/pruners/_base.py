"""The pruner interface: decide from a trial's intermediate values whether to stop it early."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study


class BasePruner(abc.ABC):
    """Called by ``trial.should_prune()`` with the trial's values reported so far."""

    @abc.abstractmethod
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        """True to stop ``trial`` now. ``trial.intermediate_values`` holds its reports."""


class NopPruner(BasePruner):
    """Never prunes: the default."""

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return False
