"""CMA-ES on the numeric part of the search space, with its state kept in the study's storage.

The evolution strategy works in the unit cube that every distribution maps onto, so log-scaled
ranges are searched in log space and all dimensions share one scale. Integer and stepped
dimensions go through the margin variant (CMAwM), which keeps the search from collapsing onto
one grid value. Categorical parameters, and parameters outside the joint space, are drawn at
random.

The optimizer's state is a system attribute of the study, rewritten whenever a generation is
complete, so a study resumed in another process (or by another worker) continues the same run.
Which generation a trial belongs to is a system attribute of the trial. The random draw of a
trial depends only on the sampler's seed, the trial's number and the optimizer's state, so a
seeded study replays identically.
"""

from __future__ import annotations

import base64
import hashlib
import math
import pickle
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._frozen import StudyDirection, TrialState
from .._space import Distribution, Float, Int
from .._validation import fail, is_int, is_real, one_of, seed_or_none
from ._base import BaseSampler, fresh_seed, sample_uniform, trial_rng

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

_OWNER = "CmaEsSampler"
_STATE_ATTR = "cmaes:state:"  # + space key: the optimizer of that space
_TRIAL_KEY_ATTR = "cmaes:space"
_TRIAL_EPOCH_ATTR = "cmaes:epoch"
_TRIAL_X_ATTR = "cmaes:x"
_IPOP_FACTOR = 2


def _import_cmaes() -> Any:
    try:
        import cmaes
    except ImportError as exc:
        raise ImportError(
            "CmaEsSampler needs the 'cmaes' package, which is not installed. "
            "Install it with: pip install 'tunelab[cmaes]'"
        ) from exc
    return cmaes


def _is_discrete(distribution: Distribution) -> bool:
    # Log-scaled integers have unevenly spaced grid points in the unit cube, so the margin
    # variant (which needs an even grid) cannot hold them; they are searched as continuous.
    if isinstance(distribution, Int):
        return not distribution.log
    return isinstance(distribution, Float) and distribution.step is not None


def _n_steps(distribution: Distribution) -> int:
    return int(distribution.n_steps)  # type: ignore[attr-defined]


class _Layout:
    """The CMA-ES coordinates of one joint space: names, bounds, and grid steps."""

    def __init__(self, space: Mapping[str, Distribution]) -> None:
        self.names = sorted(
            n for n, d in space.items() if isinstance(d, (Float, Int)) and not d.is_single()
        )
        self.dists = [space[n] for n in self.names]
        bounds, steps = [], []
        for d in self.dists:
            if _is_discrete(d):
                # Grid values sit at the centres (i + 0.5) / n of the unit interval.
                n = _n_steps(d)
                bounds.append((0.5 / n, 1.0 - 0.5 / n))
                steps.append(1.0 / n)
            else:
                bounds.append((0.0, 1.0))
                steps.append(0.0)
        self.bounds = np.array(bounds, dtype=float).reshape(-1, 2)
        self.steps = np.array(steps, dtype=float)
        text = "|".join(f"{n}={d.to_json()}" for n, d in zip(self.names, self.dists))
        self.key = hashlib.sha1(text.encode()).hexdigest()[:16]

    @property
    def has_discrete(self) -> bool:
        return bool(np.any(self.steps > 0))

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        return {n: d.from_unit(float(u)) for n, d, u in zip(self.names, self.dists, x)}

    def x_for_tell(self, trial: FrozenTrial) -> np.ndarray | None:
        """The point to report for a finished trial: the one it was given, except coordinates
        whose parameter was fixed by the user (an enqueued value), which take that value's."""
        stored = trial.system_attrs.get(_TRIAL_X_ATTR)
        if stored is None or len(stored) != len(self.names):
            return None
        x = np.array(stored, dtype=float)
        for i, (name, d) in enumerate(zip(self.names, self.dists)):
            if name not in trial.params:
                return None
            value = trial.params[name]
            if d.from_unit(float(np.clip(x[i], *self.bounds[i]))) != value:
                x[i] = d.to_unit(value)
        return np.clip(x, self.bounds[:, 0], self.bounds[:, 1])


class CmaEsSampler(BaseSampler):
    """Covariance Matrix Adaptation Evolution Strategy (via the ``cmaes`` package).

    Parameters
    ----------
    seed:
        Makes the suggestions reproducible: a trial's draw depends on the seed, its number and
        the optimizer's state only.
    n_startup_trials:
        Completed trials drawn at random before CMA-ES starts (they also reveal the joint space
        of a define-by-run objective).
    sigma0:
        Initial step size in the unit cube every parameter is mapped onto (default ``1/6``).
    popsize:
        Trials per generation (default ``4 + floor(3 ln d)`` for ``d`` dimensions).
    restart_strategy:
        ``"ipop"`` restarts with a doubled population each time the search converges;
        ``None`` keeps going with the converged search.

    Needs the optional ``cmaes`` package: ``pip install 'tunelab[cmaes]'``.
    """

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int = 1,
        sigma0: float | None = None,
        popsize: int | None = None,
        restart_strategy: str | None = None,
    ) -> None:
        _import_cmaes()
        self.seed = seed_or_none(seed, "seed", _OWNER)
        if not is_int(n_startup_trials) or n_startup_trials < 0:
            raise fail("n_startup_trials", _OWNER, "a non-negative int", n_startup_trials)
        self.n_startup_trials = int(n_startup_trials)
        if sigma0 is not None and (not is_real(sigma0) or not math.isfinite(sigma0) or sigma0 <= 0):
            raise fail("sigma0", _OWNER, "a positive number or None", sigma0)
        self.sigma0 = None if sigma0 is None else float(sigma0)
        if popsize is not None and (not is_int(popsize) or popsize < 2):
            raise fail("popsize", _OWNER, "an int >= 2 or None", popsize)
        self.popsize = None if popsize is None else int(popsize)
        if restart_strategy is not None:
            one_of(restart_strategy, ("ipop",), "restart_strategy", _OWNER)
        self.restart_strategy = restart_strategy
        self._seed = self.seed if self.seed is not None else fresh_seed()
        # (storage, study, space key) -> (epoch, optimizer state record, optimizer)
        self._cache: dict[tuple[int, int, str], tuple[int, dict[str, Any], Any]] = {}
        self._warned_multi = False

    # -- the BaseSampler interface ---------------------------------------------------------------
    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        layout = _Layout(search_space)
        if not layout.names or not self._may_use_cma(study):
            return {}
        if len(study.get_trials((TrialState.COMPLETE,), deepcopy=False)) < self.n_startup_trials:
            return {}
        epoch, record, optimizer = self._optimizer(study, layout)
        optimizer.reseed_rng(self._draw_seed(trial.number, "cmaes-ask"))
        if layout.has_discrete:
            encoded, raw = optimizer.ask()
        else:
            encoded = raw = optimizer.ask()
        study._set_trial_system_attr(trial, _TRIAL_KEY_ATTR, layout.key)
        study._set_trial_system_attr(trial, _TRIAL_EPOCH_ATTR, epoch)
        study._set_trial_system_attr(trial, _TRIAL_X_ATTR, [float(v) for v in raw])
        return layout.decode(encoded)

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        return sample_uniform(distribution, trial_rng(self._seed, trial.number, name))

    def describe(self) -> str:
        restarts = " with IPOP restarts" if self.restart_strategy == "ipop" else ""
        return (
            f"CmaEsSampler evolves a population of points on the numeric parameters{restarts} "
            "after "
            f"{self.n_startup_trials} random trial(s); categorical parameters are drawn at random."
        )

    # -- internals ---------------------------------------------------------------------------------
    def _may_use_cma(self, study: Study) -> bool:
        if len(study.directions) == 1:
            return True
        if not self._warned_multi:
            warnings.warn(
                "CmaEsSampler optimizes one objective; this study has "
                f"{len(study.directions)}, so its parameters are drawn at random.",
                stacklevel=4,
            )
            self._warned_multi = True
        return False

    def _draw_seed(self, number: int, *keys: str) -> int:
        return int(trial_rng(self._seed, number, *keys).integers(2**32))

    def _new_optimizer(self, layout: _Layout, restarts: int, popsize: int | None) -> Any:
        cmaes = _import_cmaes()
        dim = len(layout.names)
        mean = (layout.bounds[:, 0] + layout.bounds[:, 1]) / 2
        sigma = self.sigma0 if self.sigma0 is not None else 1.0 / 6.0
        seed = self._draw_seed(restarts, "cmaes-init", layout.key)
        if popsize is None:
            popsize = 4 + math.floor(3 * math.log(dim))
        if layout.has_discrete:
            return cmaes.CMAwM(
                mean=mean,
                sigma=sigma,
                bounds=layout.bounds,
                steps=layout.steps,
                seed=seed,
                population_size=popsize,
            )
        return cmaes.CMA(
            mean=mean, sigma=sigma, bounds=layout.bounds, seed=seed, population_size=popsize
        )

    def _optimizer(self, study: Study, layout: _Layout) -> tuple[int, dict[str, Any], Any]:
        """The optimizer of this space with every complete generation told to it."""
        cache_key = (id(study.storage), study._study_id, layout.key)
        stored = study.storage.get_study_attrs(study._study_id, system=True).get(
            _STATE_ATTR + layout.key
        )
        cached = self._cache.get(cache_key)
        if stored is not None:
            if cached is None or cached[0] != stored["epoch"]:
                optimizer = pickle.loads(base64.b64decode(stored["optimizer"]))
                cached = (stored["epoch"], stored, optimizer)
        elif cached is None or cached[0] != 0:
            # Nothing stored yet: a fresh optimizer (a cached one that has learned belongs to
            # another study whose storage object happened to reuse this id).
            record = {"epoch": 0, "restarts": 0, "popsize": self.popsize}
            cached = (0, record, self._new_optimizer(layout, 0, self.popsize))
        epoch, record, optimizer = cached

        members = self._generation(study, layout, epoch)
        if len(members) >= optimizer.population_size:
            optimizer = self._tell(study, optimizer, layout, members[: optimizer.population_size])
            epoch += 1
            record = {"epoch": epoch, "restarts": record["restarts"], "popsize": record["popsize"]}
            if self.restart_strategy == "ipop" and optimizer.should_stop():
                record["restarts"] += 1
                record["popsize"] = optimizer.population_size * _IPOP_FACTOR
                optimizer = self._new_optimizer(layout, record["restarts"], record["popsize"])
            record["optimizer"] = base64.b64encode(pickle.dumps(optimizer)).decode("ascii")
            study.storage.set_study_attr(
                study._study_id, _STATE_ATTR + layout.key, record, system=True
            )
        self._cache[cache_key] = (epoch, record, optimizer)
        return epoch, record, optimizer

    @staticmethod
    def _generation(study: Study, layout: _Layout, epoch: int) -> list[FrozenTrial]:
        return [
            t
            for t in study.get_trials((TrialState.COMPLETE,), deepcopy=False)
            if t.system_attrs.get(_TRIAL_KEY_ATTR) == layout.key
            and t.system_attrs.get(_TRIAL_EPOCH_ATTR) == epoch
        ]

    @staticmethod
    def _tell(study: Study, optimizer: Any, layout: _Layout, trials: list[FrozenTrial]) -> Any:
        sign = -1.0 if study.directions[0] == StudyDirection.MAXIMIZE else 1.0
        points, values = [], []
        for t in trials:
            x = layout.x_for_tell(t)
            if x is None:  # pragma: no cover - only a hand-edited trial lacks its point
                continue
            points.append(x)
            values.append(sign * float(t.values[0]))  # type: ignore[index]
        if len(points) == optimizer.population_size:
            optimizer.tell(list(zip(points, _finite_ranks(np.array(values)))))
        return optimizer


def _finite_ranks(values: np.ndarray) -> list[float]:
    """``values`` (to minimise) with infinities replaced by finite stand-ins that keep their
    rank: -inf is the best value there is, +inf (and NaN) the worst.

    cmaes only ranks the values, but it keeps the best and worst of recent generations for
    its termination test, where infinities give inf - inf = NaN (a run stuck on infinite
    values would never count as flat). So each infinity becomes -1e300 or 1e300, or the
    finite extreme on its side when that lies further out.
    """
    finite = values[np.isfinite(values)]
    low = min(-1e300, float(finite.min())) if len(finite) else -1e300
    high = max(1e300, float(finite.max())) if len(finite) else 1e300
    return [float(v) for v in np.nan_to_num(values, nan=high, posinf=high, neginf=low)]
