"""Constraints: a sampler's ``constraints_func`` maps a finished trial to numbers, each of which
must be <= 0 for the trial to be feasible. The study evaluates it as the trial is told and
stores the numbers in the trial's system attribute ``constraints``, where the samplers, the
best-trial queries and the plots read them (the attribute name matches Optuna's, so studies
moved between the two keep their meaning)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ._validation import fail, is_real, plain_scalar

if TYPE_CHECKING:
    from ._frozen import FrozenTrial

CONSTRAINTS_ATTR = "constraints"

ConstraintsFunc = Callable[["FrozenTrial"], Sequence[float]]


def check_constraints_func(func: Any, owner: str) -> ConstraintsFunc | None:
    if func is not None and not callable(func):
        raise fail(
            "constraints_func",
            owner,
            "None or a callable taking a FrozenTrial and returning a list of numbers "
            "(each <= 0 when satisfied)",
            func,
        )
    return func


def evaluate_constraints(func: ConstraintsFunc, trial: FrozenTrial) -> list[float]:
    """``func(trial)`` checked: a non-empty sequence of real, non-NaN numbers."""
    raw = func(trial)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raw = [raw]  # a single constraint returned as a bare number
    values = [plain_scalar(v) for v in raw]
    bad = [v for v in values if not is_real(v) or math.isnan(v)]
    if not values or bad:
        raise ValueError(
            f"constraints_func must return a non-empty list of numbers (each <= 0 when "
            f"satisfied) for trial {trial.number}; got {raw!r}."
        )
    return [float(v) for v in values]


def violation(trial: FrozenTrial) -> float | None:
    """How far the trial is from feasible (sum of the positive constraint values; 0 when
    feasible), or None when it has no constraint values."""
    values = trial.system_attrs.get(CONSTRAINTS_ATTR)
    if values is None:
        return None
    return float(sum(max(0.0, float(v)) for v in values))


def is_feasible(trial: FrozenTrial) -> bool:
    """True when every stored constraint value is <= 0; a trial without constraint values
    counts as feasible (the study was not constrained when it finished)."""
    v = violation(trial)
    return v is None or v == 0.0
