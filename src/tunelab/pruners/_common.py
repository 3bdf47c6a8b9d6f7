"""Shared pieces of the built-in pruners: argument checks, step gating and direction handling."""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any

from .._frozen import StudyDirection
from .._validation import fail, is_int, is_real
from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .._study import Study


def non_negative_int(value: Any, param: str, owner: str) -> int:
    if not is_int(value) or value < 0:
        raise fail(param, owner, "a non-negative int", value)
    return int(value)


def positive_int(value: Any, param: str, owner: str) -> int:
    if not is_int(value) or value < 1:
        raise fail(param, owner, "a positive int", value)
    return int(value)


def int_at_least(value: Any, minimum: int, param: str, owner: str) -> int:
    if not is_int(value) or value < minimum:
        raise fail(param, owner, f"an int >= {minimum}", value)
    return int(value)


def number_in(value: Any, low: float, high: float, param: str, owner: str) -> float:
    if not is_real(value) or math.isnan(value) or not low <= value <= high:
        raise fail(param, owner, f"a number in [{low:g}, {high:g}]", value)
    return float(value)


def non_negative_number(value: Any, param: str, owner: str) -> float:
    if not is_real(value) or not math.isfinite(value) or value < 0:
        raise fail(param, owner, "a non-negative finite number", value)
    return float(value)


def is_auto(value: Any) -> bool:
    # Not ``value == "auto"``: a numpy array compares elementwise, and its truth value raises
    # before the argument check can name the parameter.
    return isinstance(value, str) and value == "auto"


def settled_in_study(study: Study, key: str, estimate: Callable[[], int | None]) -> int | None:
    """The value held in the study's system attr ``key``; else ``estimate()``, stored there by
    whichever process gets there first (None while there is nothing to estimate from).

    An 'auto' resource that each process estimated from the trials it happened to see differed
    between workers and between the runs of a resumed study, moving rungs and brackets under
    trials that had already been judged by them. The storage's atomic claim makes the first
    estimate the study's, for every process and every later run.
    """
    known = _SETTLED.setdefault(study, {})
    if key in known:  # settled values never change: no storage read per should_prune
        return known[key]
    storage, study_id = study._storage, study._study_id
    held = storage.get_study_attrs(study_id, system=True).get(key)
    if held is None:
        found = estimate()
        if found is None:
            return None
        held = storage.claim_study_attr(study_id, key, found)
    known[key] = int(held)
    return known[key]


_SETTLED: weakref.WeakKeyDictionary[Study, dict[str, int]] = weakref.WeakKeyDictionary()


def single_direction(study: Study, owner: str) -> StudyDirection:
    """The study's one direction; a multi-objective study is a configuration error here."""
    if len(study.directions) != 1:
        raise InvalidParameterError(
            f"{owner} prunes single-objective studies; this study has {len(study.directions)} "
            "objectives. Use ParetoPruner, which compares the vectors of Trial.report_values."
        )
    return study.directions[0]


def is_check_step(step: int, steps: Iterable[int], n_warmup_steps: int, interval: int) -> bool:
    """True at the first report at or after each checkpoint ``n_warmup_steps + k * interval``.

    Steps need not be contiguous: if the objective skips a checkpoint, the next report after it
    is checked instead, so a sparse reporter is not exempt from pruning.
    """
    if step < n_warmup_steps:
        return False
    checkpoint = n_warmup_steps + (step - n_warmup_steps) // interval * interval
    previous = max((s for s in steps if s < step), default=-1)
    return previous < checkpoint


def worse(a: float, b: float, direction: StudyDirection) -> bool:
    """``a`` is strictly worse than ``b`` (NaN counts as worst)."""
    if math.isnan(a):
        return not math.isnan(b)
    if math.isnan(b):
        return False
    return a > b if direction == StudyDirection.MINIMIZE else a < b


def best_of(values: Iterable[float], direction: StudyDirection) -> float:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return math.nan
    return min(finite) if direction == StudyDirection.MINIMIZE else max(finite)
