from __future__ import annotations

import math

import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import BasePruner, MedianPruner, PatientPruner


class _Counting(BasePruner):
    def __init__(self, answer):
        self.answer = answer
        self.calls = 0

    def prune(self, study, trial):
        self.calls += 1
        return self.answer


@pytest.mark.parametrize(
    ("direction", "curve", "expected"),
    [
        ("minimize", [5, 4, 3, 2, 1, 0], None),  # keeps improving
        ("minimize", [5, 1, 2, 2, 2], 3),  # steps 2-3 do not beat the 1 of step 1
        ("maximize", [1, 2, 3, 3, 3], 4),  # plateau counts as no improvement
        ("maximize", [1, 2, 3, 4, 5], None),
    ],
)
def test_early_stopping_without_a_wrapped_pruner(direction, curve, expected, run):
    study = tl.create_study(direction=direction, pruner=PatientPruner(None, patience=2))
    assert run(study, [float(v) for v in curve]) == expected


def test_min_delta_demands_a_real_improvement(run):
    lenient = tl.create_study(pruner=PatientPruner(None, patience=1))
    strict = tl.create_study(pruner=PatientPruner(None, patience=1, min_delta=0.5))
    curve = [1.0, 0.9, 0.8, 0.7]
    assert run(lenient, curve) is None
    assert run(strict, curve) == 1


def test_defers_to_the_wrapped_pruner_only_once_patience_ran_out(run):
    wrapped = _Counting(answer=False)
    study = tl.create_study(pruner=PatientPruner(wrapped, patience=1))
    assert run(study, [3.0, 2.0, 1.0, 1.0, 1.0]) is None
    assert wrapped.calls == 2  # steps 3 and 4: the stall
    wrapped.answer = True
    assert run(study, [3.0, 2.0, 2.0]) == 2


def test_wraps_median_pruner(finish, run):
    study = tl.create_study(pruner=PatientPruner(MedianPruner(n_startup_trials=1), patience=1))
    finish(study, [1.0, 1.0, 1.0, 1.0])
    # Worse than the median but still improving: kept until it stalls.
    assert run(study, [9.0, 8.0, 7.0, 7.0]) == 3


def test_zero_patience_is_the_wrapped_pruner(run):
    wrapped = _Counting(answer=True)
    study = tl.create_study(pruner=PatientPruner(wrapped, patience=0))
    assert run(study, [1.0, 0.5]) == 0
    assert wrapped.calls == 1


def test_nan_reports_count_as_no_improvement(run):
    study = tl.create_study(pruner=PatientPruner(None, patience=1))
    assert run(study, [1.0, 0.5, math.nan, math.nan]) == 2


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"wrapped_pruner": "median", "patience": 1}, "wrapped_pruner", "a tunelab pruner or None"),
        ({"wrapped_pruner": None, "patience": -1}, "patience", "a non-negative int"),
        ({"wrapped_pruner": None, "patience": 0}, "patience", "at least 1 when wrapped_pruner"),
        (
            {"wrapped_pruner": None, "patience": 1, "min_delta": -0.1},
            "min_delta",
            "a non-negative finite number",
        ),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of PatientPruner must be {rule}"
    ):
        PatientPruner(**kwargs)
