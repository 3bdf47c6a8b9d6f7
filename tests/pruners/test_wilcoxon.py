from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import WilcoxonPruner

RNG = np.random.default_rng(0)
INSTANCES = list(RNG.uniform(1.0, 2.0, size=30))  # per-instance difficulty, shared by trials


def _per_instance(offset, noise=0.01, seed=1):
    rng = np.random.default_rng(seed)
    return [d + offset + rng.normal(0, noise) for d in INSTANCES]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_prunes_a_clearly_worse_trial_and_keeps_a_better_one(direction, finish, run):
    sign = 1.0 if direction == "minimize" else -1.0
    study = tl.create_study(direction=direction, pruner=WilcoxonPruner(p_threshold=0.1))
    base = [sign * v for v in _per_instance(0.0)]
    finish(study, base, value=float(np.mean(base)))
    worse = [sign * v for v in _per_instance(0.3, seed=2)]
    better = [sign * v for v in _per_instance(-0.3, seed=3)]
    pruned_at = run(study, worse)
    assert pruned_at is not None and pruned_at < 10  # a handful of instances suffice
    assert run(study, better) is None


def test_a_tie_is_not_pruned(finish, run):
    study = tl.create_study(pruner=WilcoxonPruner(p_threshold=0.1))
    base = _per_instance(0.0)
    finish(study, base, value=float(np.mean(base)))
    assert run(study, _per_instance(0.0, seed=5)) is None


def test_lower_threshold_needs_more_evidence(finish, run):
    eager = tl.create_study(pruner=WilcoxonPruner(p_threshold=0.2))
    careful = tl.create_study(pruner=WilcoxonPruner(p_threshold=0.001))
    base = _per_instance(0.0)
    worse = _per_instance(0.1, noise=0.1, seed=7)
    for study in (eager, careful):
        finish(study, base, value=float(np.mean(base)))
    a, b = run(eager, worse), run(careful, worse)
    assert a is not None and (b is None or b > a)


def test_waits_for_n_startup_steps(finish, run):
    study = tl.create_study(pruner=WilcoxonPruner(n_startup_steps=8))
    base = _per_instance(0.0)
    finish(study, base, value=float(np.mean(base)))
    assert run(study, _per_instance(5.0, seed=2)) >= 7


def test_no_best_trial_or_non_finite_values_do_not_prune(finish, run):
    study = tl.create_study(pruner=WilcoxonPruner())
    assert run(study, _per_instance(5.0)[:5]) is None  # nothing completed yet
    base = _per_instance(0.0)
    finish(study, base, value=float(np.mean(base)))
    with pytest.warns(UserWarning, match="non-finite intermediate value"):
        assert run(study, [math.nan, 9.0, 9.0, 9.0]) is None


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"p_threshold": 1.5}, "p_threshold", "a number in \\[0, 1\\]"),
        ({"n_startup_steps": -1}, "n_startup_steps", "an int >= 0"),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of WilcoxonPruner must be {rule}"
    ):
        WilcoxonPruner(**kwargs)


def test_a_non_finite_report_of_the_best_trial_off_the_shared_steps_stops_pruning(finish, run):
    # As in Optuna: the best trial's NaN at step 5 counts, though this trial stops at step 4
    # (the shared steps 0-4 alone would prune it at step 3).
    study = tl.create_study(pruner=WilcoxonPruner())
    finish(study, [0.1] * 5 + [math.nan, 0.1, 0.1], value=0.1)
    with pytest.warns(UserWarning, match=r"the best trial \(trial 0\) has a non-finite"):
        assert run(study, [0.3, 0.35, 0.3, 0.4, 0.3]) is None
    clean = tl.create_study(pruner=WilcoxonPruner())
    finish(clean, [0.1] * 8, value=0.1)
    assert run(clean, [0.3, 0.35, 0.3, 0.4, 0.3]) == 3


def test_a_non_finite_report_of_this_trial_off_the_shared_steps_stops_pruning(finish, run):
    study = tl.create_study(pruner=WilcoxonPruner())
    finish(study, [0.1] * 4, value=0.1)
    trial = study.ask()
    for step, v in enumerate([0.3, 0.35, 0.3, 0.4]):
        trial.report(v, step)
    trial.report(math.inf, 7)  # a step the best trial never reported
    with pytest.warns(UserWarning, match="trial 1 has a non-finite"):
        assert not trial.should_prune()
