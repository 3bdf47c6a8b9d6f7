from __future__ import annotations

import math

import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import ParetoPruner

# Five completed trials whose vectors at every step spread along a front.
FRONT = [(1.0, 5.0), (2.0, 4.0), (3.0, 3.0), (4.0, 2.0), (5.0, 1.0)]


def _study(directions=("minimize", "minimize"), front=FRONT, **kwargs):
    study = tl.create_study(directions=list(directions), pruner=ParetoPruner(**kwargs))
    for vec in front:
        trial = study.ask()
        for step in range(3):
            trial.report_values(list(vec), step)
        study.tell(trial, list(vec))
    return study


def _run(study, vectors):
    trial = study.ask()
    for step, vec in enumerate(vectors):
        trial.report_values(list(vec), step)
        if trial.should_prune():
            study.tell(trial, state=tl.TrialState.PRUNED)
            return step
    study.tell(trial, list(vectors[-1]))
    return None


def test_a_vector_dominated_by_most_trials_is_pruned():
    study = _study()
    assert _run(study, [(6.0, 6.0)] * 3) == 0
    assert study.trials[-1].state == tl.TrialState.PRUNED


def test_a_vector_on_or_beyond_the_front_is_kept():
    study = _study()
    assert _run(study, [(2.5, 3.5)] * 3) is None  # dominated by nobody
    assert _run(study, [(3.5, 3.5)] * 3) is None  # dominated by one of five


def test_min_dominating_sets_the_bar():
    strict = _study(min_dominating=1)
    assert _run(strict, [(3.5, 3.5)] * 3) == 0


def test_directions_are_respected():
    flipped = [(a, -b) for a, b in FRONT]
    study = _study(directions=("minimize", "maximize"), front=flipped)
    assert _run(study, [(6.0, -6.0)] * 3) == 0
    assert _run(study, [(0.0, 0.0)] * 3) is None


def test_startup_and_warmup():
    study = _study(n_startup_trials=6)
    assert _run(study, [(9.0, 9.0)] * 3) is None
    study = _study(n_warmup_steps=2)
    assert _run(study, [(9.0, 9.0)] * 3) == 2


def test_nan_prunes_and_steps_without_vectors_are_skipped():
    study = _study()
    assert _run(study, [(math.nan, 0.0)]) == 0
    trial = study.ask()
    trial.report_values([9.0, 9.0], 7)  # no completed trial reported step 7
    assert not trial.should_prune()


def test_wrong_vector_length_is_reported():
    study = _study()
    trial = study.ask()
    study._set_trial_attr(trial._frozen, "intermediate_vectors", {"0": [1.0]}, system=True)
    with pytest.raises(InvalidParameterError, match="a list of 2 numbers"):
        trial.should_prune()


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"n_startup_trials": -1}, "n_startup_trials", "a non-negative int"),
        ({"n_warmup_steps": "0"}, "n_warmup_steps", "a non-negative int"),
        ({"interval_steps": 0}, "interval_steps", "a positive int"),
        ({"min_dominating": 0}, "min_dominating", "a positive int or None"),
        ({"n_min_trials": 0}, "n_min_trials", "a positive int"),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of ParetoPruner must be {rule}"
    ):
        ParetoPruner(**kwargs)
