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
        ("minimize", [1, 2, 3, 4, 5], 3),  # steps 1-3 are all worse than the 1 of step 0
        ("maximize", [1, 2, 3, 3, 3, 3], None),  # a plateau never falls behind its best
        ("maximize", [1, 3, 2, 2, 2, 2], 4),  # pruned once the peak has left the window
        ("minimize", [3, 1, 2, 2, 2], 4),
        ("maximize", [1, 3, 2], None),  # patience + 1 reports or fewer: never
    ],
)
def test_early_stopping_without_a_wrapped_pruner(direction, curve, expected, run):
    study = tl.create_study(direction=direction, pruner=PatientPruner(None, patience=2))
    assert run(study, [float(v) for v in curve]) == expected


def test_slow_improvement_is_never_pruned_whatever_min_delta(run):
    curve = [0.5 + 0.001 * i for i in range(12)]
    for min_delta in (0.0, 0.01, 0.5):
        study = tl.create_study(
            direction="maximize", pruner=PatientPruner(None, patience=2, min_delta=min_delta)
        )
        assert run(study, curve) is None


def test_min_delta_is_a_tolerance(run):
    lenient = tl.create_study(pruner=PatientPruner(None, patience=1))
    tolerant = tl.create_study(pruner=PatientPruner(None, patience=1, min_delta=0.5))
    curve = [1.0, 1.2, 1.3, 1.4]  # minimize: worse than step 0 by 0.2-0.4
    assert run(lenient, curve) == 2
    assert run(tolerant, curve) is None


def test_defers_to_the_wrapped_pruner_only_once_fallen_behind(run):
    wrapped = _Counting(answer=False)
    study = tl.create_study(pruner=PatientPruner(wrapped, patience=1))
    assert run(study, [3.0, 2.0, 1.0, 1.0, 1.0]) is None  # improving, then a plateau
    assert wrapped.calls == 0
    assert run(study, [1.0, 2.0, 2.0, 3.0]) is None
    assert wrapped.calls == 2  # steps 2 and 3: both recent reports are worse than step 0
    wrapped.answer = True
    assert run(study, [1.0, 2.0, 2.0]) == 2


def test_wraps_median_pruner(finish, run):
    study = tl.create_study(pruner=PatientPruner(MedianPruner(n_startup_trials=1), patience=1))
    finish(study, [1.0, 1.0, 1.0, 1.0])
    # Worse than the median but still improving: kept.
    assert run(study, [9.0, 8.0, 7.0, 6.0]) is None
    # Worse than the median and behind its own step 0 for two reports: the median decides.
    assert run(study, [5.0, 6.0, 7.0, 8.0]) == 2


def test_zero_patience_compares_the_latest_report_with_the_earlier_best(run):
    assert run(tl.create_study(pruner=PatientPruner(None, 0)), [1.0, 0.5, 0.7]) == 2
    assert (
        run(tl.create_study(pruner=PatientPruner(None, 0, min_delta=0.3)), [1.0, 0.5, 0.7]) is None
    )
    wrapped = _Counting(answer=True)
    study = tl.create_study(pruner=PatientPruner(wrapped, patience=0))
    assert run(study, [1.0, 0.5, 0.4]) is None  # every report improves: never asked
    assert wrapped.calls == 0


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ([1.0, math.nan, 2.0, 3.0], 2),  # a NaN is skipped: step 2 vs step 0
        ([1.0, 0.5, math.nan, math.nan], None),  # all recent reports NaN: not pruned
        ([math.nan, 2.0, 3.0], None),  # all earlier reports NaN: not pruned
        ([math.nan, 2.0, 3.0, 4.0], 3),
        ([math.nan, math.nan, math.nan, math.nan], None),
    ],
)
def test_nan_reports_are_ignored(curve, expected, run):
    study = tl.create_study(pruner=PatientPruner(None, patience=1))
    assert run(study, curve) == expected


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"wrapped_pruner": "median", "patience": 1}, "wrapped_pruner", "a tunelab pruner or None"),
        ({"wrapped_pruner": None, "patience": -1}, "patience", "a non-negative int"),
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


def test_zero_patience_without_a_wrapped_pruner_is_accepted_as_in_optuna():
    assert PatientPruner(None, 0).patience == 0
