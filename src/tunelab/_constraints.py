"""Constraints: numbers that must each be <= 0 for a trial to be feasible.

They come two ways, stored as Optuna stores them so that studies and code move between the two:
``trial.set_constraint(name, value)`` inside the objective (system attribute
``constraints:<name>``, Optuna 5's form), or a sampler's ``constraints_func``, which maps a
finished trial to a list of numbers that the study stores as it is told (system attribute
``constraints``, named "0", "1", ...). The samplers, the best-trial queries and the plots read
both through :func:`constraint_values`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ._validation import check_name, fail, is_real, plain_scalar
from .exceptions import InvalidParameterError

if TYPE_CHECKING:
    from ._frozen import FrozenTrial

CONSTRAINTS_ATTR = "constraints"
NAMED_PREFIX = CONSTRAINTS_ATTR + ":"

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


def constraint_key(name: Any) -> str:
    """The system attribute that holds constraint ``name``."""
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(
            f"Trial.set_constraint needs a non-empty string name; got {name!r}."
        )
    key = NAMED_PREFIX + name
    check_name("Constraint attribute", key)
    return key


def check_constraint_value(name: Any, value: Any) -> float:
    """A value for ``Trial.set_constraint``: a real, non-NaN number (no bool, no text)."""
    value = plain_scalar(value)
    if not is_real(value) or math.isnan(value):
        raise ValueError(
            f"Trial.set_constraint({name!r}, ...) needs a real number, <= 0 when the constraint "
            f"holds; got {value!r}."
        )
    return float(value)


def check_constraint_attrs(trial: FrozenTrial, owner: str) -> None:
    """Refuse constraint attributes that are not numbers: every later best_trial, plot and
    sampler read them, and one bad value broke the study for good."""
    attrs = trial.system_attrs
    listed = attrs.get(CONSTRAINTS_ATTR)
    if listed is not None and (
        isinstance(listed, (str, bytes))
        or not isinstance(listed, Iterable)
        or not all(is_real(v) and not math.isnan(v) for v in listed)
    ):
        raise InvalidParameterError(
            f"{owner}: trial {trial.number}'s system attribute {CONSTRAINTS_ATTR!r} must be a "
            f"list of numbers (each <= 0 when satisfied); got {listed!r}."
        )
    for key, value in attrs.items():
        if key.startswith(NAMED_PREFIX) and (not is_real(value) or math.isnan(value)):
            raise InvalidParameterError(
                f"{owner}: trial {trial.number}'s constraint {key[len(NAMED_PREFIX) :]!r} must "
                f"be a number (<= 0 when satisfied); got {value!r}."
            )


def constraint_values(trial: FrozenTrial) -> dict[str, float]:
    """Every constraint value of the trial by name (empty when it has none)."""
    attrs = trial.system_attrs
    values = {str(i): float(v) for i, v in enumerate(attrs.get(CONSTRAINTS_ATTR) or [])}
    for key, value in attrs.items():
        if key.startswith(NAMED_PREFIX):
            values[key[len(NAMED_PREFIX) :]] = float(value)
    return values


def violation(trial: FrozenTrial) -> float | None:
    """How far the trial is from feasible (sum of the positive constraint values; 0 when
    feasible), or None when it has no constraint values."""
    values = constraint_values(trial)
    if not values:
        return None
    return float(sum(max(0.0, v) for v in values.values()))


def is_feasible(trial: FrozenTrial) -> bool:
    """True when every stored constraint value is <= 0; a trial without constraint values
    counts as feasible (the study was not constrained when it finished)."""
    v = violation(trial)
    return v is None or v == 0.0
