"""Quasi-random search with a scrambled Sobol sequence: random search with fewer gaps."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._constraints import check_constraints_func
from .._space import Distribution
from .._validation import fail, plain_scalar, seed_or_none
from ._base import BaseSampler, fresh_seed

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study


class QMCSampler(BaseSampler):
    """Scrambled Sobol points: trial ``n`` takes point ``n`` of the sequence.

    The joint space is the declared one (``study.ask(space)``) or, for define-by-run
    objectives, the parameters every finished trial shares; a parameter outside it gets point
    ``n`` of its own one-dimensional scrambled sequence, which still spreads evenly.
    """

    def __init__(
        self,
        seed: int | None = None,
        scramble: bool = True,
        *,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        # Recorded on every trial (best_trial and plots use it); the draws ignore it.
        self.constraints_func = check_constraints_func(constraints_func, "QMCSampler")
        self.seed = seed_or_none(seed, "seed", "QMCSampler")
        scramble = plain_scalar(scramble)
        if not isinstance(scramble, bool):
            # A quoted "false" (a job file, a command line) is truthy: taken as given, it
            # meant a scrambled sequence.
            raise fail("scramble", "QMCSampler", "True or False", scramble)
        self.scramble = scramble
        self._seed = self.seed if self.seed is not None else fresh_seed()
        self._engines: dict[tuple[str, ...], tuple[Any, int]] = {}

    def _point(self, names: tuple[str, ...], index: int) -> np.ndarray:
        from scipy.stats import qmc

        key_seed = zlib.crc32("\x00".join(names).encode()) ^ self._seed
        engine, position = self._engines.get(names, (None, 0))
        if engine is None or index < position:
            engine = qmc.Sobol(d=len(names), scramble=self.scramble, seed=key_seed)
            position = 0
        if index > position:
            engine.fast_forward(index - position)
        point = engine.random(1)[0]
        self._engines[names] = (engine, index + 1)
        return point

    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        return self.point_at(search_space, trial.number)

    def point_at(self, search_space: Mapping[str, Distribution], index: int) -> dict[str, Any]:
        """Point ``index`` of the sequence for ``search_space`` (trial ``n`` takes point ``n``)."""
        names = tuple(sorted(n for n, d in search_space.items() if not d.is_single()))
        if not names:
            return {}
        point = self._point(names, index)
        return {name: search_space[name].from_unit(u) for name, u in zip(names, point)}

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        return distribution.from_unit(self._point((name,), trial.number)[0])

    def describe(self) -> str:
        return "QMCSampler spreads trials evenly with a scrambled Sobol sequence."
