"""Uniform random search: the baseline every other sampler must beat."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._constraints import check_constraints_func
from .._space import Distribution
from .._validation import seed_or_none
from ._base import BaseSampler, fresh_seed, trial_uniform

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study


class RandomSampler(BaseSampler):
    """Draws each parameter independently and uniformly (log-uniformly for log ranges).

    A parameter's value depends only on ``(seed, trial number, parameter name)``, so a seeded
    study gives the same suggestions sequentially or in parallel.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        # Recorded on every trial (best_trial and plots use it); the draws ignore it.
        self.constraints_func = check_constraints_func(constraints_func, "RandomSampler")
        self.seed = seed_or_none(seed, "seed", "RandomSampler")
        self._seed = self.seed if self.seed is not None else fresh_seed()

    def infer_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, Distribution]:
        return {}  # nothing to gain from joint draws, and inference costs a pass over trials

    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        return {
            name: self.sample_one(study, trial, name, dist) for name, dist in search_space.items()
        }

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        return distribution.from_unit(trial_uniform(self._seed, trial.number, name))

    def describe(self) -> str:
        return "RandomSampler draws every parameter uniformly at random."
