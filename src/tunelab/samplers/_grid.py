"""Exhaustive grid search: every point exactly once, then the study stops."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._frozen import TrialState
from .._space import Categorical, Distribution, Float, Int, as_given, outside_message
from .._trial import FIXED_PARAMS_ATTR, GRID_POINT_ATTR
from .._validation import is_int, plain_scalar, seed_or_none
from ..exceptions import GridExhausted, InvalidParameterError
from ._base import BaseSampler, fresh_seed

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study
    from ..storage._base import BaseStorage

GRID_ATTR = "grid_id"
# GRID_POINT_ATTR holds the point's values as well as its position: a study resumed with a
# changed grid (a value added in front, say) finds the points already tried by value, where the
# position would name another point (seen: one point tried twice and the new one never).
# Study system attributes that hand each grid point to one trial across processes.
CLAIM_PREFIX = "grid_claim:"
# An exhaustive search of more points never finishes, and the shuffled order alone takes 8
# bytes a point (seen: 5 x 100 values, 10^10 points, got the process OOM-killed).
MAX_POINTS = 10**7


def _values_of(name: str, spec: Any) -> list[Any]:
    if isinstance(spec, Categorical):
        return _distinct(name, list(spec.choices))
    if isinstance(spec, (Int, Float)):
        if spec.n_steps is None:
            raise InvalidParameterError(
                f"Parameter {name!r}: a continuous Float has no grid; give it a `step` or list "
                "the values to try."
            )
        if spec.n_steps > MAX_POINTS:
            raise _too_large(f"at least {spec.n_steps:,}", f"{name!r} alone has that many values")
        if isinstance(spec, Int):
            return list(range(spec.low, spec.high + 1, spec.step))
        return [spec.round_to_step(spec.low + i * spec.step) for i in range(spec.n_steps)]
    if type(spec).__module__ == "numpy" and getattr(spec, "ndim", None) == 1:
        spec = list(spec)  # np.arange / np.linspace, as a grid is usually written
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        values = [plain_scalar(v) for v in spec]
        if not values:
            raise InvalidParameterError(f"Parameter {name!r}: the grid needs at least one value.")
        for value in values:
            # What a Categorical takes: any other value could neither be stored with the trial
            # nor be suggested (a list also broke the point lookup with "unhashable type").
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise InvalidParameterError(
                    f"Parameter {name!r}: grid value {value!r} is a {type(value).__name__}; "
                    "grid values must be None, bool, int, float or str, so that they can be "
                    f"stored. Use a string key per value (e.g. {name!r}: ['64-64', '128']) and "
                    "map it to the object inside the objective."
                )
        return _distinct(name, values)
    raise InvalidParameterError(
        f"Parameter {name!r}: a grid takes a list of values, Int, Categorical or stepped Float; "
        f"got {spec!r}."
    )


def _distinct(name: str, values: list[Any]) -> list[Any]:
    # A repeated value would be two points the trials cannot tell apart: one of them was never
    # counted as tried, so the study ran it twice or ended with a FAIL trial "GridExhausted".
    kept: dict[tuple[Any, ...], Any] = {}
    repeated = []
    for value in values:
        key = _value_key(value)
        if key in kept:
            repeated.append(value)
        else:
            kept[key] = value
    if repeated:
        warnings.warn(
            f"GridSampler: parameter {name!r} lists {', '.join(map(repr, repeated))} again "
            "(2 and 2.0 are one grid value); each value is tried once, as first listed. Drop "
            "the repeats to silence this.",
            stacklevel=4,
        )
    return list(kept.values())


def _too_large(size: str, detail: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"GridSampler: the grid has {size} points ({detail}), more than the "
        f"{MAX_POINTS:,} an exhaustive search can go through. Use fewer values or larger "
        "steps, or sample the space with RandomSampler or QMCSampler instead."
    )


class GridSampler(BaseSampler):
    """Tries every combination of ``grid`` once, in a shuffled (seeded) order.

    ``grid`` maps each parameter to its values: a list, or a distribution with finite support
    (``Int``, ``Categorical``, ``Float`` with ``step``), a numpy array included. Values are
    None, bool, int, float or str; a value listed twice (or 2 and 2.0) is tried once, with a
    warning. Each trial records its grid point in the system attributes ``grid_id``
    (position) and ``grid_point`` (values); points held by running trials are skipped, so
    parallel workers never evaluate the same point twice, and a study resumed with a changed
    grid skips the points it has tried by their values. When every point is taken, the study
    stops. A grid of more than ten million points is refused.
    """

    def __init__(self, grid: Mapping[str, Any], seed: int | None = None) -> None:
        if not isinstance(grid, Mapping) or not grid:
            raise InvalidParameterError(
                "The 'grid' parameter of GridSampler must be a non-empty dict of name -> values. "
                f"Got {grid!r} instead."
            )
        self.grid: dict[str, list[Any]] = {}
        for name, spec in grid.items():
            self.grid[name] = _values_of(name, spec)
        self.seed = seed_or_none(seed, "seed", "GridSampler")
        self._names = sorted(self.grid)
        self._sizes = [len(self.grid[n]) for n in self._names]
        size = math.prod(self._sizes)
        if size > MAX_POINTS:
            shape = " x ".join(f"{k:,} values of {n!r}" for n, k in zip(self._names, self._sizes))
            raise _too_large(f"{size:,}", shape)
        # Points are numbered as itertools.product lists them (the last name varies fastest)
        # and decoded on demand: a list of them cost ~100 bytes a point, the order 8.
        self._n_points = size
        self._index = [{_value_key(v): i for i, v in enumerate(self.grid[n])} for n in self._names]
        order = np.random.default_rng(self.seed if self.seed is not None else fresh_seed())
        self._order = order.permutation(size)
        self._init_caches()

    def _init_caches(self) -> None:
        self._tried: dict[tuple[int, int], _Tried] = {}
        self._lock = threading.Lock()
        # (study key, thread, number of the next trial) of the has_more that read the trials
        # just now: see before_trial.
        self._read_for: tuple[tuple[int, int], int, int] | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The cache keys are object ids, which mean nothing (or something else) in a copy.
        state = self.__dict__.copy()
        for key in ("_tried", "_lock", "_read_for"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    @property
    def n_points(self) -> int:
        return self._n_points

    def _point(self, grid_id: int) -> tuple[Any, ...]:
        values = []
        for name, size in zip(reversed(self._names), reversed(self._sizes)):
            grid_id, i = divmod(grid_id, size)
            values.append(self.grid[name][i])
        return tuple(reversed(values))

    def _grid_id(self, trial: FrozenTrial) -> int | None:
        """The point a trial holds or ran, if it is on this grid."""
        attrs = trial.system_attrs
        if GRID_ATTR not in attrs:
            return None
        point = attrs.get(GRID_POINT_ATTR)
        if point is None:  # recorded before grid points were stored: trust the position
            grid_id = attrs[GRID_ATTR]
            return grid_id if is_int(grid_id) and 0 <= grid_id < self._n_points else None
        if set(point) != set(self._names):
            return None
        grid_id = 0
        for name, size, index in zip(self._names, self._sizes, self._index):
            i = index.get(_value_key(point[name]))
            if i is None:
                return None
            grid_id = grid_id * size + i
        return grid_id

    def _read(self, study: Study) -> _Tried:
        key = (id(study._storage), study._study_id)
        trials = study.get_trials(deepcopy=False)
        with self._lock:
            tried = self._tried.get(key)
            if tried is None or tried.storage is not study._storage:
                tried = self._tried[key] = _Tried(study._storage)
            tried.update(trials, self._grid_id)
            tried.advance(self._order)
            return tried

    def has_more(self, study: Study) -> bool:
        tried = self._read(study)
        key = (id(study._storage), study._study_id)
        self._read_for = (key, threading.get_ident(), tried.next_number)
        # A queued trial (a lost one's retry, an enqueued one) still has to run.
        return tried.waiting or tried.n_taken() < self._n_points

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        key = (id(study._storage), study._study_id)
        read_for, self._read_for = self._read_for, None
        if read_for == (key, threading.get_ident(), trial.number) and key in self._tried:
            # has_more read the trials a moment ago, in this ask, and no trial was created
            # since but this one, which has no point yet; a point another process took since
            # is refused by its claim below. A second read was a third of a trial's cost.
            tried = self._tried[key]
        else:
            tried = self._read(study)  # a queued trial: has_more was not asked
        # An enqueued trial runs its own values: it takes the grid point those values are (the
        # first such point for a partial one), and none when they are off the grid. Handing it
        # the next point instead lost that point and evaluated the enqueued one twice.
        # A retried trial (retry_failed) comes with its lost original's parameters set: it
        # re-runs that point, like an enqueued one (handed the next point, it used that one
        # up and the point was never run).
        fixed = {**trial.params, **(trial.system_attrs.get(FIXED_PARAMS_ATTR) or {})}
        fixed = {name: value for name, value in fixed.items() if name in self.grid}
        running = tried.running
        # Points before the cursor are tried for good; the walk starts where untried ones may be.
        for position in range(tried.cursor, self._n_points):
            grid_id = int(self._order[position])
            if grid_id in tried.done or grid_id in running or not self._agrees(grid_id, fixed):
                continue
            # Another process may pick the same untaken point at this moment: the storage's
            # atomic claim gives it to one trial, and the others move on.
            point = self._point(grid_id)
            key_name = _claim_key(self._names, point)
            claim = study._storage.claim_study_attr
            holder = claim(study._study_id, key_name, trial.trial_id)
            if holder != trial.trial_id and holder in tried.never_ran:
                # Its trial failed before it ran (Ctrl-C in ask, a worker lost before the
                # first suggest): the point is free again, taken over only from that holder.
                holder = claim(study._study_id, key_name, trial.trial_id, expected=holder)
            if holder != trial.trial_id:
                continue
            study._set_trial_system_attr(trial, GRID_POINT_ATTR, dict(zip(self._names, point)))
            study._set_trial_system_attr(trial, GRID_ATTR, grid_id)
            return
        if fixed:
            return  # off the grid, or a point already tried: no point is used up
        raise GridExhausted(
            f"All {self._n_points} grid points have been tried (or are being tried by other "
            "workers)."
        )

    def _agrees(self, grid_id: int, fixed: Mapping[str, Any]) -> bool:
        if not fixed:
            return True
        point = dict(zip(self._names, self._point(grid_id)))
        return all(_value_key(point[name]) == _value_key(v) for name, v in fixed.items())

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        # No study.stop() once the grid looks used up (Optuna's GridSampler stops there): a
        # running trial may yet be lost and its retry queued, and a stopped run never ran it.
        # The next ask raises GridExhausted instead, which ends optimize once nothing runs.
        key = (id(study._storage), study._study_id)
        with self._lock:
            tried = self._tried.get(key)
            if tried is not None and tried.storage is study._storage:
                tried.absorb(trial, self._grid_id)

    def _value(self, trial: FrozenTrial, name: str, distribution: Distribution) -> Any:
        if name not in self.grid:
            raise InvalidParameterError(
                f"Parameter {name!r} is not in the grid {self._names!r}; add its values to "
                "GridSampler(grid=...)."
            )
        if GRID_ATTR not in trial.system_attrs:
            raise InvalidParameterError(
                f"Parameter {name!r}: trial {trial.number} was enqueued with values that match no "
                "untried grid point, so the grid has no value for it; enqueue a value for every "
                f"grid parameter ({', '.join(self._names)}), or values on the grid."
            )
        point = self._point(trial.system_attrs[GRID_ATTR])
        value = as_given(distribution, point[self._names.index(name)])
        if not distribution.contains(value):
            raise InvalidParameterError(outside_message(name, "grid value", value, distribution))
        return value

    def infer_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, Distribution]:
        return {}

    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        return {name: self._value(trial, name, d) for name, d in search_space.items()}

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        return self._value(trial, name, distribution)

    def describe(self) -> str:
        return f"GridSampler tries each of the {self._n_points} grid points once."


class _Tried:
    """What one study's trials say about the grid, kept between reads.

    Finished trials never change, so each is looked at once; a read looks again only at the
    trials after the leading run of finished ones (the new and the unfinished). Rescanning
    every trial three times a trial made a trial cost 22 ms at trial 2,500 of a 3,000 grid.
    """

    def __init__(self, storage: BaseStorage) -> None:
        # Held so that id(storage) in the cache key cannot name another storage later.
        self.storage = storage
        self.done: set[int] = set()  # points of finished trials that ran: tried for good
        self.never_ran: set[int] = set()  # ids of finished trials that never ran (free points)
        self.seen: set[int] = set()  # ids of the finished trials above
        # trials[:prefix] are all seen; prefix_id is the last one's id, to notice a trial that
        # came into that part of the list (the storage read it late): then read all again.
        self.prefix = 0
        self.prefix_id: int | None = None
        self.cursor = 0  # order[:cursor] are all done
        # As of the latest read: points held by unfinished trials, and whether one is queued.
        self.running: frozenset[int] = frozenset()
        self.waiting = False
        self.next_number = 0

    def absorb(self, trial: FrozenTrial, grid_id_of: Any) -> None:
        if not trial.state.is_finished() or trial.trial_id in self.seen:
            return
        self.seen.add(trial.trial_id)
        if _never_ran(trial):
            self.never_ran.add(trial.trial_id)
            return
        grid_id = grid_id_of(trial)
        if grid_id is not None:
            self.done.add(grid_id)

    def update(self, trials: list[FrozenTrial], grid_id_of: Any) -> None:
        start = self.prefix
        if start and (len(trials) < start or trials[start - 1].trial_id != self.prefix_id):
            start = 0
        prefix = start
        running = set()
        waiting = False
        for i in range(start, len(trials)):
            t = trials[i]
            if t.state.is_finished():
                self.absorb(t, grid_id_of)
                if prefix == i:
                    prefix = i + 1
                continue
            waiting = waiting or t.state == TrialState.WAITING
            grid_id = grid_id_of(t)
            if grid_id is not None:
                running.add(grid_id)
        self.prefix = prefix
        self.prefix_id = trials[prefix - 1].trial_id if prefix else None
        self.running = frozenset(running)
        self.waiting = waiting
        self.next_number = trials[-1].number + 1 if trials else 0

    def advance(self, order: np.ndarray) -> None:
        while self.cursor < len(order) and int(order[self.cursor]) in self.done:
            self.cursor += 1

    def n_taken(self) -> int:
        return len(self.done) + sum(1 for grid_id in self.running if grid_id not in self.done)


def _claim_key(names: Sequence[str], point: Sequence[Any]) -> str:
    # Names and values: a grid renamed on resume ("depth" -> "layers") has points of its own.
    # Values by _value_key, as the grid tells them apart (2 and 2.0 were two claims for one
    # point). A digest keeps the study attribute's name short whatever they are.
    text = json.dumps([[n, _value_key(v)] for n, v in zip(names, point)])
    return CLAIM_PREFIX + hashlib.sha1(text.encode()).hexdigest()


def _never_ran(trial: FrozenTrial) -> bool:
    """A trial that failed before its objective drew a parameter: its grid point was never
    run, so it is free again (an objective that failed after drawing keeps its point)."""
    return trial.state == TrialState.FAIL and not trial.params


def _value_key(value: Any) -> tuple[Any, ...]:
    # Equal where the grid's values are one value: 2 and 2.0 alike (a grid written [1.0, 2.0]
    # drives suggest_int), True apart from 1 (as a Categorical tells them apart), and NaN equal
    # to itself (as a Categorical choice is; never equal, its point was never counted as tried).
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float):
        if math.isnan(value):
            return ("nan",)
        if value.is_integer():
            return ("value", int(value))
    return ("value", value)
