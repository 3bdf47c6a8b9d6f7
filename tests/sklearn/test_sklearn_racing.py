from __future__ import annotations

import numpy as np
import pytest
from _sklearn_knob import Knob, Table, knob_data, table_data, table_rows
from sklearn.model_selection import KFold

from tunelab import InvalidParameterError, TrialState
from tunelab.sklearn import DuplicateConfigurationsWarning, FoldRacing, SearchCV
from tunelab.sklearn._racing import fold_spread, score_resolution


def test_p_value_is_small_only_when_candidate_is_consistently_worse():
    racing = FoldRacing()
    inc = np.array([0.80, 0.90, 0.85, 0.88])
    assert racing.p_value(inc - [0.05, 0.06, 0.04, 0.05], inc) < 0.01
    assert racing.p_value(inc, inc) == 1.0
    assert racing.p_value(inc + 0.01, inc) == 1.0
    assert racing.p_value(inc - [0.05, -0.05, 0.04, -0.04], inc) > 0.3
    assert racing.p_value(inc - 0.02, inc) == 0.0  # the same margin on every fold


def test_a_deficit_of_one_test_sample_per_fold_is_not_conclusive():
    racing = FoldRacing()
    step = 1 / 24  # accuracy on 24-row folds
    inc = np.array([19, 20, 20]) * step
    assert racing.p_value(inc - step, inc) == 0.0  # a continuous score: no spread, certain
    assert racing.p_value(inc - step, inc, resolution=step) > 0.1
    assert racing.p_value(inc - 3 * step, inc, resolution=step) < 0.05


def test_score_resolution_is_one_sample_only_for_scores_counted_in_samples():
    sizes = [24, 24, 23]
    assert score_resolution([np.array([18, 20, 19]) / np.array(sizes)], sizes) == 1 / 24
    assert score_resolution([np.array([0.8, 0.75, 0.7123])], sizes) == 0.0
    assert score_resolution([], sizes) == 0.0


def test_the_best_one_sample_behind_on_its_first_folds_is_not_raced_out():
    # Found by a QA pass: the grid's best trails an earlier configuration by exactly one test
    # sample on each of its first three folds, then wins on the last two.
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(
        n_samples=120, n_features=8, n_informative=4, flip_y=0.1, random_state=26
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=26)
    space = {"max_depth": [1, 2, 3, 4, 5, 6, None], "min_samples_leaf": [1, 5, 10]}
    tree = DecisionTreeClassifier(random_state=0)
    grid = GridSearchCV(tree, space, cv=cv).fit(X, y)
    ours = SearchCV(tree, space, cv=cv, random_state=26).fit(X, y)
    assert ours.best_params_ == grid.best_params_
    assert ours.best_score_ == pytest.approx(grid.best_score_)


def test_no_stop_before_min_folds():
    racing = FoldRacing(alpha=0.1, min_folds=3)
    inc = np.array([0.9, 0.9, 0.9, 0.9, 0.9])
    assert not racing.should_stop(np.array([0.1, 0.1]), inc)
    assert racing.should_stop(np.array([0.1, 0.1, 0.1]), inc)


def test_fold_spread_pools_each_configurations_own_deviations():
    sd, df = fold_spread(
        [np.array([0.9, 0.8, 1.0]), np.array([0.85, 0.85, 0.8, 0.9]), np.array([0.7])]
    )
    # (0.02 + 0.005) over 2 + 3 degrees of freedom; a single fold contributes nothing.
    assert df == 5
    assert sd == pytest.approx(np.sqrt(0.025 / 5))
    assert fold_spread([])[1] == 0
    # A constant configuration far behind does not shrink it: the spread of the configurations
    # in contention (here the incumbent alone) is larger and wins.
    sd, df = fold_spread([np.array([0.9, 0.8, 1.0]), np.array([0.5, 0.5, 0.5, 0.5])])
    assert (sd, df) == (pytest.approx(0.1), 2)


def test_early_screen_stops_only_far_behind_configurations_before_min_folds():
    racing = FoldRacing()
    inc = np.array([0.98, 0.99, 0.97, 0.98, 0.99])
    spread = (0.01, 8)
    # 2 * 0.01 is the worst-case spread of a difference; 0.08 behind is 4 of them.
    assert racing.should_stop(np.array([0.90]), inc, spread)
    assert not racing.should_stop(np.array([0.97]), inc, spread)
    assert racing.screen_p_value(np.array([0.97]), inc[:1], spread) > 0.3
    # Two folds halve the variance of the mean difference.
    assert racing.screen_p_value(np.array([0.95, 0.96]), inc[:2], spread) < racing.screen_p_value(
        np.array([0.95]), inc[:1], spread
    )
    # No estimate, too little of one, a zero spread, or the screen switched off: wait.
    assert not racing.should_stop(np.array([0.5]), inc)
    assert not racing.should_stop(np.array([0.5]), inc, (0.01, 3))
    assert not racing.should_stop(np.array([0.5]), inc, (0.0, 8))
    assert not FoldRacing(early_screen=False).should_stop(np.array([0.5]), inc, spread)
    # From min_folds on, the paired test decides, whatever the spread says.
    close = inc[:3] - [0.001, -0.001, 0.002]
    assert not racing.should_stop(close, inc, spread)


def test_the_early_screen_never_stops_on_one_test_sample_of_difference():
    # Found by a QA pass: the paired test took the spread to be at least one sample's worth,
    # the early screen did not, so on folds of a few rows one misclassification screened out.
    racing = FoldRacing()
    inc = np.array([1.0, 0.8, 0.8, 0.8, 1.0])
    step = 0.2  # accuracy on 5-row folds
    spread = (0.1, 9)
    assert racing.should_stop(np.array([0.6]), inc, spread)  # as a continuous score
    for behind in (1, 2):  # test samples behind on the first fold
        candidate = np.array([1.0 - behind * step])
        assert not racing.should_stop(candidate, inc, spread, resolution=step)
        assert racing.screen_p_value(candidate, inc[:1], spread, resolution=step) > 0.1
    # Leave-one-out: every fold score is 0 or 1; one wrong row is one sample, never conclusive.
    assert not racing.should_stop(np.array([0.0]), np.ones(40), (0.16, 39), resolution=1.0)
    assert not racing.should_stop(np.array([0.0, 0.0]), np.ones(40), (0.16, 39), resolution=1.0)


@pytest.mark.parametrize("case", ["leave_one_out", "ten_folds_of_five_rows"])
def test_the_best_is_kept_when_folds_hold_few_rows(case):
    # Found by a QA pass: with one row per fold (LeaveOneOut), the grid's best, wrong on the
    # first row only, was screened out after that one fold; likewise on 5-row folds.
    from sklearn.model_selection import GridSearchCV, LeaveOneOut

    if case == "leave_one_out":
        n, cv = 40, LeaveOneOut()
        table = np.ones((2, n), bool)
        table[0, [5, 17]] = False  # 0.95
        table[1, 0] = False  # 0.975, wrong on the first fold's only row
    else:
        n, cv = 50, KFold(10)
        table = np.ones((2, n), bool)
        table[0, [5, 10, 15]] = False  # 0.94: one wrong row on folds 2-4
        table[1, [0, 1]] = False  # 0.96: two wrong rows on the first fold
    X, y = table_data(n)
    space = {"cfg": [0, 1]}
    grid = GridSearchCV(Table(table), space, cv=cv).fit(X, y)
    ours = SearchCV(Table(table), space, cv=cv, random_state=0).fit(X, y)
    assert grid.best_params_ == {"cfg": 1}
    assert ours.best_params_ == grid.best_params_
    assert ours.best_score_ == pytest.approx(grid.best_score_)
    assert list(ours.cv_results_["n_folds_evaluated"]) == [ours.n_splits_] * 2


def test_the_screen_spread_ignores_near_constant_configurations_far_behind():
    # Found by a QA pass: the spread pooled over every finished configuration, and models that
    # score about the same on every fold (one that always predicts the majority class) shrank
    # it, so the grid's best, behind on its first fold only, was screened out after it.
    # 100-row folds: one sample (0.01) is well below the differences at stake here.
    flat = table_rows(100, [60, 60, 60, 61, 60])  # 0.602, nearly constant
    good = table_rows(100, [90, 94, 86, 90, 90])  # 0.90, the incumbent
    best = table_rows(100, [82, 99, 96, 96, 96])  # 0.938, 0.08 behind on the first fold
    X, y = table_data(500)
    for n_flat in (0, 5):
        table = np.array([flat] * n_flat + [good, best])
        space = {"cfg": list(range(len(table)))}
        search = SearchCV(Table(table), space, cv=KFold(5), random_state=0).fit(X, y)
        assert search.best_params_ == {"cfg": n_flat + 1}
        assert search.best_score_ == pytest.approx(0.938)
    # Far-behind configurations do not shrink the spread; contenders' spreads still pool.
    incumbent = np.array([0.90, 0.94, 0.86, 0.90, 0.90])
    flat_scores = np.array([0.60, 0.60, 0.60, 0.61, 0.60])
    assert fold_spread([*[flat_scores] * 5, incumbent]) == fold_spread([incumbent])
    near = np.array([0.89, 0.95, 0.84, 0.91, 0.90])
    assert fold_spread([*[flat_scores] * 5, near, incumbent])[1] == 8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0}, r"'alpha' parameter of FoldRacing must be a number in \(0, 1\)"),
        ({"min_folds": 1}, r"'min_folds' parameter of FoldRacing must be an int >= 2"),
        ({"early_screen": "yes"}, r"'early_screen' parameter of FoldRacing must be True or False"),
        (
            {"stop_duplicates": 1},
            r"'stop_duplicates' parameter of FoldRacing must be True or False",
        ),
    ],
)
def test_bad_racing_policy(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        FoldRacing(**kwargs)


@pytest.mark.parametrize("early_screen", [True, False])
@pytest.mark.parametrize("order", ["best_first", "best_last", "shuffled"])
@pytest.mark.parametrize("data_seed", [0, 1, 2])
def test_racing_keeps_the_true_best_and_saves_folds(order, data_seed, early_screen):
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
        racing=FoldRacing(alpha=0.05, min_folds=3, early_screen=early_screen),
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
        folds = res["n_folds_evaluated"][1:]
        if early_screen:
            # Far-behind configurations go after one or two folds, close ones by fold 3.
            assert max(folds) <= 3 and min(folds) <= 2
        else:
            # Everything after a clear winner is raced out at the earliest fold allowed.
            assert list(folds) == [3] * 11


def test_pruned_trials_are_pruned_in_the_study_with_their_fold_reports():
    X, y = knob_data()
    search = SearchCV(Knob(jitter=0.01), {"q": [1.0, 0.0, 0.5]}, cv=KFold(5), random_state=0)
    search.fit(X, y)
    trials = search.study_.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]
    folds = search.cv_results_["n_folds_evaluated"]
    assert folds[1] < 5 and folds[2] < 5
    for trial, n_folds in zip(trials, folds):
        assert sorted(trial.intermediate_values) == list(range(n_folds))
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


def test_racing_in_parallel_batches_keeps_the_best_and_saves_folds():
    from joblib import parallel_config

    X, y = knob_data()
    qualities = [1.0, 0.0, 0.05, 0.1, 0.95, 0.2, 0.3, 0.15]
    # Threads keep the test fast; the code path (batches of n_jobs configurations, raced one
    # fold at a time against the incumbent of the previous batches) is the same.
    with parallel_config(backend="threading"):
        search = SearchCV(Knob(jitter=0.02), {"q": qualities}, cv=KFold(5), n_jobs=2).fit(X, y)
    res = search.cv_results_
    assert search.best_params_ == {"q": 1.0}
    assert res["n_folds_evaluated"][search.best_index_] == 5
    assert search.n_folds_saved_ > 0
    assert search.n_folds_saved_ == int(
        np.sum(5 - res["n_folds_evaluated"][res["state"] == "PRUNED"])
    )


def _tree_search(racing, depths=(None, 40, 2, 80)):
    from sklearn.datasets import load_breast_cancer
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_breast_cancer(return_X_y=True)
    # The trees stop growing long before depth 40, so depths 40 and 80 give the same model as
    # None; depth 2 is a different one.
    space = {"max_depth": list(depths)}
    search = SearchCV(
        DecisionTreeClassifier(random_state=0), space, cv=KFold(5), racing=racing, random_state=0
    )
    return search.fit(X, y)


def test_a_configuration_that_fits_the_same_model_stops_after_min_folds():
    search = _tree_search(FoldRacing(stop_duplicates=True))
    res = search.cv_results_
    row = {p["max_depth"]: i for i, p in enumerate(res["params"])}
    deep = sorted((row[None], row[40], row[80]))
    first, twins = deep[0], deep[1:]
    assert res["state"][first] == "COMPLETE" and res["n_folds_evaluated"][first] == 5
    assert list(res["state"][twins]) == ["DUPLICATE", "DUPLICATE"]
    assert list(res["n_folds_evaluated"][twins]) == [3, 3]
    assert res["state"][row[2]] in ("COMPLETE", "PRUNED")
    assert res["state"][search.best_index_] == "COMPLETE"
    assert search.n_folds_saved_ == int(5 * 4 - res["n_folds_evaluated"].sum())
    trials = search.study_.trials
    # The study learns the twin's full CV score at the duplicate's parameters.
    for i in twins:
        trial = trials[res["trial_number"][i]]
        assert trial.state == TrialState.COMPLETE
        assert trial.user_attrs["duplicate_of"] == res["trial_number"][first]
        assert trial.value == pytest.approx(res["mean_test_score"][first])
    assert "duplicate_of" not in trials[res["trial_number"][row[2]]].user_attrs


def test_many_duplicates_warn_and_name_the_parameter_with_few_effective_values():
    with pytest.warns(DuplicateConfigurationsWarning) as record:
        search = _tree_search(FoldRacing(stop_duplicates=True), depths=(None, 40, 2, 80, 60, 100))
    assert (search.cv_results_["state"] == "DUPLICATE").sum() == 4
    message = str(record[0].message)
    assert "4 of 6 configurations" in message and "2 distinct models" in message
    assert "max_depth (" in message and "that parameter over its" in message


def test_a_few_duplicates_do_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateConfigurationsWarning)
        search = _tree_search(FoldRacing(stop_duplicates=True))
    assert (search.cv_results_["state"] == "DUPLICATE").sum() == 2


@pytest.mark.parametrize("racing", [True, FoldRacing(stop_duplicates=True)])
def test_models_equal_on_the_first_fold_only_are_not_duplicates(racing):
    # Found by a QA pass: on this split the first fold's tree never grows past depth 4, so
    # max_depth=4 and None fit the same tree there; on later folds they differ and depth 4 is
    # the grid's best. Judged on one fold, it stopped as a duplicate of the worse one.
    from sklearn.datasets import load_wine
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=3)
    tree = DecisionTreeClassifier(random_state=0)
    space = {"max_depth": [None, 4]}
    grid = GridSearchCV(tree, space, cv=cv).fit(X, y)
    ours = SearchCV(tree, space, cv=cv, racing=racing).fit(X, y)
    assert ours.best_params_ == grid.best_params_ == {"max_depth": 4}
    assert ours.best_score_ == pytest.approx(grid.best_score_)


def test_duplicates_run_every_fold_when_not_stopped():
    plain = _tree_search(False)
    kept = _tree_search(True)  # the default does not stop duplicates
    for search in (plain, kept):
        assert "DUPLICATE" not in list(search.cv_results_["state"])
    scores = plain.cv_results_["mean_test_score"]
    # They really are the same model: GridSearchCV-style full CV gives identical scores.
    assert scores[0] == scores[1] == scores[3]


def test_model_fingerprint_tells_models_apart_by_their_predictions():
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LogisticRegression, Ridge

    from tunelab.sklearn._bbc import model_fingerprint

    X, y = make_classification(200, 5, random_state=0)
    a = LogisticRegression(C=1.0).fit(X, y)
    b = LogisticRegression(C=1.0).fit(X, y)
    c = LogisticRegression(C=0.5).fit(X, y)
    assert model_fingerprint(a, X, None) == model_fingerprint(b, X, None)
    assert model_fingerprint(a, X, None) != model_fingerprint(c, X, None)
    # Labels are not used even when they are all a scorer asked for: different models often
    # agree on every label.
    labels = {"predict": a.predict(X)}
    assert model_fingerprint(a, X, labels) == model_fingerprint(a, X, None)
    Xr, yr = make_regression(100, 3, random_state=0)
    r1, r2 = Ridge(alpha=1.0).fit(Xr, yr), Ridge(alpha=1.1).fit(Xr, yr)
    assert model_fingerprint(r1, Xr, None) != model_fingerprint(r2, Xr, None)
    assert model_fingerprint(r1, Xr, {"predict": r1.predict(Xr)}) == model_fingerprint(r1, Xr, None)
