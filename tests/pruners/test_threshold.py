from __future__ import annotations

import math

import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import ThresholdPruner


@pytest.mark.parametrize(
    ("pruner", "curve", "expected"),
    [
        (ThresholdPruner(upper=1.0), [0.5, 0.9, 1.5], 2),
        (ThresholdPruner(upper=1.0), [0.5, 1.0, 0.2], None),
        (ThresholdPruner(lower=0.0), [0.5, -0.1], 1),
        (ThresholdPruner(lower=0.0, upper=1.0), [0.5, 0.5, 0.5], None),
        (ThresholdPruner(upper=1.0, n_warmup_steps=2), [5.0, 5.0, 5.0], 2),
        (ThresholdPruner(upper=1.0, interval_steps=2), [0.0, 5.0, 5.0], 2),
        (ThresholdPruner(upper=1.0), [0.5, math.nan], 1),
    ],
)
def test_decisions(pruner, curve, expected, run):
    # Needs no other trial: it prunes from the very first one.
    assert run(tl.create_study(pruner=pruner), curve) == expected


def test_works_in_a_maximize_study(run):
    study = tl.create_study(direction="maximize", pruner=ThresholdPruner(lower=0.5))
    assert run(study, [0.9, 0.4]) == 1


def test_a_multi_objective_study_is_refused_not_silently_never_pruned():
    study = tl.create_study(directions=["minimize", "minimize"], pruner=ThresholdPruner(upper=1))
    trial = study.ask()
    trial.report_values([100.0, 100.0], 0)
    with pytest.raises(InvalidParameterError, match="ThresholdPruner prunes single-objective"):
        trial.should_prune()


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({}, "lower", "a number when upper is None"),
        ({"lower": "a"}, "lower", "a number or None"),
        ({"upper": math.nan}, "upper", "a number or None"),
        ({"lower": 2.0, "upper": 1.0}, "lower", "<= upper \\(1.0\\)"),
        ({"upper": 1.0, "n_warmup_steps": -1}, "n_warmup_steps", "a non-negative int"),
        ({"upper": 1.0, "interval_steps": 0}, "interval_steps", "a positive int"),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of ThresholdPruner must be {rule}"
    ):
        ThresholdPruner(**kwargs)
