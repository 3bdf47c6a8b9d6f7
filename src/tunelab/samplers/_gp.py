"""Gaussian-process Bayesian optimisation on numpy and scipy (no torch)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._constraints import check_constraints_func
from .._frozen import StudyDirection, TrialState
from .._space import Distribution
from .._trial import failed_by_configuration
from .._validation import fail, is_int, one_of, seed_or_none
from ..pruners._base import TRIAL_GROUP_ATTR
from ._base import BaseSampler, fresh_seed, trial_rng

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study
    from ._gp_space import EncodedSpace

_OWNER = "GPSampler"
_blas_controller: Any = None
# Below this many observations the hyperparameters are refitted for every trial; above it,
# every `n // _REFIT_DIVISOR` new observations (and warm-started from the last fit), which
# keeps the per-trial cost flat once the training set is capped.
_REFIT_ALWAYS_BELOW = 100
_REFIT_DIVISOR = 25
# Every this many fits, the fit also starts from the prior's centre, not only the last fit.
_COLD_RESTART_EVERY = 5
# A startup point that repeats a tried or pending one gives way to the first of this many
# following points of its Sobol sequence that does not.
_SOBOL_LOOKAHEAD = 32


class GPSampler(BaseSampler):
    """Bayesian optimisation with a Gaussian process and log expected improvement.

    * **Space.** Every parameter is mapped into [0, 1] by ``Distribution.to_unit`` (log ranges
      in log space). The kernel is Matern-5/2 with one lengthscale per parameter; integers and
      stepped floats live on their unit cells and proposals are snapped to a cell, categoricals
      enter through a mismatch (Hamming) term with their own lengthscale.
    * **Targets.** Values (negated for ``maximize``) are standardised and Yeo-Johnson warped
      (``output_warping``), so heavy-tailed losses do not flatten the model. Values more than
      10 robust deviations (median absolute deviation of the distinct values) above the median
      are first compressed into one more deviation, so a penalty of any size (``return 1e10``
      for an invalid configuration) does not flatten it either; infinities are clipped to the
      finite extremes.
    * **Fit.** Hyperparameters are MAP estimates (log-normal lengthscale prior scaled with the
      dimension, gamma noise prior with a floor of 1e-6) found by L-BFGS-B with analytic
      gradients, warm-started from the previous fit. Beyond 100 observations they are refitted
      every ``n // 25`` trials, and beyond ``max_train_size`` observations the GP keeps the
      best quarter plus a random subsample, so the cost per trial stays bounded.
    * **Acquisition.** log EI, maximised by multi-start L-BFGS-B from a scrambled Sobol pool
      and the incumbents, then a discrete local search over grid cells and categorical choices.
      An exact repeat of an observed or pending point is proposed only when nothing else is
      left (a tiny step away teaches as much, and a deterministic objective nothing at all):
      a fully discrete space of up to 4096 points then gives its best untried point, a larger
      one the best untried point of a fresh random pool (so nearly exhausting a larger discrete
      space can end in a repeat that a luckier pool would have avoided).
    * **Parallel workers.** RUNNING trials are fantasised at the posterior mean (kriging
      believer): the model becomes certain there, so concurrent trials get different points.
    * **Trial states.** COMPLETE trials train the model, and so do PRUNED ones at their last
      reported value, never better than the median COMPLETE value (a value from a few steps or
      folds is not a final one, but "stopped for looking worse" is worth knowing). FAIL trials
      whose configuration is at fault (the objective raised or returned NaN) enter at the worst
      finished value, so the acquisition does not choose them again; FAIL trials lost by their
      run (a lost worker, an interrupt) are ignored.
    * **Start and define-by-run.** The first ``n_startup_trials`` trials follow a scrambled
      Sobol sequence seeded by ``seed``. A parameter outside the joint space (conditional on
      an earlier choice) gets a one-dimensional GP fitted on the completed trials that have it,
      or a point of its own Sobol sequence while fewer than ``max(n_startup_trials, 2)`` such
      trials exist.
    * **Objectives.** ``minimize`` or ``maximize``; several objectives raise
      ``InvalidParameterError`` (scalarise them first).

    All randomness comes from ``trial_rng(seed, trial.number, ...)``, so a seeded study
    replays the same suggestions. One exception: the kernel fit warm-starts from this sampler's
    previous fit, which a study resumed in a new process (``load_study``) does not have, so
    from its first model-based trial a resumed study's suggestions can differ from those of an
    uninterrupted run (Optuna's GPSampler differs in the same way). Fitting every kernel from
    scratch would remove that and cost the speed the warm start buys.
    """

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int = 10,
        *,
        output_warping: str = "yeo-johnson",
        max_train_size: int = 300,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        self.constraints_func = check_constraints_func(constraints_func, _OWNER)
        self.seed = seed_or_none(seed, "seed", _OWNER)
        if not is_int(n_startup_trials) or n_startup_trials < 0:
            raise fail("n_startup_trials", _OWNER, "a non-negative int", n_startup_trials)
        self.n_startup_trials = int(n_startup_trials)
        self.output_warping = one_of(
            output_warping, ("yeo-johnson", "rank", "none"), "output_warping", _OWNER
        )
        if not is_int(max_train_size) or max_train_size < 20:
            raise fail("max_train_size", _OWNER, "an int >= 20", max_train_size)
        self.max_train_size = int(max_train_size)
        self._seed = self.seed if self.seed is not None else fresh_seed()
        self._init_caches()

    def _init_caches(self) -> None:
        # Per study and space: encoded rows of finished trials, and the last fit (theta,
        # n observations, number of fits so far).
        self._rows: dict[tuple[Any, ...], dict[int, tuple[int, np.ndarray, float]]] = {}
        self._fits: dict[tuple[Any, ...], tuple[np.ndarray, int, int]] = {}
        self._spaces: dict[tuple[Any, ...], EncodedSpace] = {}
        # Keys hold id(storage); keeping the storages alive keeps those ids from being reused
        # by another storage, whose study would then read this one's cached rows.
        self._storages: dict[int, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # The cache keys are object ids, which mean nothing (or something else) in a copy.
        state = self.__dict__.copy()
        for key in ("_rows", "_fits", "_spaces", "_storages"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    # -- BaseSampler ----------------------------------------------------------------------------
    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        names = tuple(sorted(n for n, d in search_space.items() if not d.is_single()))
        if not names:
            return {}
        return self._suggest(study, trial, names, tuple(search_space[n] for n in names))

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        self._check_single_objective(study)
        return self._suggest(study, trial, (name,), (distribution,))[name]

    def describe(self) -> str:
        return (
            f"GPSampler fits a Gaussian process to the completed trials and proposes the point "
            f"of highest log expected improvement, after {self.n_startup_trials} quasi-random "
            "startup trials."
        )

    # -- internals ------------------------------------------------------------------------------
    def _check_single_objective(self, study: Study) -> None:
        if len(study.directions) != 1:
            raise fail(
                "directions",
                f"a study sampled by {_OWNER}",
                "a single direction (GPSampler is single-objective)",
                [d.value for d in study.directions],
                "Combine the objectives into one value, or use a multi-objective sampler.",
            )

    def _suggest(
        self,
        study: Study,
        trial: FrozenTrial,
        names: tuple[str, ...],
        dists: tuple[Distribution, ...],
    ) -> dict[str, Any]:
        with _one_blas_thread():
            return self._suggest_unlimited(study, trial, names, dists)

    def _suggest_unlimited(
        self,
        study: Study,
        trial: FrozenTrial,
        names: tuple[str, ...],
        dists: tuple[Distribution, ...],
    ) -> dict[str, Any]:
        from ._gp_space import encode_space

        # Not the study's name: two studies (in two storages) may share one, and a shared
        # sampler would then train one on the other's trials.
        storage = study._storage
        self._storages.setdefault(id(storage), storage)
        # A pruner that runs trials in groups (Hyperband's brackets) makes trials of different
        # groups incomparable (a trial stopped at its bracket's first cut looks worse than an
        # equal one that ran to the end): model the trial's own group only, as TPE does.
        group = trial.system_attrs.get(TRIAL_GROUP_ATTR)
        key = (id(storage), study._study_id, names, dists, group)
        space = self._spaces.get(key)
        if space is None:
            space = self._spaces[key] = encode_space(names, dists)
        X, y, C = self._observations(study, key, space, group)
        running = self._running_rows(study, trial, space)
        # Every observed point, not only those the training subsample keeps: a repeat of any
        # of them teaches a deterministic objective nothing.
        tried = X if not len(running) else np.vstack([X, running])
        if len(y) < max(self.n_startup_trials, 2):
            return self._sobol_point(trial, names, dists, space, tried)

        from ._gp_acquisition import constrained_log_ei, optimize_acquisition, optimize_log_ei
        from ._gp_model import GP, warp_outputs

        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        y = sign * y
        # The refit schedule counts every observation: counted after subsampling, the count
        # would stop at max_train_size and the kernel would never be refitted again.
        n_seen, n_seen_constraint = len(y), (~np.isnan(C)).sum(axis=0)
        if len(y) > self.max_train_size:
            keep = self._subsample(y, trial_rng(self._seed, trial.number, "gp-subset"))
            X, y, C = X[keep], y[keep], C[keep]
        targets = warp_outputs(y, self.output_warping)
        theta = self._theta(key, X, targets, space, n_seen)
        gp = GP(X, targets, space.is_categorical, theta, space.n_choices)
        best = float(targets.min())
        if len(running):
            # Kriging believer: pretend pending trials return the posterior mean, and count
            # those values in the incumbent, so a pending point offers no improvement.
            believed = gp.posterior(running)[0]
            gp = gp.condition_on(running, believed)
            best = min(best, float(believed.min()))
        rng = trial_rng(self._seed, trial.number, "gp", *names)
        options = {
            "avoid": tried,
            "n_pool": 512 if len(names) > 1 else 64,
        }
        if self.constraints_func is None and not C.shape[1]:
            incumbents = X[np.argsort(targets)[:2]]
            x = optimize_log_ei(gp, space, best, rng, incumbents=incumbents, **options)
            return space.decode(x)
        # Constrained: the incumbent is the best feasible observation, and every constraint
        # gets a GP of its own whose probability of holding multiplies EI. A missing value (NaN:
        # the trial never set that constraint) counts as satisfied, as for best_trial.
        violations = np.nansum(np.clip(C, 0, None), axis=1)
        feasible = violations == 0
        incumbent = float(targets[feasible].min()) if feasible.any() else None
        constraint_gps = self._constraint_gps(key, X, C, space, running, n_seen_constraint)
        order = np.lexsort((targets, violations))
        acquisition = constrained_log_ei(gp, incumbent, constraint_gps)
        x = optimize_acquisition(acquisition, space, rng, incumbents=X[order[:2]], **options)
        return space.decode(x)

    def _constraint_gps(
        self,
        key: tuple[Any, ...],
        X: np.ndarray,
        C: np.ndarray,
        space: EncodedSpace,
        running: np.ndarray,
        n_seen: np.ndarray,
    ) -> list[tuple[Any, float]]:
        """A GP per constraint on the trials that have its value, with the threshold 0 in the
        GP's standardised units. ``n_seen`` counts each constraint's values before subsampling.

        Values go through arcsinh first, which keeps 0 and the sign (so feasibility) and turns
        huge values into moderate ones: a violation of 1e160 made the standard deviation
        overflow, and the model then steered nowhere. Infinities sit beyond the finite values
        and on their own side of the threshold, by the finite values' range (at least 1): with
        every finite value feasible, +inf just above them read as barely infeasible."""
        from ._gp_model import GP

        out = []
        for j in range(C.shape[1]):
            has = ~np.isnan(C[:, j])
            if has.sum() < 2:
                continue
            c = np.arcsinh(C[has, j])
            finite = c[np.isfinite(c)]
            if not len(finite):
                continue
            margin = max(1.0, float(finite.max() - finite.min()))
            c = np.clip(c, min(finite.min(), 0.0) - margin, max(finite.max(), 0.0) + margin)
            mean, scale = float(c.mean()), float(c.std())
            if scale <= 1e-10 * max(1.0, float(np.abs(c).max())):
                # Equal values have a std of rounding noise (1e-16), not 0: dividing by it put
                # the threshold at -1e16 and the feasibility term swamped EI everywhere.
                scale = 1.0
            z = (c - mean) / scale
            theta = self._theta((*key, "constraint", j), X[has], z, space, int(n_seen[j]))
            cgp = GP(X[has], z, space.is_categorical, theta, space.n_choices)
            if len(running):
                cgp = cgp.condition_on(running, cgp.posterior(running)[0])
            out.append((cgp, -mean / scale))
        return out

    def _observations(
        self, study: Study, key: tuple[Any, ...], space: EncodedSpace, group: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encoded parameters, values and constraint values (NaN where a trial has none) of
        the finished trials that have every name.

        PRUNED trials count too, at their last reported value but never better than the median
        COMPLETE value: a pruner stopped them for looking worse than others, which is worth
        knowing (without them the GP keeps proposing next to configurations already raced out),
        yet a value from early steps or a few folds is not comparable with a finished one.
        """
        cache = self._rows.setdefault(key, {})
        rows, values, pruned, constraints = [], [], [], []
        for t in study.get_trials((TrialState.COMPLETE, TrialState.PRUNED), deepcopy=False):
            if group is not None and t.system_attrs.get(TRIAL_GROUP_ATTR) != group:
                continue
            hit = cache.get(t.trial_id)
            if hit is None or hit[0] != t.number:
                if not all(n in t.params for n in space.names):
                    continue
                value = _last_value(t)
                if value is None:
                    continue
                hit = (t.number, space.encode(t.params), value)
                cache[t.trial_id] = hit
            rows.append(hit[1])
            values.append(hit[2])
            pruned.append(t.state == TrialState.PRUNED)
            constraints.append(t.constraints)
        X = np.array(rows).reshape(-1, space.n_dims)
        y = np.array(values, dtype=float)
        names = sorted({name for c in constraints for name in c})
        C = np.full((len(rows), len(names)), np.nan)
        for i, c in enumerate(constraints):
            for j, name in enumerate(names):
                C[i, j] = c.get(name, np.nan)
        is_pruned = np.array(pruned, dtype=bool)
        if is_pruned.any() and not is_pruned.all():
            median = _median_as_modelled(y[~is_pruned])
            if not math.isnan(median):
                clip = np.minimum if study.direction == StudyDirection.MAXIMIZE else np.maximum
                y[is_pruned] = clip(y[is_pruned], median)
        failed = self._failed_rows(study, space, group)
        finite = y[~is_pruned & np.isfinite(y)]
        if len(failed) and len(finite):
            # A configuration whose objective raised or returned NaN enters at the worst
            # finished value (SMAC's crash cost): left out, the acquisition that chose it
            # chose it again (a QA pass saw 10 of 11 trials fail at the same bound).
            worst = finite.min() if study.direction == StudyDirection.MAXIMIZE else finite.max()
            X = np.vstack([X, failed])
            y = np.concatenate([y, np.full(len(failed), worst)])
            C = np.vstack([C, np.full((len(failed), C.shape[1]), np.nan)])
        return X, y, C

    def _failed_rows(self, study: Study, space: EncodedSpace, group: str | None) -> np.ndarray:
        """Encoded parameters of the trials that failed by their configuration (the objective
        raised or returned NaN), not by their run (a lost worker, an interrupt)."""
        rows = [
            space.encode(t.params)
            for t in study.get_trials((TrialState.FAIL,), deepcopy=False)
            if (group is None or t.system_attrs.get(TRIAL_GROUP_ATTR) == group)
            and all(n in t.params for n in space.names)
            and failed_by_configuration(t)
        ]
        return np.array(rows).reshape(-1, space.n_dims)

    def _running_rows(self, study: Study, trial: FrozenTrial, space: EncodedSpace) -> np.ndarray:
        rows = [
            space.encode(t.params)
            for t in study.get_trials((TrialState.RUNNING,), deepcopy=False)
            if t.number != trial.number and all(n in t.params for n in space.names)
        ]
        return np.array(rows).reshape(-1, space.n_dims)

    def _subsample(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Indices of the rows to train on."""
        # The best points shape the acquisition near the optimum, so they always stay; the rest
        # is a uniform subsample that keeps the global picture.
        order = np.argsort(y, kind="stable")
        n_best = self.max_train_size // 4
        rest = rng.choice(order[n_best:], self.max_train_size - n_best, replace=False)
        return np.sort(np.concatenate([order[:n_best], rest]))

    def _theta(
        self,
        key: tuple[Any, ...],
        X: np.ndarray,
        y: np.ndarray,
        space: EncodedSpace,
        n_seen: int | None = None,
    ) -> np.ndarray:
        """Kernel hyperparameters for ``(X, y)``, refitted on the schedule of ``n_seen``, the
        observations so far (``len(y)`` unless ``X`` is a subsample of them)."""
        from ._gp_model import fit_theta

        n = len(y) if n_seen is None else n_seen
        previous = self._fits.get(key)
        n_fits = 0
        if previous is not None:
            theta0, n_at_fit, n_fits = previous
            if n >= _REFIT_ALWAYS_BELOW and 0 <= n - n_at_fit < max(1, n // _REFIT_DIVISOR):
                return theta0
        theta = fit_theta(
            X,
            y,
            space.is_categorical,
            None if previous is None else previous[0],
            also_default=n_fits % _COLD_RESTART_EVERY == _COLD_RESTART_EVERY - 1,
        )
        self._fits[key] = (theta, n, n_fits + 1)
        return theta

    def _sobol_point(
        self,
        trial: FrozenTrial,
        names: Sequence[str],
        dists: Sequence[Distribution],
        space: EncodedSpace,
        tried: np.ndarray,
    ) -> dict[str, Any]:
        from scipy.stats import qmc

        from ._gp_acquisition import is_duplicate

        # One scrambled sequence per set of names, seeded once for the study: trial n takes
        # its point n, so workers asking at once still spread out.
        engine = qmc.Sobol(
            d=len(names), scramble=True, seed=trial_rng(self._seed, 0, "gp-sobol", *names)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warnings for non-power-of-2 draws
            if trial.number > 0:
                engine.fast_forward(trial.number)
            point = _from_unit(names, dists, engine.random(1)[0])
            if not is_duplicate(space.encode(point)[None, :], tried)[0]:
                return point
            # On a discrete space the sequence can land on a point already tried: other
            # sequences place points too (a define-by-run study's first trial comes from one
            # sequence per parameter, enqueued trials from the user).
            for u in engine.random(_SOBOL_LOOKAHEAD):
                candidate = _from_unit(names, dists, u)
                if not is_duplicate(space.encode(candidate)[None, :], tried)[0]:
                    return candidate
        return point


def _from_unit(
    names: Sequence[str], dists: Sequence[Distribution], point: np.ndarray
) -> dict[str, Any]:
    return {
        n: d.from_unit(min(u, math.nextafter(1.0, 0.0))) for n, d, u in zip(names, dists, point)
    }


def _one_blas_thread() -> Any:
    """Limit BLAS to one thread: the GP's matrices are small, and a threaded BLAS on a busy
    machine spends far longer synchronising than computing (40x slower measured on 2 cores)."""
    global _blas_controller
    if _blas_controller is None:
        # scipy ships its own OpenBLAS; load it first so the controller sees it.
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def _last_value(trial: FrozenTrial) -> float | None:
    """A finished trial's value; for a PRUNED trial told without one, its last report.

    Infinities are kept: ``warp_outputs`` clips them to the finite extremes, so a region that
    returns +inf reads as the worst seen and is avoided (dropping it would leave that region
    unexplored in the model's eyes, and the acquisition would keep going back to it).
    """
    if trial.values:
        value = float(trial.values[0])
    elif trial.intermediate_values:
        value = float(trial.intermediate_values[max(trial.intermediate_values)])
    else:
        return None
    return None if math.isnan(value) else value


def _median_as_modelled(y: np.ndarray) -> float:
    """The median of ``y`` with infinities clipped to the finite extremes, as the model sees
    them (a raw median can be infinite, or NaN between -inf and +inf). NaN only when no value
    is finite and both infinities occur."""
    finite = y[np.isfinite(y)]
    if len(finite):
        y = np.clip(y, finite.min(), finite.max())
    if not len(y):
        return math.nan
    # np.median averages the two middle values by summing them, which overflows for values
    # near the largest float (1e308 and 1e308 gave inf, with a RuntimeWarning); halving each
    # first cannot.
    n = len(y)
    middle = np.partition(y, [(n - 1) // 2, n // 2])
    lo, hi = float(middle[(n - 1) // 2]), float(middle[n // 2])
    return lo if lo == hi else lo / 2 + hi / 2
