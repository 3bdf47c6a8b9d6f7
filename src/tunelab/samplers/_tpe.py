"""Tree-structured Parzen Estimator (TPE): model good and bad trials, propose where good ones are.

Each finished trial is read once into a per-study history of encoded observations (see
``_parzen``); a suggestion then costs a few numpy passes over that history, not a re-parse.

How the model treats the harder cases:

* **Conditional parameters.** A parameter that exists only in some trials reaches ``sample_one``
  and is modelled from the trials that have it (the good/bad split stays the global one, so a
  branch that never produced good trials gets only the prior for its "good" density). With
  ``multivariate=True`` and ``group=True``, parameters that always appear together are drawn
  jointly: history is partitioned into groups of co-occurring parameters, and the first
  ``sample_one`` of a group draws the whole group, the rest is served from that draw.
* **Running trials (constant liar).** RUNNING trials of other workers count as the worst
  observations for the parameters they already have, so parallel workers spread out.
* **PRUNED trials** rank after every COMPLETE one: further steps first, then the last
  intermediate value.
* **Failed configurations.** A FAIL trial whose objective raised or returned NaN counts among the
  bad observations, as a running trial does for the constant liar, so the sampler steers away
  from regions that fail (Optuna's TPE ignores them: with NaN over a quarter of the range, 27
  of 30 trials failed); one failed by its run (a lost worker, an interrupt) is ignored.
* **Several objectives.** COMPLETE trials are ranked by non-dominated front; the last front
  that fits is cut by crowding distance (spread points first).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._constraints import check_constraints_func, violation
from .._frozen import StudyDirection, TrialState
from .._pareto import rank_fronts
from .._space import Distribution
from .._trial import failed_by_configuration
from .._validation import fail, is_int, is_real, seed_or_none
from ..pruners._base import TRIAL_GROUP_ATTR
from ._base import BaseSampler, fresh_seed, sample_uniform, trial_rng
from ._parzen import Axis, ParzenMixture

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

_OWNER = "TPESampler"
_MAX_SNAPSHOTS = 64


def default_gamma(n: int) -> int:
    """How many of ``n`` finished trials count as good: 10%, at most 25."""
    return min(int(math.ceil(0.1 * n)), 25)


def default_weights(n: int) -> np.ndarray:
    """Observation weights, oldest first: the newest 25 weigh 1, older ones ramp down."""
    if n < 25:
        return np.ones(n)
    return np.concatenate((np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)))


class _Column:
    """One parameter's encoded values, one slot per history row (NaN where absent)."""

    __slots__ = ("axis", "distribution", "values", "_array")

    def __init__(self, distribution: Distribution, n_rows: int) -> None:
        self.distribution = distribution
        self.axis = Axis(distribution)
        self.values: list[float] = [math.nan] * n_rows
        self._array: np.ndarray | None = None

    def array(self) -> np.ndarray:
        if self._array is None or len(self._array) != len(self.values):
            self._array = np.asarray(self.values, dtype=float)
        return self._array


class _History:
    """Finished (COMPLETE or PRUNED) trials of one study, each read once."""

    def __init__(self, storage: Any, signs: np.ndarray) -> None:
        self.storage = storage
        self.signs = signs
        self.seen: set[int] = set()
        self.numbers: list[int] = []
        self.pruned: list[bool] = []
        self.values: list[np.ndarray] = []
        self.steps: list[float] = []
        self.last_values: list[float] = []
        # Sum of the positive constraint values a trial has: 0 for one without any, which is
        # feasible (as for is_feasible and best_trial).
        self.violations: list[float] = []
        # Some trial has constraint values (Trial.set_constraint needs no constraints_func).
        self.constrained = False
        self.columns: dict[str, _Column] = {}
        self.groups: list[set[str]] = []
        self.intersection: dict[str, Distribution] | None = None
        self.lock = threading.Lock()

    def add(self, trial: FrozenTrial) -> None:
        self.seen.add(trial.trial_id)
        row = len(self.numbers)
        self.numbers.append(trial.number)
        pruned = trial.state == TrialState.PRUNED
        self.pruned.append(pruned)
        if pruned or trial.values is None:
            self.values.append(np.full(len(self.signs), math.inf))
        else:
            self.values.append(self.signs * np.asarray(trial.values, dtype=float))
        step = trial.last_step
        self.steps.append(-1.0 if step is None else float(step))
        last = math.inf if step is None else self.signs[0] * trial.intermediate_values[step]
        self.last_values.append(math.inf if math.isnan(last) else last)
        v = violation(trial)
        self.violations.append(0.0 if v is None else v)
        self.constrained = self.constrained or v is not None
        for column in self.columns.values():
            column.values.append(math.nan)
        for name, dist in trial.distributions.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = _Column(dist, row + 1)
            if column.distribution == dist:
                column.values[row] = column.axis.encode(trial.params[name])
        self._refine(trial.distributions)

    def _refine(self, distributions: Mapping[str, Distribution]) -> None:
        present = set(distributions)
        if self.intersection is None:
            self.intersection = dict(distributions)
        else:
            self.intersection = {
                n: d for n, d in self.intersection.items() if distributions.get(n) == d
            }
        # Partition refinement: two parameters stay in one group while every trial has both
        # or neither of them.
        groups: list[set[str]] = []
        known: set[str] = set()
        for group in self.groups:
            known |= group
            groups.extend(part for part in (group & present, group - present) if part)
        if present - known:
            groups.append(present - known)
        self.groups = groups

    def group_of(self, name: str) -> set[str]:
        for group in self.groups:
            if name in group:
                return group
        return {name}


class _Snapshot:
    """What one trial's suggestions are drawn from: the good/bad split and the running trials."""

    def __init__(
        self,
        history: _History,
        good: np.ndarray,
        running: list[FrozenTrial],
        failed: list[FrozenTrial] | None = None,
    ) -> None:
        self.history = history
        self.good = good
        self.running = running
        # Trials whose configuration failed: bad observations for the parameters they have.
        self.failed = failed or []
        self.numbers = np.asarray(history.numbers, dtype=float)
        # Rows are in the order trials were first seen, which differs between a live run and a
        # resumed one; the model reads them in trial-number order so that suggestions depend
        # only on which trials have finished.
        self.order = np.argsort(self.numbers, kind="stable")
        # Values drawn with a group but not asked for yet: name -> (distribution, value).
        self.pending: dict[str, tuple[Distribution, Any]] = {}

    @property
    def n_finished(self) -> int:
        return len(self.good)


class TPESampler(BaseSampler):
    """Tree-structured Parzen Estimator over univariate or joint (``multivariate``) densities.

    After ``n_startup_trials`` finished trials of random search, the ``gamma(n)`` best trials
    form a "good" Parzen mixture ``l(x)`` and the others a "bad" one ``g(x)``;
    ``n_ei_candidates`` draws from ``l`` are scored by ``log l(x) - log g(x)`` and the best one is
    suggested. ``weights(n)`` weighs observations oldest first, ``prior_weight`` the wide prior
    kernel, and ``consider_magic_clip`` keeps kernels at least ``1 / min(100, n + 2)`` of the
    range wide. ``multivariate=None`` (the default) draws all parameters from one joint model
    for a single objective and each from its own for several. With ``constant_liar`` other
    workers' RUNNING trials count as bad observations.

    With constraints (``constraints_func``, see :class:`~tunelab.samplers.BaseSampler`, or
    ``Trial.set_constraint`` in the objective) the feasible trials
    rank first and infeasible ones follow, least violation first, so the "good" mixture fills
    from the feasible region and, while few trials are feasible, from the nearest infeasible
    ones (Watanabe and Hutter's c-TPE ranks alike). A trial without constraint values (say, a
    branch of a conditional objective that sets none) is feasible, as for ``best_trial``.
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: Callable[[int], int] = default_gamma,
        weights: Callable[[int], np.ndarray] = default_weights,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
        multivariate: bool | None = None,
        group: bool = True,
        constant_liar: bool = True,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        seed: int | None = None,
    ) -> None:
        self.constraints_func = check_constraints_func(constraints_func, _OWNER)
        if not is_int(n_startup_trials) or n_startup_trials < 0:
            raise fail("n_startup_trials", _OWNER, "a non-negative int", n_startup_trials)
        if not is_int(n_ei_candidates) or n_ei_candidates < 1:
            raise fail("n_ei_candidates", _OWNER, "a positive int", n_ei_candidates)
        for label, func in (("gamma", gamma), ("weights", weights)):
            if not callable(func):
                raise fail(label, _OWNER, "a callable taking the number of trials", func)
        if not is_real(prior_weight) or not math.isfinite(prior_weight) or prior_weight <= 0:
            raise fail("prior_weight", _OWNER, "a positive finite number", prior_weight)
        if multivariate is not None and not isinstance(multivariate, bool):
            raise fail("multivariate", _OWNER, "a bool or None", multivariate)
        for label, flag in (
            ("consider_magic_clip", consider_magic_clip),
            ("group", group),
            ("constant_liar", constant_liar),
        ):
            if not isinstance(flag, bool):
                raise fail(label, _OWNER, "a bool", flag)
        self.n_startup_trials = int(n_startup_trials)
        self.n_ei_candidates = int(n_ei_candidates)
        self.gamma = gamma
        self.weights = weights
        self.prior_weight = float(prior_weight)
        self.consider_magic_clip = consider_magic_clip
        self.multivariate = multivariate
        self.group = group
        self.constant_liar = constant_liar
        self.seed = seed_or_none(seed, "seed", _OWNER)
        self._seed = self.seed if self.seed is not None else fresh_seed()
        self._init_caches()

    def _init_caches(self) -> None:
        self._histories: dict[tuple[int, int, str | None], _History] = {}
        self._snapshots: OrderedDict[tuple[int, int, int], _Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Caches hold storage objects and locks; a copy in another process rebuilds them.
        state = self.__dict__.copy()
        for key in ("_histories", "_snapshots", "_lock"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    # -- the sampler interface -------------------------------------------------------------
    def _joint(self, study: Study) -> bool:
        """Whether parameters are drawn from one joint model (``multivariate``; by default for
        a single objective, and per parameter for several, as measured in docs/benchmarks.md:
        joint kernels converge faster on one objective, per-parameter ones cover a front
        better)."""
        if self.multivariate is not None:
            return self.multivariate
        return len(study.directions) == 1

    def infer_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, Distribution]:
        if not self._joint(study):
            return {}  # univariate draws go through sample_one; no joint space needed
        snap = self._snapshot(study, trial)
        if snap.n_finished < self.n_startup_trials:
            return {}
        return dict(snap.history.intersection or {})

    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        snap = self._snapshot(study, trial)
        if snap.n_finished < self.n_startup_trials:
            return {}
        columns = snap.history.columns
        # Parameters without history are left to sample_one (random until they have some).
        modelled = {n: d for n, d in search_space.items() if _fits(columns.get(n), d)}
        if not self._joint(study):
            return {n: self._draw(snap, trial, {n: d})[n] for n, d in modelled.items()}
        return self._draw(snap, trial, modelled) if modelled else {}

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        snap = self._snapshot(study, trial)
        if name in snap.pending:
            known, value = snap.pending.pop(name)
            if known == distribution:
                return value
        column = snap.history.columns.get(name)
        if snap.n_finished < self.n_startup_trials or not _fits(column, distribution):
            return sample_uniform(distribution, trial_rng(self._seed, trial.number, name))
        space = {name: distribution}
        if self._joint(study) and self.group:
            for other in sorted(snap.history.group_of(name)):
                col = snap.history.columns[other]
                if other not in trial.params and not col.distribution.is_single():
                    space[other] = col.distribution
        drawn = self._draw(snap, trial, space)
        snap.pending.update((k, (space[k], v)) for k, v in drawn.items() if k != name)
        return drawn[name]

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        with self._lock:
            self._snapshots.pop(_snapshot_key(study, trial), None)

    def describe(self) -> str:
        if self.multivariate is None:
            kind = "a joint (per-parameter with several objectives)"
        else:
            kind = "a joint" if self.multivariate else "a per-parameter"
        return (
            f"TPESampler searches randomly for {self.n_startup_trials} trials, then proposes "
            f"points where {kind} Parzen model of the best trials is dense and that of the "
            "others is sparse."
        )

    def __repr__(self) -> str:
        return (
            f"TPESampler(n_startup_trials={self.n_startup_trials}, "
            f"multivariate={self.multivariate}, seed={self.seed!r})"
        )

    # -- the model -------------------------------------------------------------------------
    def _snapshot(self, study: Study, trial: FrozenTrial) -> _Snapshot:
        key = _snapshot_key(study, trial)
        with self._lock:
            snap = self._snapshots.get(key)
            if snap is not None:
                return snap
        # A pruner that runs trials in groups (Hyperband's brackets) makes trials of different
        # groups incomparable: one stopped at its bracket's first cut looks worse than an equal
        # configuration that ran to the end. Learn from the trial's own group only.
        group = trial.system_attrs.get(TRIAL_GROUP_ATTR)
        history = self._history(study, group)
        running: list[FrozenTrial] = []
        failed: list[FrozenTrial] = []
        with history.lock:
            # The one pass over the study's trials for this suggestion: new finished trials
            # join the history, running ones become constant-liar observations.
            for t in study.get_trials(deepcopy=False):
                if group is not None and t.system_attrs.get(TRIAL_GROUP_ATTR) != group:
                    continue
                state = t.state
                if state == TrialState.COMPLETE or state == TrialState.PRUNED:
                    if t.trial_id not in history.seen:
                        history.add(t)
                elif (
                    state == TrialState.RUNNING
                    and self.constant_liar
                    and t.params
                    and t.trial_id != trial.trial_id
                ):
                    running.append(t)
                elif state == TrialState.FAIL and t.params and failed_by_configuration(t):
                    failed.append(t)
            snap = _Snapshot(history, self._split(history), running, failed)
        with self._lock:
            self._snapshots[key] = snap
            while len(self._snapshots) > _MAX_SNAPSHOTS:
                self._snapshots.popitem(last=False)
        return snap

    def _history(self, study: Study, group: str | None = None) -> _History:
        key = (id(study._storage), study._study_id, group)
        with self._lock:
            history = self._histories.get(key)
            if history is None or history.storage is not study._storage:
                signs = np.array(
                    [-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in study.directions]
                )
                history = self._histories[key] = _History(study._storage, signs)
            return history

    def _split(self, history: _History) -> np.ndarray:
        """A mask over history rows: True for the ``gamma(n)`` best (the "good" trials)."""
        n = len(history.numbers)
        good = np.zeros(n, dtype=bool)
        if n == 0:
            return good
        n_good = min(max(int(self.gamma(n)), 0), n)
        pruned = np.asarray(history.pruned, dtype=bool)
        steps = np.asarray(history.steps)
        # Rows in trial-number order, so that stable sorts break ties by trial number, not by
        # the order the trials were first seen in.
        by_number = np.argsort(np.asarray(history.numbers), kind="stable")
        complete = by_number[~pruned[by_number]]
        infeasible = np.array([], dtype=int)
        if self.constraints_func is not None or history.constrained:
            violations = np.asarray(history.violations)
            infeasible = complete[violations[complete] > 0]
            infeasible = infeasible[np.argsort(violations[infeasible], kind="stable")]
            complete = complete[violations[complete] == 0]
        if len(history.signs) == 1:
            values = np.array([v[0] for v in history.values])
            ranked = complete[np.argsort(values[complete], kind="stable")]
        else:
            ranked = complete[rank_fronts(np.array([history.values[i] for i in complete]), n_good)]
        ranked = np.concatenate((ranked, infeasible)).astype(int)
        if len(ranked) < n_good:
            # PRUNED trials rank after every COMPLETE one: further steps first, then the value
            # reached there; trials pruned before any report come last.
            idx = by_number[pruned[by_number]]
            last = np.asarray(history.last_values)[idx]
            order = np.lexsort((last, -steps[idx], steps[idx] < 0))
            ranked = np.concatenate((ranked, idx[order]))
        good[ranked[:n_good]] = True
        return good

    def _draw(
        self, snap: _Snapshot, trial: FrozenTrial, space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        names = sorted(space)
        columns = [snap.history.columns[n] for n in names]
        axes = [c.axis for c in columns]
        # Another thread may be appending rows; this snapshot sees the first n_finished.
        order = snap.order
        x = np.column_stack([c.array()[: snap.n_finished] for c in columns])[order]
        numbers = snap.numbers[order]
        present = ~np.isnan(x).any(axis=1)
        good, bad = present & snap.good[order], present & ~snap.good[order]
        x_bad, n_bad = x[bad], numbers[bad]
        liars = [
            t
            for t in (*snap.running, *snap.failed)
            if all(t.distributions.get(n) == c.distribution for n, c in zip(names, columns))
        ]
        if liars:
            lies = np.array([[a.encode(t.params[n]) for n, a in zip(names, axes)] for t in liars])
            x_bad = np.vstack((x_bad, lies))
            n_bad = np.append(n_bad, [t.number for t in liars])
        options = {
            "prior_weight": self.prior_weight,
            "spread": len(snap.history.signs) > 1,
            "magic_clip": self.consider_magic_clip,
        }
        below = ParzenMixture(axes, x[good], self._weigh(numbers[good]), **options)
        above = ParzenMixture(axes, x_bad, self._weigh(n_bad), **options)
        rng = trial_rng(self._seed, trial.number, "tpe", *names)
        candidates = below.sample(rng, self.n_ei_candidates)
        score = below.log_pdf(candidates) - above.log_pdf(candidates)
        best = candidates[int(np.argmax(score))]
        return {n: a.decode(v) for n, a, v in zip(names, axes, best)}

    def _weigh(self, numbers: np.ndarray) -> np.ndarray:
        n = len(numbers)
        w = np.asarray(self.weights(n), dtype=float)
        if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise fail(
                "weights",
                _OWNER,
                f"a callable returning {n} non-negative finite weights for n={n}",
                w,
            )
        if n < 2 or np.all(numbers[1:] >= numbers[:-1]):
            return w  # rows are usually already in trial order
        out = np.empty(n)
        out[np.argsort(numbers, kind="stable")] = w
        return out


def _snapshot_key(study: Study, trial: FrozenTrial) -> tuple[int, int, int]:
    # A trial_id is unique only within its storage: two in-memory studies number their trials
    # alike, and a shared sampler would hand one study's snapshot to the other. The snapshot
    # holds its history, which holds the storage, so the storage's id is not reused while the
    # key is cached.
    return (id(study._storage), study._study_id, trial.trial_id)


def _fits(column: _Column | None, distribution: Distribution) -> bool:
    return column is not None and column.distribution == distribution
