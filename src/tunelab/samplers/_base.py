"""The sampler interface.

A sampler decides the parameters of a new trial. For each trial the study calls, in order:

0. ``plan(study, n_trials, n_workers)`` when ``optimize`` starts (not for ask/tell users).
1. ``has_more(study)`` before the trial exists: False ends the study (a finished grid).
2. ``before_trial(study, trial)`` once the trial has its number.
3. On the first ``suggest_*`` call: ``infer_search_space(study, trial)`` gives the parameters
   to draw together, and ``sample_joint(study, trial, space)`` draws them in one go. A declared
   space (``study.ask(space)``) skips step 3's inference and is sampled jointly as given.
4. ``sample_one(study, trial, name, distribution)`` for each parameter that was not drawn
   jointly (seen for the first time, or conditional on an earlier choice).
5. ``after_trial(study, trial)`` once the trial is finished and stored.

Everything a sampler learns comes from ``study.get_trials(...)``, which includes RUNNING trials,
so parallel workers can avoid proposing the point another worker is evaluating.
"""

from __future__ import annotations

import abc
import hashlib
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._space import Distribution

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study


class BaseSampler(abc.ABC):
    """Subclass this and implement ``sample_joint`` and ``sample_one``."""

    #: Maps a finished trial to constraint values (each <= 0 when satisfied). The study calls
    #: it as a COMPLETE or PRUNED trial is told and stores the values in the trial's system
    #: attribute ``constraints``; samplers that take ``constraints_func`` steer by them.
    constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None

    def infer_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, Distribution]:
        """The space to sample jointly. Default: the parameters every finished trial shares."""
        return study._intersection_search_space()

    @abc.abstractmethod
    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        """Return values for (a subset of) ``search_space``; missing names fall to sample_one."""

    @abc.abstractmethod
    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        """Return one value of ``distribution`` for parameter ``name``."""

    def plan(self, study: Study, n_trials: int | None, n_workers: int) -> None:
        """Called when optimize() starts, with its budget (None: open-ended) and parallelism."""

    def has_more(self, study: Study) -> bool:
        """False when the sampler has nothing left to propose (it stops the study)."""
        return True

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Called once a trial exists, before any parameter is drawn."""

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Called once a trial is finished and stored."""

    def describe(self) -> str:
        """One sentence on what this sampler does (shown by ``Study.explain_sampler``)."""
        return f"{type(self).__name__} proposes every trial."

    def __repr__(self) -> str:
        seed = getattr(self, "seed", None)
        return f"{type(self).__name__}(seed={seed!r})"


def fresh_seed() -> int:
    """A random seed for samplers created without one; drawn once so trials stay derivable."""
    return int(np.random.SeedSequence().generate_state(1)[0])


def trial_rng(seed: int, trial_number: int, *keys: str) -> np.random.Generator:
    """A generator determined by (seed, trial number, keys): the same suggestion comes back for
    the same trial however many workers run and in whatever order they ask."""
    entropy = [seed, trial_number] + [zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def trial_uniform(seed: int, trial_number: int, *keys: str) -> float:
    """One uniform draw in [0, 1) determined by (seed, trial number, keys).

    A hash is ~100x cheaper than building a seeded generator, which matters for samplers that
    need a single number per parameter (random search runs thousands of trials per second)."""
    text = "\x1f".join([str(seed), str(trial_number), *keys]).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 11) / float(1 << 53)


def sample_uniform(distribution: Distribution, rng: np.random.Generator) -> Any:
    """One value of ``distribution`` drawn uniformly (in log space for log ranges)."""
    return distribution.from_unit(rng.random())
