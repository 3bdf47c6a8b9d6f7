from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import SuccessiveHalvingPruner


def _to_step(study, trial, values):
    """Report values at steps 0.. and return the first step at which it is pruned."""
    for step, v in enumerate(values):
        trial.report(v, step)
        if trial.should_prune():
            return step
    return None


def test_rungs_are_recorded_in_system_attrs():
    study = tl.create_study(pruner=SuccessiveHalvingPruner(min_resource=1, reduction_factor=2))
    trial = study.ask()
    # Alone at every rung, the trial is the best so far and goes on: rungs at 1, 2, 4.
    assert _to_step(study, trial, [1.0] * 6) is None
    attrs = trial.system_attrs
    assert [k for k in sorted(attrs) if k.startswith("sh_rung_")] == [
        "sh_rung_0",
        "sh_rung_1",
        "sh_rung_2",
    ]
    assert attrs["sh_rung_0"] == 1.0


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_only_the_top_third_goes_on(direction):
    sign = 1.0 if direction == "minimize" else -1.0
    study = tl.create_study(
        direction=direction, pruner=SuccessiveHalvingPruner(min_resource=2, reduction_factor=3)
    )
    for v in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]:  # six trials reach rung 0 (step 2) and stop
        trial = study.ask()
        _to_step(study, trial, [sign * v] * 2)
        study.tell(trial, state=tl.TrialState.PRUNED)
    good, bad = study.ask(), study.ask()
    # With 7 entrants, the top 7 // 3 = 2 are promoted: 0.5 is, 2.5 is not.
    assert _to_step(study, good, [sign * 0.5] * 3) is None
    assert _to_step(study, bad, [sign * 2.5] * 3) == 2


def test_first_rung_follows_min_early_stopping_rate():
    pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=1)
    study = tl.create_study(pruner=pruner)
    best = study.ask()
    _to_step(study, best, [0.0] * 4)
    worse = study.ask()
    assert _to_step(study, worse, [1.0] * 4) == 3  # first rung at 1 * 3**1


def test_a_trial_that_skips_rungs_is_judged_at_each():
    study = tl.create_study(pruner=SuccessiveHalvingPruner(min_resource=1, reduction_factor=2))
    first = study.ask()
    first.report(0.0, 8)
    assert not first.should_prune()
    assert {"sh_rung_0", "sh_rung_3"} <= set(first.system_attrs)
    second = study.ask()
    second.report(1.0, 8)
    assert second.should_prune()
    assert "sh_rung_1" not in second.system_attrs  # cut at rung 0


def test_nan_at_a_rung_prunes():
    study = tl.create_study(pruner=SuccessiveHalvingPruner(min_resource=1))
    trial = study.ask()
    trial.report(math.nan, 0)
    assert not trial.should_prune()  # step 0 is before the first rung
    trial.report(math.nan, 1)
    assert trial.should_prune()


def test_bootstrap_count_stops_trials_at_an_empty_rung():
    study = tl.create_study(pruner=SuccessiveHalvingPruner(min_resource=1, bootstrap_count=2))
    outcomes = []
    for _ in range(3):
        trial = study.ask()
        trial.report(0.0, 1)
        outcomes.append(trial.should_prune())
        study.tell(trial, state=tl.TrialState.PRUNED)
    assert outcomes == [True, True, False]


def test_auto_min_resource_waits_for_a_completed_trial(finish):
    pruner = SuccessiveHalvingPruner()
    study = tl.create_study(pruner=pruner)
    trial = study.ask()
    trial.report(5.0, 10)
    assert not trial.should_prune()
    study.tell(trial, 5.0)
    finish(study, [1.0] * 400)  # longest completed trial: 399 steps -> min_resource 3
    late = study.ask()
    late.report(9.0, 2)
    assert not late.should_prune()  # step 2 is below the first rung (3)
    assert pruner.min_resource_of(study) == 3
    assert pruner.min_resource is None  # settled in the study, not in the pruner
    late.report(9.0, 3)
    assert not late.should_prune()  # alone at rung 0, so the best there
    assert late.system_attrs["sh_rung_0"] == 9.0
    assert "auto" in repr(pruner)


def test_auto_min_resource_is_settled_once_per_study_for_every_process(tmp_path, finish, run):
    # Two Study objects on one SQLite file stand for two worker processes (or a run and its
    # resumption); the second sees a longer completed trial before its first decision.
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = SuccessiveHalvingPruner()
    a = tl.create_study(study_name="sh", storage=url, pruner=first)
    finish(a, [1.0] * 150)  # last step 149 -> min_resource 1
    run(a, [1.0] * 2)  # its first check settles min_resource for the study
    finish(a, [1.0] * 400)  # estimated from this one alone, min_resource would be 3
    second = SuccessiveHalvingPruner()
    b = tl.load_study(study_name="sh", storage=url, pruner=second)
    trial = b.ask()
    assert _to_step(b, trial, [1.0] * 2) is None
    assert trial.system_attrs["sh_rung_0"] == 1.0  # rung 0 at step 1, as in the first process
    assert first.min_resource_of(a) == second.min_resource_of(b) == 1


def test_auto_min_resource_belongs_to_the_study_not_the_pruner(finish, run):
    pruner = SuccessiveHalvingPruner()
    short, long = tl.create_study(pruner=pruner), tl.create_study(pruner=pruner)
    finish(short, [1.0] * 10)
    finish(long, [1.0] * 500)
    run(short, [1.0] * 2)
    run(long, [1.0] * 2)
    assert (pruner.min_resource_of(short), pruner.min_resource_of(long)) == (1, 4)


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"min_resource": 0}, "min_resource", "a positive int or 'auto'"),
        ({"min_resource": "big"}, "min_resource", "a positive int or 'auto'"),
        ({"min_resource": np.array([1, 2])}, "min_resource", "a positive int or 'auto'"),
        ({"reduction_factor": 1}, "reduction_factor", "an int >= 2"),
        ({"min_early_stopping_rate": -1}, "min_early_stopping_rate", "a non-negative int"),
        ({"bootstrap_count": 0.5}, "bootstrap_count", "a non-negative int"),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError,
        match=f"The '{param}' parameter of SuccessiveHalvingPruner must be {rule}",
    ):
        SuccessiveHalvingPruner(**kwargs)
