from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import MedianPruner, PercentilePruner

GOOD = [0.5, 0.4, 0.3, 0.2, 0.1]


def _reference(study, finish, n=5):
    # Completed curves spread around 1.0 at every step.
    for i in range(n):
        finish(study, [1.0 + 0.1 * (i - n // 2)] * 5)


@pytest.mark.parametrize("pruner", [MedianPruner(), PercentilePruner(50.0)])
def test_minimize_prunes_a_bad_curve_and_keeps_a_good_one(pruner, finish, run):
    study = tl.create_study(pruner=pruner)
    _reference(study, finish)
    assert run(study, [5.0] * 5) == 0
    assert run(study, GOOD) is None


def test_maximize_mirrors_minimize(finish, run):
    study = tl.create_study(direction="maximize", pruner=MedianPruner())
    _reference(study, finish)
    assert run(study, [5.0] * 5) is None
    assert run(study, [-5.0] * 5) == 0


def test_uses_the_best_value_so_far(finish, run):
    study = tl.create_study(pruner=MedianPruner())
    _reference(study, finish)
    # One bad step after a very good one is not enough to be cut.
    assert run(study, [0.1, 3.0, 3.0]) is None


def test_no_pruning_before_n_startup_trials(finish, run):
    study = tl.create_study(pruner=MedianPruner(n_startup_trials=3))
    _reference(study, finish, n=2)
    assert run(study, [5.0] * 5) is None
    _reference(study, finish, n=1)
    assert run(study, [5.0] * 5) == 0


def test_warmup_and_interval(finish, run):
    study = tl.create_study(pruner=MedianPruner(n_warmup_steps=2, interval_steps=2))
    _reference(study, finish)
    assert run(study, [5.0] * 5) == 2  # checks at steps 2 and 4 only


def test_sparse_reports_are_checked_after_a_skipped_checkpoint(finish):
    study = tl.create_study(pruner=MedianPruner(n_warmup_steps=0, interval_steps=2))
    for _ in range(5):
        trial = study.ask()
        for step in range(6):
            trial.report(1.0, step)
        study.tell(trial, 1.0)
    trial = study.ask()
    trial.report(5.0, 0)
    trial.report(5.0, 1)
    assert not trial.should_prune()  # step 1 is no checkpoint
    trial.report(5.0, 3)
    assert trial.should_prune()  # the checkpoint at 2 was skipped, so 3 is checked


def test_percentile_sets_the_bar(finish, run):
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    strict = tl.create_study(pruner=PercentilePruner(25.0))
    lenient = tl.create_study(pruner=PercentilePruner(75.0))
    for study in (strict, lenient):
        for v in values:
            finish(study, [v, v])
    assert run(strict, [3.0, 3.0]) == 0  # worse than the 25th percentile (2.0)
    assert run(lenient, [3.0, 3.0]) is None  # better than the 75th percentile (4.0)


def test_n_min_trials(finish, run):
    study = tl.create_study(pruner=MedianPruner(n_startup_trials=1, n_min_trials=3))
    for _ in range(2):
        finish(study, [1.0, 1.0, 1.0])
    assert run(study, [5.0, 5.0, 5.0]) is None
    finish(study, [1.0, 1.0, 1.0])
    assert run(study, [5.0, 5.0, 5.0]) == 0


def test_nan_curve_is_pruned_and_nan_references_are_ignored(finish, run):
    study = tl.create_study(pruner=MedianPruner())
    _reference(study, finish)
    assert run(study, [math.nan, math.nan]) == 0
    for _ in range(5):
        finish(study, [math.nan, math.nan], value=1.0)
    assert run(study, [0.5, 0.5]) is None


def test_only_completed_trials_are_reference(finish, run):
    study = tl.create_study(pruner=MedianPruner(n_startup_trials=1))
    finish(study, [1.0, 1.0])
    for _ in range(5):  # many bad pruned trials do not lower the bar
        trial = study.ask()
        trial.report(100.0, 0)
        study.tell(trial, state=tl.TrialState.PRUNED)
    assert run(study, [2.0, 2.0]) == 0


def test_median_matches_percentile_50_on_random_curves(finish):
    rng = np.random.default_rng(0)
    a = tl.create_study(pruner=MedianPruner(n_startup_trials=2))
    b = tl.create_study(pruner=PercentilePruner(50.0, n_startup_trials=2))
    decisions = []
    for _ in range(12):
        curve = list(np.cumsum(rng.normal(size=6)))
        ta, tb = a.ask(), b.ask()
        da = db = None
        for step, v in enumerate(curve):
            ta.report(v, step)
            tb.report(v, step)
            if da is None and ta.should_prune():
                da = step
            if db is None and tb.should_prune():
                db = step
        decisions.append(da)
        assert da == db
        a.tell(ta, curve[-1])
        b.tell(tb, curve[-1])
    assert any(d is not None for d in decisions) and any(d is None for d in decisions)


def test_multi_objective_study_is_rejected():
    study = tl.create_study(directions=["minimize", "minimize"], pruner=MedianPruner())
    trial = study.ask()
    trial.report_values([1.0, 1.0], 0)
    with pytest.raises(InvalidParameterError, match="MedianPruner prunes single-objective"):
        trial.should_prune()


def test_pruned_trial_state_and_value_are_stored_by_optimize():
    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(5):
            trial.report(x + 1.0 / (step + 1), step)
            if trial.should_prune():
                raise tl.TrialPruned()
        return x

    study = tl.create_study(pruner=MedianPruner(n_startup_trials=2), seed=1)
    study.optimize(objective, n_trials=20)
    pruned = study.get_trials((tl.TrialState.PRUNED,))
    assert pruned
    for t in pruned:
        assert t.state == tl.TrialState.PRUNED
        assert t.value == t.intermediate_values[t.last_step]
    assert len(study.get_trials((tl.TrialState.COMPLETE,))) >= 2


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"percentile": -1.0}, "percentile", "a number in \\[0, 100\\]"),
        ({"percentile": 101}, "percentile", "a number in \\[0, 100\\]"),
        ({"percentile": math.nan}, "percentile", "a number in \\[0, 100\\]"),
        ({"percentile": 50, "n_startup_trials": -1}, "n_startup_trials", "a non-negative int"),
        ({"percentile": 50, "n_warmup_steps": 1.5}, "n_warmup_steps", "a non-negative int"),
        ({"percentile": 50, "interval_steps": 0}, "interval_steps", "a positive int"),
        ({"percentile": 50, "n_min_trials": 0}, "n_min_trials", "a positive int"),
    ],
)
def test_percentile_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of PercentilePruner must be {rule}"
    ):
        PercentilePruner(**kwargs)


def test_median_validation_names_median():
    with pytest.raises(
        InvalidParameterError,
        match="The 'n_startup_trials' parameter of MedianPruner must be a non-negative int. "
        "Got True instead",
    ):
        MedianPruner(n_startup_trials=True)
