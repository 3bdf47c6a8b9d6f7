"""Prune a trial whose best value so far is worse than the median of finished trials' values."""

from __future__ import annotations

from ._percentile import PercentilePruner


class MedianPruner(PercentilePruner):
    """:class:`PercentilePruner` at the 50th percentile: stop a trial that is in the worse half
    of completed trials at the same step.

    Args:
        n_startup_trials: no pruning until this many trials completed.
        n_warmup_steps: no pruning before this step.
        interval_steps: check every this many steps after the warm-up.
        n_min_trials: no pruning at a step that fewer completed trials reported.
    """

    _owner = "MedianPruner"

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__(
            50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials=n_min_trials
        )

    def __repr__(self) -> str:
        return (
            f"MedianPruner(n_startup_trials={self.n_startup_trials}, "
            f"n_warmup_steps={self.n_warmup_steps}, interval_steps={self.interval_steps}, "
            f"n_min_trials={self.n_min_trials})"
        )
