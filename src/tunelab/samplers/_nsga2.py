"""NSGA-II (Deb et al., 2002), the evolutionary multi-objective sampler, trial by trial.

Trials are grouped into generations of ``population_size`` completed trials; each trial records
its generation in the system attribute ``nsga2:generation``. The parents of generation ``g`` are
the elite of generation ``g - 1``'s parents and children together: sorted by non-dominated
front, then by crowding distance. A child takes two parents chosen by binary tournament on that
order, mixes them by crossover (uniform, or simulated binary on numeric parameters) and
mutates each parameter with probability ``mutation_prob`` by drawing it afresh.

With constraints (``constraints_func`` or ``Trial.set_constraint``) the sort uses constrained
domination: feasible trials first (by front), then infeasible ones by total violation, so a
generation leans toward the feasible region before it spreads along the front. A trial without
constraint values is feasible, as for ``best_trials``. Parameters outside the space every
finished trial shares (conditional ones) and generation 0 are drawn at random.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._constraints import check_constraints_func, is_feasible, violation
from .._frozen import StudyDirection, TrialState
from .._pareto import rank_fronts
from .._space import Categorical, Distribution
from .._validation import fail, is_int, is_real, one_of, seed_or_none
from ._base import BaseSampler, fresh_seed, sample_uniform, trial_rng

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

GENERATION_ATTR = "nsga2:generation"
_OWNER = "NSGAIISampler"
# Spread of simulated binary crossover: larger keeps children closer to their parents
# (Deb and Agrawal's usual 15 for real-coded NSGA-II).
_SBX_ETA = 15.0


class NSGAIISampler(BaseSampler):
    """Non-dominated sorting genetic algorithm II for one or more objectives.

    ``population_size`` completed trials form a generation; ``mutation_prob`` (default
    ``1 / number of parameters``) is each parameter's chance of being drawn afresh;
    ``crossover`` is ``"uniform"`` (each parameter from either parent, the second parent's with
    ``swapping_prob``) or ``"sbx"`` (simulated binary crossover on float and int parameters,
    uniform on categorical ones), applied with ``crossover_prob`` (otherwise the child copies
    its first parent before mutation).
    """

    def __init__(
        self,
        *,
        population_size: int = 50,
        mutation_prob: float | None = None,
        crossover: str = "uniform",
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        seed: int | None = None,
    ) -> None:
        if not is_int(population_size) or population_size < 2:
            raise fail("population_size", _OWNER, "an int >= 2", population_size)
        if mutation_prob is not None and not _is_probability(mutation_prob):
            raise fail("mutation_prob", _OWNER, "None or a number in [0, 1]", mutation_prob)
        for label, p in (("crossover_prob", crossover_prob), ("swapping_prob", swapping_prob)):
            if not _is_probability(p):
                raise fail(label, _OWNER, "a number in [0, 1]", p)
        self.population_size = int(population_size)
        self.mutation_prob = None if mutation_prob is None else float(mutation_prob)
        self.crossover = one_of(crossover, ("uniform", "sbx"), "crossover", _OWNER)
        self.crossover_prob = float(crossover_prob)
        self.swapping_prob = float(swapping_prob)
        self.constraints_func = check_constraints_func(constraints_func, _OWNER)
        self.seed = seed_or_none(seed, "seed", _OWNER)
        self._seed = self.seed if self.seed is not None else fresh_seed()
        self._init_caches()

    def _init_caches(self) -> None:
        # Per (storage, study): generation -> its parents' trial ids, best first. A generation's
        # parents are fixed once its first trial exists.
        self._parents: dict[tuple[int, int], dict[int, list[int]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_parents")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    # -- the sampler interface -------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        study._set_trial_system_attr(trial, GENERATION_ATTR, self._next_generation(study))

    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        generation = trial.system_attrs.get(GENERATION_ATTR, 0)
        names = sorted(n for n, d in search_space.items() if not d.is_single())
        if generation == 0 or not names:
            return {}
        by_id = {t.trial_id: t for t in study.get_trials((TrialState.COMPLETE,), deepcopy=False)}
        parents = [by_id[i] for i in self._parents_of(study, generation) if i in by_id]
        parents = [p for p in parents if all(n in p.params for n in names)]
        if len(parents) < 2:
            return {}
        rng = trial_rng(self._seed, trial.number, "nsga2")
        first, second = (parents[self._tournament(rng, len(parents))] for _ in range(2))
        child = self._cross(rng, first, second, {n: search_space[n] for n in names})
        mutation = self.mutation_prob if self.mutation_prob is not None else 1.0 / len(names)
        # A mutated parameter is left out here and drawn at random by sample_one.
        return {n: v for n, v in child.items() if rng.random() >= mutation}

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        return sample_uniform(distribution, trial_rng(self._seed, trial.number, "nsga2", name))

    def describe(self) -> str:
        return (
            f"NSGAIISampler evolves generations of {self.population_size} trials: parents "
            "chosen by non-dominated rank and crowding, children by crossover and mutation."
        )

    def __repr__(self) -> str:
        return (
            f"NSGAIISampler(population_size={self.population_size}, "
            f"crossover={self.crossover!r}, seed={self.seed!r})"
        )

    # -- generations -----------------------------------------------------------------------
    def _next_generation(self, study: Study) -> int:
        trials = study.get_trials(deepcopy=False)
        generations = [t.system_attrs.get(GENERATION_ATTR) for t in trials]
        known = [g for g in generations if g is not None]
        if not known:
            return 0
        latest = max(known)
        done = sum(
            1 for t, g in zip(trials, generations) if g == latest and t.state == TrialState.COMPLETE
        )
        return latest + 1 if done >= self.population_size else latest

    def _parents_of(self, study: Study, generation: int) -> list[int]:
        """Trial ids of ``generation``'s parents, best first (computed forward from the first
        generation, each step's result kept)."""
        cache = self._parents.setdefault((id(study._storage), study._study_id), {})
        if generation in cache:
            return cache[generation]
        done = study.get_trials((TrialState.COMPLETE,), deepcopy=False)
        by_generation: dict[int, list[FrozenTrial]] = {}
        for t in done:
            g = t.system_attrs.get(GENERATION_ATTR)
            if g is not None:
                by_generation.setdefault(g, []).append(t)
        by_id = {t.trial_id: t for t in done}
        population: list[FrozenTrial] = []
        for g in range(1, generation + 1):
            if g in cache:
                population = [by_id[i] for i in cache[g] if i in by_id]
                continue
            pool = {t.trial_id: t for t in population + by_generation.get(g - 1, [])}
            population = self._elite(study, list(pool.values()))
            cache[g] = [t.trial_id for t in population]
        return cache[generation]

    def _elite(self, study: Study, pool: list[FrozenTrial]) -> list[FrozenTrial]:
        """The best ``population_size`` of ``pool``, best first, by constrained domination."""
        pool = sorted(pool, key=lambda t: t.number)  # ties by trial number, not arrival
        signs = np.array([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in study.directions])
        # A trial without constraint values is feasible, as for best_trials (so every trial of
        # an unconstrained study is); infeasible ones follow by total violation, least first.
        feasible = [t for t in pool if is_feasible(t)]
        infeasible = sorted(
            (t for t in pool if not is_feasible(t)), key=lambda t: violation(t) or 0.0
        )
        values = np.array([signs * np.asarray(t.values, dtype=float) for t in feasible])
        values = np.nan_to_num(values.reshape(len(feasible), len(signs)), nan=math.inf)
        order = rank_fronts(values, self.population_size)
        ranked = [feasible[i] for i in order] + infeasible
        return ranked[: self.population_size]

    @staticmethod
    def _tournament(rng: np.random.Generator, n: int) -> int:
        # The population is sorted best first, so the better of two is the smaller index.
        return int(min(rng.integers(n), rng.integers(n)))

    # -- variation -------------------------------------------------------------------------
    def _cross(
        self,
        rng: np.random.Generator,
        first: FrozenTrial,
        second: FrozenTrial,
        space: Mapping[str, Distribution],
    ) -> dict[str, Any]:
        if rng.random() >= self.crossover_prob:
            return {n: first.params[n] for n in space}
        child = {}
        for name, dist in space.items():
            a, b = first.params[name], second.params[name]
            if self.crossover == "sbx" and not isinstance(dist, Categorical):
                child[name] = _sbx(rng, dist, a, b)
            else:
                child[name] = b if rng.random() < self.swapping_prob else a
        return child


def _sbx(rng: np.random.Generator, dist: Distribution, a: Any, b: Any) -> Any:
    """Simulated binary crossover of one numeric parameter, in the distribution's unit
    coordinates (so log ranges cross in log space); returns one of the two children."""
    x, y = dist.to_unit(a), dist.to_unit(b)
    u = rng.random()
    beta = (
        (2 * u) ** (1 / (_SBX_ETA + 1)) if u <= 0.5 else (1 / (2 * (1 - u))) ** (1 / (_SBX_ETA + 1))
    )
    sign = 1.0 if rng.random() < 0.5 else -1.0
    child = 0.5 * ((x + y) + sign * beta * (y - x))
    return dist.from_unit(min(1.0, max(0.0, child)))


def _is_probability(p: Any) -> bool:
    return is_real(p) and math.isfinite(p) and 0.0 <= p <= 1.0
