from __future__ import annotations

from collections import Counter

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


@pytest.mark.parametrize(
    ("kwargs", "param", "rule"),
    [
        ({"min_resource": 0}, "min_resource", "a positive int"),
        ({"max_resource": "big"}, "max_resource", "an int >= min_resource \\(1\\) or 'auto'"),
        ({"min_resource": 5, "max_resource": 3}, "max_resource", "an int >= min_resource"),
        ({"reduction_factor": 1}, "reduction_factor", "an int >= 2"),
        ({"bootstrap_count": 2}, "bootstrap_count", "0 when max_resource is 'auto'"),
    ],
)
def test_validation(kwargs, param, rule):
    with pytest.raises(
        InvalidParameterError, match=f"The '{param}' parameter of HyperbandPruner must be {rule}"
    ):
        HyperbandPruner(**kwargs)
