from __future__ import annotations

import numpy as np
import pytest
from _sklearn_knob import Knob, knob_data
from sklearn.model_selection import KFold

from tunelab import InvalidParameterError, TrialState
from tunelab.sklearn import FoldRacing, SearchCV


def test_p_value_is_small_only_when_candidate_is_consistently_worse():
    racing = FoldRacing()
    inc = np.array([0.80, 0.90, 0.85, 0.88])
    assert racing.p_value(inc - [0.05, 0.06, 0.04, 0.05], inc) < 0.01
    assert racing.p_value(inc, inc) == 1.0
    assert racing.p_value(inc + 0.01, inc) == 1.0
    assert racing.p_value(inc - [0.05, -0.05, 0.04, -0.04], inc) > 0.3
    assert racing.p_value(inc - 0.02, inc) == 0.0  # the same margin on every fold


def test_no_stop_before_min_folds():
    racing = FoldRacing(alpha=0.1, min_folds=3)
    inc = np.array([0.9, 0.9, 0.9, 0.9, 0.9])
    assert not racing.should_stop(np.array([0.1, 0.1]), inc)
    assert racing.should_stop(np.array([0.1, 0.1, 0.1]), inc)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0}, r"'alpha' parameter of FoldRacing must be a number in \(0, 1\)"),
        ({"min_folds": 1}, r"'min_folds' parameter of FoldRacing must be an int >= 2"),
    ],
)
def test_bad_racing_policy(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        FoldRacing(**kwargs)


@pytest.mark.parametrize("order", ["best_first", "best_last", "shuffled"])
@pytest.mark.parametrize("data_seed", [0, 1, 2])
def test_racing_keeps_the_true_best_and_saves_folds(order, data_seed):
    # True qualities: one clear winner, the rest well behind; fold effects are shared.
    qualities = [1.0] + [float(q) for q in np.linspace(0.0, 0.8, 11)]
    if order == "best_last":
        qualities = qualities[1:] + qualities[:1]
    elif order == "shuffled":
        qualities = list(np.random.default_rng(data_seed).permutation(qualities))
    X, y = knob_data(seed=data_seed)
    search = SearchCV(
        Knob(jitter=0.03),
        {"q": qualities},
        cv=KFold(6),
        racing=FoldRacing(alpha=0.05, min_folds=3),
        random_state=0,
    ).fit(X, y)
    assert search.best_params_["q"] == 1.0
    res = search.cv_results_
    assert res["n_folds_evaluated"][search.best_index_] == 6
    # Ascending qualities: every newcomer beats the incumbent, so nothing can be raced out.
    assert (search.n_folds_saved_ == 0) if order == "best_last" else (search.n_folds_saved_ > 0)
    assert search.n_folds_saved_ == int(
        np.sum(6 - res["n_folds_evaluated"][res["state"] == "PRUNED"])
    )
    assert search.generalization_.n_folds_saved == search.n_folds_saved_
    if order == "best_first":
        # Everything after a clear winner is raced out at the earliest fold allowed.
        assert list(res["n_folds_evaluated"][1:]) == [3] * 11


def test_pruned_trials_are_pruned_in_the_study_with_their_fold_reports():
    X, y = knob_data()
    search = SearchCV(Knob(jitter=0.01), {"q": [1.0, 0.0, 0.5]}, cv=KFold(5), random_state=0)
    search.fit(X, y)
    trials = search.study_.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]
    assert sorted(trials[1].intermediate_values) == [0, 1, 2]
    assert sorted(trials[0].intermediate_values) == [0, 1, 2, 3, 4]
    assert trials[0].value == pytest.approx(search.best_score_)


def test_racing_false_runs_every_fold():
    X, y = knob_data()
    search = SearchCV(Knob(jitter=0.01), {"q": [1.0, 0.0, 0.5]}, cv=KFold(5), racing=False)
    search.fit(X, y)
    assert list(search.cv_results_["n_folds_evaluated"]) == [5, 5, 5]
    assert search.n_folds_saved_ == 0


def test_raced_rows_rank_after_every_full_row():
    X, y = knob_data()
    # q=0.9 is raced out by q=1.0, yet its partial mean may beat a full row's: rank says no.
    search = SearchCV(Knob(jitter=0.0), {"q": [1.0, 0.9]}, cv=KFold(5)).fit(X, y)
    res = search.cv_results_
    assert list(res["state"]) == ["COMPLETE", "PRUNED"]
    assert list(res["rank_test_score"]) == [1, 2]
    assert np.isnan(res["split4_test_score"][1])
