from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import TRIAL_GROUP_ATTR, HyperbandPruner, same_group


def test_bracket_count_and_weights():
    pruner = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    study = tl.create_study(study_name="hb", pruner=pruner)
    counts = Counter(pruner.bracket_of(study, n) for n in range(3000))
    assert pruner.n_brackets == 4
    assert set(counts) == {0, 1, 2, 3}
    # Aggressive brackets start more trials, as in Hyperband's schedule.
    assert counts[0] > counts[1] > counts[2] > counts[3]


def test_bracket_is_deterministic_per_trial_number():
    a = HyperbandPruner(max_resource=9)
    b = HyperbandPruner(max_resource=9)
    study = tl.create_study(study_name="same", pruner=a)
    assert [a.bracket_of(study, n) for n in range(50)] == [
        b.bracket_of(study, n) for n in range(50)
    ]


def test_trial_group_names_the_bracket_and_prune_records_it():
    pruner = HyperbandPruner(min_resource=1, max_resource=9)
    study = tl.create_study(pruner=pruner)
    trial = study.ask()
    group = pruner.trial_group(study, trial.freeze())
    assert group == f"bracket-{pruner.bracket_of(study, trial.number)}"
    trial.report(1.0, 0)
    trial.should_prune()
    assert trial.system_attrs[TRIAL_GROUP_ATTR] == group


def test_auto_max_resource_has_no_group_until_a_trial_completes(finish):
    pruner = HyperbandPruner()
    study = tl.create_study(pruner=pruner)
    trial = study.ask()
    assert pruner.trial_group(study, trial.freeze()) is None
    trial.report(1.0, 5)
    assert not trial.should_prune()
    study.tell(trial, 1.0)
    # The next ask records the group, which fixes the brackets from the completed trial:
    # max_resource 6 (last step 5 + 1) -> floor(log3(6)) + 1 = 2 brackets.
    assert pruner.trial_group(study, study.ask().freeze()).startswith("bracket-")
    assert pruner.n_brackets == 2
    finish(study, [1.0] * 9)
    assert pruner.n_brackets == 2  # fixed once, not moved by later, longer trials
    assert pruner.trial_group(study, study.trials[0]).startswith("bracket-")


def test_cuts_happen_only_at_the_rungs_of_the_trials_bracket():
    pruner = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    study = tl.create_study(pruner=pruner)
    rungs = {s: {3 ** (s + k) for k in range(4)} for s in range(4)}
    pruned_at = {}
    for number in range(60):
        trial = study.ask()
        quality = (number * 7919) % 13  # a fixed, shuffled quality per trial
        for step in range(28):
            trial.report(quality + 1.0 / (step + 1), step)
            if trial.should_prune():
                pruned_at[number] = step
                study.tell(trial, state=tl.TrialState.PRUNED)
                break
        else:
            study.tell(trial, quality)
    assert pruned_at, "some trial must be stopped"
    for number, step in pruned_at.items():
        assert step in rungs[pruner.bracket_of(study, number)]
    # The most conservative bracket never stops a trial before max_resource.
    assert all(pruner.bracket_of(study, n) != 3 or s >= 27 for n, s in pruned_at.items())


def test_trials_compete_only_within_their_bracket():
    pruner = HyperbandPruner(min_resource=1, max_resource=27)
    study = tl.create_study(study_name="brackets", pruner=pruner)
    by_bracket: dict[int, list] = {}
    trials = [study.ask() for _ in range(40)]
    for t in trials:
        by_bracket.setdefault(pruner.bracket_of(study, t.number), []).append(t)
    # Bracket 0's trials report excellent values at rung 0; a mediocre bracket-1 trial
    # must not be judged against them.
    for t in by_bracket[0]:
        t.report(0.0, 1)
        t.should_prune()
    mediocre = by_bracket[1][0]
    mediocre.report(5.0, 3)  # bracket 1's first rung is at step 3
    assert not mediocre.should_prune()
    # The same value in bracket 0 is cut at once: the bracket-0 reports above are its rivals.
    late = by_bracket[0].pop()
    assert "sh_rung_0" in late.system_attrs
    in_zero = study.ask()
    while pruner.bracket_of(study, in_zero.number) != 0:
        in_zero = study.ask()
    in_zero.report(5.0, 1)
    assert in_zero.should_prune()
    # Every trial's bracket is recorded when it is asked, so samplers can filter by it.
    frozen = study.trials
    for trial, bracket in ((mediocre, 1), (in_zero, 0)):
        expected = {t.number for t in frozen if pruner.bracket_of(study, t.number) == bracket}
        assert {t.number for t in same_group(frozen, trial.freeze())} == expected


def test_auto_max_resource_is_settled_once_per_study_for_every_process(tmp_path, finish):
    # Two Study objects on one SQLite file stand for two worker processes (or a run and its
    # resumption); the second sees a longer completed trial before its first decision.
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = HyperbandPruner()
    a = tl.create_study(study_name="hb", storage=url, pruner=first)
    finish(a, [1.0] * 9)  # max_resource 9 -> 3 brackets
    a.ask()  # the first trial asked after it settles the brackets for the study
    finish(a, [1.0] * 300)
    second = HyperbandPruner()
    b = tl.load_study(study_name="hb", storage=url, pruner=second)
    asked = b.ask()
    assert first.n_brackets == second.n_brackets == 3
    assert [first.bracket_of(a, n) for n in range(60)] == [
        second.bracket_of(b, n) for n in range(60)
    ]
    assert asked.system_attrs[TRIAL_GROUP_ATTR] == f"bracket-{first.bracket_of(a, asked.number)}"
    assert [second.trial_group(b, t) for t in b.trials[1:]] == [
        t.system_attrs[TRIAL_GROUP_ATTR] for t in b.trials[1:]
    ]


def test_rivals_are_the_trials_recorded_in_the_same_bracket():
    # Trials an earlier run judged in bracket 2 (recorded so) are no bracket-0 rivals, whatever
    # the hash says about their numbers today.
    pruner = HyperbandPruner(min_resource=1, max_resource=27)
    study = tl.create_study(study_name="resumed", pruner=pruner)
    for _ in range(10):
        study.add_trial(
            tl.FrozenTrial(
                number=-1,
                state=tl.TrialState.PRUNED,
                values=[0.0],
                intermediate_values={9: 0.0},
                system_attrs={TRIAL_GROUP_ATTR: "bracket-2", "sh_rung_0": 0.0},
            )
        )
    trial = study.ask()
    while trial.system_attrs[TRIAL_GROUP_ATTR] != "bracket-0":
        trial = study.ask()
    trial.report(5.0, 1)
    assert not trial.should_prune()  # alone at bracket 0's first rung
    assert trial.system_attrs["sh_rung_0"] == 5.0


def _seeded_run(**pruner_kwargs) -> list:
    """An unnamed study, so under a random name: each trial's state, bracket and last step."""
    study = tl.create_study(
        sampler=tl.samplers.RandomSampler(seed=0),
        pruner=HyperbandPruner(1, 27, **pruner_kwargs),
    )

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        for step in range(27):
            trial.report((x - 1) ** 2 + 3.0 / (step + 1), step)
            if trial.should_prune():
                raise tl.TrialPruned()
        return (x - 1) ** 2

    study.optimize(objective, n_trials=30)
    return [(t.state, t.system_attrs[TRIAL_GROUP_ATTR], t.last_step) for t in study.trials]


def test_identical_seeded_runs_get_identical_brackets():
    assert _seeded_run() == _seeded_run()
    assert _seeded_run(seed=7) == _seeded_run(seed=7)
    groups = [[group for _, group, _ in _seeded_run(seed=s)] for s in (None, 7)]
    assert groups[0] != groups[1]  # the seed is mixed into the hash


def test_n_brackets_is_known_from_an_int_max_resource():
    assert HyperbandPruner(max_resource=27).n_brackets == 4
    assert HyperbandPruner().n_brackets is None


def test_brackets_do_not_depend_on_the_study_name():
    pruner = HyperbandPruner(max_resource=27)
    named, unnamed = tl.create_study(study_name="a", pruner=pruner), tl.create_study(pruner=pruner)
    assert [pruner.bracket_of(named, n) for n in range(50)] == [
        pruner.bracket_of(unnamed, n) for n in range(50)
    ]


def test_the_last_bracket_cuts_before_max_resource_when_that_is_no_power_of_eta():
    pruner = HyperbandPruner(min_resource=1, max_resource=20, reduction_factor=3)
    study = tl.create_study(pruner=pruner)
    asked = [study.ask() for _ in range(40)]
    assert pruner.n_brackets == 3  # the last one, bracket 2, first cuts at 3**2 = 9
    last = [t for t in asked if t.system_attrs[TRIAL_GROUP_ATTR] == "bracket-2"]
    good, bad = last[:2]
    good.report(0.0, 9)
    assert not good.should_prune()
    bad.report(5.0, 9)
    assert bad.should_prune()  # at step 9, well before max_resource


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"min_resource": 0}, "min_resource", "a positive int"),
        ({"max_resource": "big"}, "max_resource", "an int >= min_resource \\(1\\) or 'auto'"),
        ({"min_resource": 5, "max_resource": 3}, "max_resource", "an int >= min_resource"),
        ({"reduction_factor": 1}, "reduction_factor", "an int >= 2"),
        ({"bootstrap_count": 2}, "bootstrap_count", "0 when max_resource is 'auto'"),
        ({"max_resource": np.array([5, 6])}, "max_resource", "an int >= min_resource"),
        ({"seed": -1}, "seed", "a non-negative int or None"),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of HyperbandPruner must be {rule}"
    ):
        HyperbandPruner(**kwargs)
