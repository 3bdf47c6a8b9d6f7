"""Exhaustive grid search: every point exactly once, then the study stops."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._frozen import TrialState
from .._space import Categorical, Distribution, Float, Int
from .._trial import FIXED_PARAMS_ATTR, GRID_POINT_ATTR
from .._validation import plain_scalar, seed_or_none
from ..exceptions import GridExhausted, InvalidParameterError
from ._base import BaseSampler, fresh_seed

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

GRID_ATTR = "grid_id"
# GRID_POINT_ATTR holds the point's values as well as its position: a study resumed with a
# changed grid (a value added in front, say) finds the points already tried by value, where the
# position would name another point (seen: one point tried twice and the new one never).
# Study system attributes that hand each grid point to one trial across processes.
CLAIM_PREFIX = "grid_claim:"


def _values_of(name: str, spec: Any) -> list[Any]:
    if isinstance(spec, Categorical):
        return list(spec.choices)
    if isinstance(spec, Int):
        return list(range(spec.low, spec.high + 1, spec.step))
    if isinstance(spec, Float):
        if spec.step is None:
            raise InvalidParameterError(
                f"Parameter {name!r}: a continuous Float has no grid; give it a `step` or list "
                "the values to try."
            )
        return [spec.round_to_step(spec.low + i * spec.step) for i in range(spec.n_steps or 0)]
    if type(spec).__module__ == "numpy" and getattr(spec, "ndim", None) == 1:
        spec = list(spec)  # np.arange / np.linspace, as a grid is usually written
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        values = [plain_scalar(v) for v in spec]
        if not values:
            raise InvalidParameterError(f"Parameter {name!r}: the grid needs at least one value.")
        return values
    raise InvalidParameterError(
        f"Parameter {name!r}: a grid takes a list of values, Int, Categorical or stepped Float; "
        f"got {spec!r}."
    )


class GridSampler(BaseSampler):
    """Tries every combination of ``grid`` once, in a shuffled (seeded) order.

    ``grid`` maps each parameter to its values: a list, or a distribution with finite support
    (``Int``, ``Categorical``, ``Float`` with ``step``), a numpy array included. Each trial
    records its grid point in the system attributes ``grid_id`` (position) and ``grid_point``
    (values); points held by running trials are skipped, so parallel workers never evaluate the
    same point twice, and a study resumed with a changed grid skips the points it has tried by
    their values. When every point is taken, the study stops.
    """

    def __init__(self, grid: Mapping[str, Any], seed: int | None = None) -> None:
        if not isinstance(grid, Mapping) or not grid:
            raise InvalidParameterError(
                "The 'grid' parameter of GridSampler must be a non-empty dict of name -> values. "
                f"Got {grid!r} instead."
            )
        self.grid = {name: _values_of(name, spec) for name, spec in grid.items()}
        self.seed = seed_or_none(seed, "seed", "GridSampler")
        self._names = sorted(self.grid)
        self._points = list(itertools.product(*(self.grid[n] for n in self._names)))
        self._ids = {_point_key(point): i for i, point in enumerate(self._points)}
        order = np.random.default_rng(self.seed if self.seed is not None else fresh_seed())
        self._order = [int(i) for i in order.permutation(len(self._points))]

    @property
    def n_points(self) -> int:
        return len(self._points)

    def _taken(self, study: Study, trials: list[FrozenTrial] | None = None) -> set[int]:
        taken = set()
        for t in study.get_trials(deepcopy=False) if trials is None else trials:
            attrs = t.system_attrs
            if GRID_ATTR not in attrs or _never_ran(t):
                continue
            point = attrs.get(GRID_POINT_ATTR)
            if point is None:  # recorded before grid points were stored: trust the position
                taken.add(attrs[GRID_ATTR])
                continue
            grid_id = self._ids.get(_point_key(tuple(point.get(n) for n in self._names)))
            if grid_id is not None and set(point) == set(self._names):
                taken.add(grid_id)
        return taken

    def has_more(self, study: Study) -> bool:
        trials = study.get_trials(deepcopy=False)
        # A queued trial (a lost one's retry, an enqueued one) still has to run.
        if any(t.state == TrialState.WAITING for t in trials):
            return True
        return len(self._taken(study, trials)) < len(self._points)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        trials = study.get_trials(deepcopy=False)
        taken = self._taken(study, trials)
        by_id = {t.trial_id: t for t in trials}
        # An enqueued trial runs its own values: it takes the grid point those values are (the
        # first such point for a partial one), and none when they are off the grid. Handing it
        # the next point instead lost that point and evaluated the enqueued one twice.
        # A retried trial (retry_failed) comes with its lost original's parameters set: it
        # re-runs that point, like an enqueued one (handed the next point, it used that one
        # up and the point was never run).
        fixed = {**trial.params, **(trial.system_attrs.get(FIXED_PARAMS_ATTR) or {})}
        fixed = {name: value for name, value in fixed.items() if name in self.grid}
        for grid_id in self._order:
            if grid_id not in taken and self._agrees(grid_id, fixed):
                # Another process may pick the same untaken point at this moment: the storage's
                # atomic claim gives it to one trial, and the others move on.
                key = _claim_key(self._names, self._points[grid_id])
                claim = study._storage.claim_study_attr
                holder = claim(study._study_id, key, trial.trial_id)
                gone = by_id.get(holder)
                if holder != trial.trial_id and gone is not None and _never_ran(gone):
                    # Its trial failed before it ran (Ctrl-C in ask, a worker lost before the
                    # first suggest): the point is free again, taken over only from that holder.
                    holder = claim(study._study_id, key, trial.trial_id, expected=holder)
                if holder != trial.trial_id:
                    continue
                point = dict(zip(self._names, self._points[grid_id]))
                study._set_trial_system_attr(trial, GRID_POINT_ATTR, point)
                study._set_trial_system_attr(trial, GRID_ATTR, grid_id)
                return
        if fixed:
            return  # off the grid, or a point already tried: no point is used up
        raise GridExhausted(
            f"All {len(self._points)} grid points have been tried (or are being tried by other "
            "workers)."
        )

    def _agrees(self, grid_id: int, fixed: Mapping[str, Any]) -> bool:
        point = self._points[grid_id]
        return all(
            _same_value(point[self._names.index(name)], value) for name, value in fixed.items()
        )

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        if not self.has_more(study):
            study.stop()

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
        point = self._points[trial.system_attrs[GRID_ATTR]]
        value = point[self._names.index(name)]
        if not distribution.contains(value):
            raise InvalidParameterError(
                f"Parameter {name!r}: grid value {value!r} lies outside {distribution!r}."
            )
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
        return f"GridSampler tries each of the {len(self._points)} grid points once."


def _claim_key(names: Sequence[str], point: Sequence[Any]) -> str:
    # Names and values: a grid renamed on resume ("depth" -> "layers") has points of its own.
    # A digest keeps the study attribute's name short whatever they are.
    text = json.dumps([[n, _point_key([v])[0]] for n, v in zip(names, point)])
    return CLAIM_PREFIX + hashlib.sha1(text.encode()).hexdigest()


def _never_ran(trial: FrozenTrial) -> bool:
    """A trial that failed before its objective drew a parameter: its grid point was never
    run, so it is free again (an objective that failed after drawing keeps its point)."""
    return trial.state == TrialState.FAIL and not trial.params


def _point_key(point: Sequence[Any]) -> tuple[Any, ...]:
    # Keys equal where _same_value says the values are: 2 and 2.0 alike, True apart from 1.
    return tuple(("bool", v) if isinstance(v, bool) else ("value", v) for v in point)


def _same_value(a: Any, b: Any) -> bool:
    # True is not the grid value 1 (as a Categorical tells them apart); 2 and 2.0 are one value.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b
