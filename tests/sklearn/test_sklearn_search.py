from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from _sklearn_knob import Knob, knob_data
from joblib import parallel_config
from scipy import stats
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.decomposition import PCA
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tunelab import Float, InvalidParameterError
from tunelab.samplers import RandomSampler
from tunelab.sklearn import AllFitsFailedError, OptimismWarning, SearchCV

pytestmark = pytest.mark.filterwarnings(f"ignore::{OptimismWarning.__module__}.OptimismWarning")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).choice(len(y), 150, replace=False)
    return StandardScaler().fit_transform(X[idx]), y[idx]


GRID = {"C": [0.01, 1.0, 100.0], "kernel": ["linear", "rbf"]}


def test_cv_results_match_grid_search_without_racing(iris):
    X, y = iris
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    ours = SearchCV(SVC(), GRID, cv=cv, racing=False, return_train_score=True).fit(X, y)
    ref = GridSearchCV(SVC(), GRID, cv=cv, return_train_score=True).fit(X, y)
    ours_r, ref_r = ours.cv_results_, ref.cv_results_
    assert set(ref_r) <= set(ours_r)
    assert set(ours_r) - set(ref_r) == {"n_folds_evaluated", "state", "trial_number"}
    assert ours_r["params"] == ref_r["params"]
    for key in ref_r:
        if key.startswith(("mean_test", "std_test", "split", "rank_", "mean_train", "std_train")):
            np.testing.assert_allclose(ours_r[key], ref_r[key], err_msg=key)
        if key.startswith("param_"):
            assert isinstance(ours_r[key], np.ma.MaskedArray)
            assert list(ours_r[key]) == list(ref_r[key])
    assert ours.best_params_ == ref.best_params_
    assert ours.best_score_ == pytest.approx(ref.best_score_)
    assert ours.best_index_ == ref.best_index_
    assert ours.n_splits_ == 4 and ours.refit_time_ >= 0
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    assert ours.n_features_in_ == 4


def test_list_of_grids_match_grid_search(iris):
    X, y = iris
    grids = [{"kernel": ["linear"], "C": [0.1, 1.0]}, {"kernel": ["rbf"], "gamma": [0.1, 1.0]}]
    cv = KFold(3, shuffle=True, random_state=1)
    ours = SearchCV(SVC(), grids, cv=cv, racing=False).fit(X, y)
    ref = GridSearchCV(SVC(), grids, cv=cv).fit(X, y)
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )
    assert (
        ours.cv_results_["param_gamma"].mask.tolist()
        == ref.cv_results_["param_gamma"].mask.tolist()
    )


def test_a_list_of_grids_keeps_grid_search_order_when_one_name_prefixes_another(iris):
    # Found by a QA pass: "sc2__n_components" came before "sc" inside a list of grids.
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler

    X, y = iris
    pipe = Pipeline([("sc", StandardScaler()), ("sc2", PCA()), ("clf", LogisticRegression())])
    grids = [{"sc": [StandardScaler(), MinMaxScaler()], "sc2__n_components": [1, 2]}]
    cv = StratifiedKFold(3)
    ours = SearchCV(pipe, grids, cv=cv, racing=False).fit(X, y)
    ref = GridSearchCV(pipe, grids, cv=cv).fit(X, y)
    order = [(type(p["sc"]).__name__, p["sc2__n_components"]) for p in ours.cv_results_["params"]]
    assert order == [
        (type(p["sc"]).__name__, p["sc2__n_components"]) for p in ref.cv_results_["params"]
    ]
    assert ours.best_index_ == ref.best_index_


def test_sampled_space_is_reproducible_and_uses_the_study(cancer):
    X, y = cancer
    space = {"C": stats.loguniform(1e-3, 1e2), "kernel": ["linear", "rbf"]}
    runs = [SearchCV(SVC(), space, n_trials=4, cv=3, random_state=7).fit(X, y) for _ in range(2)]
    assert runs[0].cv_results_["params"] == runs[1].cv_results_["params"]
    assert len(runs[0].study_.trials) == 4
    assert all(1e-3 <= p["C"] <= 1e2 for p in runs[0].cv_results_["params"])
    sampler_run = SearchCV(
        SVC(), {"C": Float(0.01, 10, log=True)}, n_trials=3, cv=3, sampler=RandomSampler(seed=3)
    ).fit(X, y)
    assert sampler_run.study_.sampler is not None and len(sampler_run.cv_results_["params"]) == 3


def test_partial_grid_draws_distinct_points(iris):
    X, y = iris
    search = SearchCV(SVC(), GRID, n_trials=4, cv=3, random_state=0).fit(X, y)
    params = [tuple(sorted(p.items())) for p in search.cv_results_["params"]]
    assert len(params) == len(set(params)) == 4


def test_pipeline_and_multimetric_with_named_refit(cancer):
    X, y = cancer
    pipe = Pipeline([("pca", PCA(n_components=5)), ("clf", RidgeClassifier())])
    search = SearchCV(
        pipe,
        {"clf__alpha": [0.01, 1.0, 100.0]},
        scoring={"acc": "accuracy", "auc": "roc_auc"},
        refit="auc",
        cv=3,
        random_state=0,
    ).fit(X, y)
    res = search.cv_results_
    assert search.multimetric_
    for key in ("mean_test_acc", "mean_test_auc", "rank_test_acc", "split2_test_auc"):
        assert key in res
    assert search.best_index_ == int(np.argmin(res["rank_test_auc"]))
    assert search.best_score_ == pytest.approx(res["mean_test_auc"][search.best_index_])
    assert set(search.scorer_) == {"acc", "auc"}
    assert search.decision_function(X).shape == (len(y),)
    assert search.best_estimator_.named_steps["clf"].alpha == search.best_params_["clf__alpha"]


def test_delegation_follows_the_estimator(iris):
    X, y = iris
    search = SearchCV(SVC(), {"C": [1.0]}, cv=3).fit(X, y)
    assert not hasattr(search, "predict_proba")
    assert search.decision_function(X).shape == (len(y), 3)
    pca_search = SearchCV(PCA(), {"n_components": [2]}, cv=3, scoring=lambda e, X, y=None: 0.0)
    pca_search.fit(X)
    assert pca_search.transform(X).shape == (len(y), 2)
    assert pca_search.inverse_transform(pca_search.transform(X)).shape == X.shape


def test_nested_inside_cross_val_score_and_predict(iris):
    X, y = iris
    search = SearchCV(RidgeClassifier(), {"alpha": [0.1, 10.0]}, cv=3, random_state=0)
    scores = cross_val_score(search, X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores > 0.6) & (scores <= 1.0))
    pred = cross_val_predict(search, X, y, cv=3)
    assert pred.shape == y.shape and np.mean(pred == y) > 0.6


def test_fit_params_and_groups_are_routed(cancer):
    X, y = cancer
    groups = np.arange(len(y)) % 5
    from sklearn.model_selection import GroupKFold

    search = SearchCV(RidgeClassifier(), {"alpha": [0.1, 1.0]}, cv=GroupKFold(5), racing=False).fit(
        X, y, groups=groups, sample_weight=np.ones(len(y))
    )
    assert search.n_splits_ == 5 and len(search.cv_results_["params"]) == 2


def test_failed_fits_follow_error_score_nan():
    X, y = knob_data()
    search = SearchCV(Knob(fail_below=0.5), {"q": [1.0, 0.0, 0.6]}, cv=KFold(3))
    with pytest.warns(
        FitFailedWarning,
        match=r"(?s)1 of 7 fits failed.*1 fit\(s\) failed with: ValueError: q=0.0 is below 0.5",
    ):
        search.fit(X, y)
    res = search.cv_results_
    assert list(res["state"]) == ["COMPLETE", "FAIL", "COMPLETE"]
    assert np.isnan(res["mean_test_score"][1]) and res["rank_test_score"][1] == 3
    assert search.best_params_ == {"q": 1.0}
    assert search.study_.trials[1].fail_reason == "ValueError: q=0.0 is below 0.5"


def test_numeric_error_score_scores_the_failed_folds():
    X, y = knob_data()
    search = SearchCV(
        Knob(fail_below=0.5), {"q": [1.0, 0.0]}, cv=KFold(3), error_score=-5.0, racing=False
    )
    with pytest.warns(FitFailedWarning, match="3 of 6 fits failed"):
        search.fit(X, y)
    assert search.cv_results_["mean_test_score"][1] == -5.0


def test_error_score_raise_reraises_and_leaves_no_running_trial():
    X, y = knob_data()
    search = SearchCV(Knob(fail_below=0.5), {"q": [0.0]}, cv=KFold(3), error_score="raise")
    with pytest.raises(ValueError, match=r"q=0.0 is below 0.5"):
        search.fit(X, y)
    assert [t.state.name for t in search.study_.trials] == ["FAIL"]


def test_all_failed_counts_groups_and_names_the_option():
    X, y = knob_data()
    search = SearchCV(Knob(fail_below=5), {"q": [0.0, 1.0]}, cv=KFold(3))
    with pytest.raises(
        AllFitsFailedError,
        match=r"(?s)All 6 fits failed \(2 configuration\(s\)\).*3 fit\(s\) failed with: ValueError: q=0.0 is below 5.*error_score='raise'",
    ):
        search.fit(X, y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"cv": 1},
            r"'cv' parameter of SearchCV must be .* Got 1 instead\. Cross-validation needs at least 2 folds",
        ),
        ({"cv": "five"}, r"'cv' parameter of SearchCV must be .*Got 'five' instead"),
        ({"cv": 2.5}, r"'cv' parameter of SearchCV must be .*Got 2\.5 instead"),
        (
            {"scoring": "acuracy"},
            r"'scoring' parameter of SearchCV .*Got 'acuracy' instead\. Did you mean 'accuracy'",
        ),
        ({"scoring": 3}, r"'scoring' parameter of SearchCV must be"),
        (
            {"scoring": ["accuracy", "f1"]},
            r"'refit' parameter of SearchCV must be one of the scoring keys",
        ),
        ({"n_trials": 0}, r"'n_trials' parameter of SearchCV must be a positive int or None"),
        ({"timeout": -1}, r"'timeout' parameter of SearchCV must be a positive number"),
        (
            {"error_score": "ignore"},
            r"'error_score' parameter of SearchCV must be 'raise' or a number",
        ),
        ({"racing": "yes"}, r"'racing' parameter of SearchCV must be True, False or a FoldRacing"),
        ({"random_state": -2}, r"'random_state' parameter of SearchCV"),
        ({"n_jobs": 0}, r"'n_jobs' parameter of SearchCV must be a non-zero int or None"),
    ],
)
def test_bad_arguments_are_named(iris, kwargs, match):
    X, y = iris
    with pytest.raises(InvalidParameterError, match=match):
        SearchCV(SVC(), {"C": [1.0]}, **kwargs).fit(X, y)


def test_unknown_parameter_fails_before_any_fit(iris):
    X, y = iris
    with pytest.raises(
        InvalidParameterError, match=r"'gama' .*Did you mean 'gamma'.*Valid parameters"
    ):
        SearchCV(SVC(), {"gama": [1.0]}).fit(X, y)


def test_init_only_stores_and_clone_round_trips():
    from sklearn.base import clone

    space = {"C": [1.0]}
    search = SearchCV(SVC(), space, cv="not validated until fit")
    assert search.param_space is space
    assert clone(search).get_params()["cv"] == "not validated until fit"


def test_timeout_still_returns_a_fitted_search(iris):
    X, y = iris
    search = SearchCV(SVC(), {"C": Float(0.1, 10, log=True)}, n_trials=1000, timeout=1e-6, cv=3)
    search.fit(X, y)
    assert 1 <= len(search.cv_results_["params"]) < 1000


def test_parallel_jobs_give_the_same_grid_scores(iris):
    X, y = iris
    cv = KFold(3, shuffle=True, random_state=0)
    serial = SearchCV(SVC(), GRID, cv=cv, racing=False).fit(X, y)
    # Threads keep the test fast; the code path (batches of n_jobs configurations) is the same.
    with parallel_config(backend="threading"):
        parallel = SearchCV(SVC(), GRID, cv=cv, racing=False, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )


def test_persistent_study(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'search.db'}"
    search = SearchCV(SVC(), {"C": [0.1, 1.0]}, cv=3, storage=url, study_name="svc").fit(X, y)
    from tunelab import load_study

    assert len(load_study("svc", storage=url).trials) == 2
    assert search.study_.study_name == "svc"


def test_ridge_regression_default_scoring():
    X, y = knob_data(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitFailedWarning)
        search = SearchCV(Ridge(), {"alpha": [0.1, 10.0]}, cv=3, random_state=0).fit(X, y)
    assert search.best_score_ == pytest.approx(
        search.cv_results_["mean_test_score"][search.best_index_]
    )


def test_the_default_sampler_starts_with_2d_plus_1_points_then_models():
    X, y = knob_data(60)
    search = SearchCV(Knob(), {"q": Float(0.0, 1.0)}, n_trials=12, cv=KFold(3), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimismWarning)
        search.fit(X, y)
    choices = [t.system_attrs.get("auto_sampler") for t in search.study_.trials]
    assert choices == ["QMCSampler"] * 3 + ["GPSampler"] * 9
    # The GP found the knob's best quality near q = 1 in what was left of the budget.
    assert search.best_params_["q"] > 0.9


def test_a_sampler_on_an_all_list_space_gets_the_grid_size_as_budget():
    # Found by a QA pass: n_trials=None gave 10 configurations (RandomizedSearchCV's default)
    # on a 3-point grid as soon as a sampler was passed.
    X, y = load_iris(return_X_y=True)
    search = SearchCV(
        RidgeClassifier(), {"alpha": [0.1, 1.0, 10.0]}, sampler=RandomSampler(seed=0), cv=3
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 3


def _error_and_accuracy(est, X, y):
    accuracy = float(np.mean(est.predict(X) == y))
    return {"error": 1.0 - accuracy, "acc": accuracy}  # the lower-is-better key first


def test_a_callable_returning_a_dict_races_and_estimates_on_the_refit_metric(cancer):
    # Found by a QA pass: racing, the incumbent and generalization_ used the first key
    # ("error"), so the configurations with the best accuracy were raced out.
    X, y = cancer
    space = {"alpha": [1e5, 1e4, 1e3, 1.0, 1e-2]}
    cv = StratifiedKFold(5)
    ours = SearchCV(RidgeClassifier(), space, cv=cv, scoring=_error_and_accuracy, refit="acc")
    ours.fit(X, y)
    ref = GridSearchCV(RidgeClassifier(), space, cv=cv, scoring=_error_and_accuracy, refit="acc")
    ref.fit(X, y)
    assert ours.multimetric_
    assert ours.best_params_ == ref.best_params_
    assert ours.best_score_ == pytest.approx(ref.best_score_)
    assert ours.cv_results_["state"][ours.best_index_] == "COMPLETE"
    gen = ours.generalization_
    assert gen.best_cv_score == pytest.approx(ours.best_score_)
    # A callable's metric may be no mean over rows: the estimate is over folds.
    assert gen.method == "BBC-CV over folds"
    assert 0.5 < gen.corrected_score <= gen.best_cv_score + 0.02


def _purged_kfold(n, k=5, gap=5):
    # Every row is tested once, but the training sets skip the rows next to the test fold.
    splits = []
    for _, test in KFold(k).split(np.arange(n)):
        rows = np.arange(n)
        splits.append((rows[(rows < test.min() - gap) | (rows > test.max() + gap)], test))
    return splits


def test_purged_kfold_gets_a_per_row_estimate_and_a_failed_one_falls_back(monkeypatch):
    # Found by a QA pass: the number of rows was taken as one split's train + test size, so
    # fit crashed with an IndexError when a training set skipped rows.
    X, y = knob_data(100)
    splits = _purged_kfold(len(y))
    mse = "neg_mean_squared_error"  # a mean over rows: R², the default, is corrected by folds
    ours = SearchCV(Ridge(), {"alpha": [0.1, 10.0]}, cv=splits, scoring=mse, racing=False)
    ours.fit(X, y)
    ref = GridSearchCV(Ridge(), {"alpha": [0.1, 10.0]}, cv=splits, scoring=mse).fit(X, y)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )
    assert ours.generalization_.method == "BBC-CV over out-of-fold predictions"
    assert np.isfinite(ours.generalization_.corrected_score)

    import tunelab.sklearn._search as search_module

    def broken(*args, **kwargs):
        raise IndexError("a fold's rows do not fit")

    monkeypatch.setattr(search_module, "assemble", broken)
    ours = SearchCV(Ridge(), {"alpha": [0.1, 10.0]}, cv=splits, scoring=mse, racing=False)
    ours.fit(X, y)
    assert ours.generalization_.method == "BBC-CV over folds"


def test_a_refit_callable_may_not_choose_a_row_not_run_on_every_fold():
    # Found by a QA pass: a callable over mean_test_score chose a raced-out row, whose mean
    # covered its easy first folds only.
    X, y = knob_data()
    space = {"q": [1.0, 0.0, 0.99]}

    def first_raced(results):
        return int(np.flatnonzero(results["state"] == "PRUNED")[0])

    search = SearchCV(Knob(jitter=0.01), space, cv=KFold(5), refit=first_raced)
    with pytest.raises(ValueError, match=r"chose row 1 of cv_results_ \(\{'q': 0.0\}\), which "):
        search.fit(X, y)

    def best_full(results):
        full = results["n_folds_evaluated"] == results["n_folds_evaluated"].max()
        return int(np.argmax(np.where(full, results["mean_test_score"], -np.inf)))

    search = SearchCV(Knob(jitter=0.01), space, cv=KFold(5), refit=best_full).fit(X, y)
    assert search.best_params_ == {"q": 1.0}
    assert search.best_estimator_.q == 1.0


def test_n_trials_none_with_a_timeout_searches_until_the_timeout():
    # Found by a QA pass: n_trials=None stopped after RandomizedSearchCV's 10 configurations
    # whatever the timeout.
    X, y = knob_data(30)
    space = {"q": Float(0.0, 1.0)}
    kwargs = {"cv": KFold(2), "racing": False, "sampler": RandomSampler(seed=0)}
    timed = SearchCV(Knob(), space, n_trials=None, timeout=1.0, **kwargs)
    began = time.monotonic()
    timed.fit(X, y)
    assert len(timed.cv_results_["params"]) > 10
    assert time.monotonic() - began >= 1.0
    untimed = SearchCV(Knob(), space, n_trials=None, **kwargs).fit(X, y)
    assert len(untimed.cv_results_["params"]) == 10


def test_a_scorer_that_fails_on_every_configuration_gets_one_clear_warning():
    # Found by a QA pass: roc_auc on three classes failed every fold's scoring; the search
    # ended with best_score_ NaN and best_params_ the first configuration, after warnings only.
    from sklearn.datasets import load_iris
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    search = SearchCV(SVC(), {"C": [1.0, 2.0]}, scoring="roc_auc", random_state=0)
    with pytest.warns(UserWarning, match="scoring='roc_auc' gave NaN on every one of"):
        search.fit(X, y)
    assert np.isnan(search.best_score_)
    ovr = SearchCV(SVC(probability=True), {"C": [1.0, 2.0]}, scoring="roc_auc_ovr", random_state=0)
    assert ovr.fit(X, y).best_score_ > 0.9


def test_a_budget_larger_than_the_grid_is_said():
    # As RandomizedSearchCV does; found missing by a QA pass (3 of n_trials=10 ran silently).
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from tunelab.sklearn import SearchCV

    X, y = load_iris(return_X_y=True)
    search = SearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0, 10.0]}, n_trials=10, cv=3)
    with pytest.warns(UserWarning, match="holds 3 configurations, fewer than n_trials=10"):
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3


def test_with_metadata_routing_the_default_score_is_the_estimators_own():
    # Found by a QA pass: with routing on, scoring=None on a Pipeline scored weighted accuracy
    # with the routed sample_weight, where GridSearchCV (Pipeline.score refuses an unrequested
    # weight) gives NaN; both now score as the estimator's score() does.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import sklearn
    from tunelab.sklearn import SearchCV

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:300], y[:300]
    w = np.random.default_rng(0).uniform(0.1, 3, len(y))
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def pipe():
            return make_pipeline(
                StandardScaler().set_fit_request(sample_weight=False),
                LogisticRegression(max_iter=3000).set_fit_request(sample_weight=True),
            )

        space = {"logisticregression__C": [0.01, 1.0]}
        ours = SearchCV(pipe(), space, cv=StratifiedKFold(3), racing=False).fit(
            X, y, sample_weight=w
        )
        grid = GridSearchCV(pipe(), space, cv=StratifiedKFold(3)).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_score"], grid.cv_results_["mean_test_score"]
    )


class _CtrlCOnSecondAsk(RandomSampler):
    """Raises KeyboardInterrupt while proposing the second configuration, as a Ctrl-C
    landing while the sampler works would."""

    def __init__(self, seed=None):
        super().__init__(seed=seed)
        self.calls = 0

    def sample_one(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().sample_one(*args, **kwargs)


@pytest.mark.parametrize("stepwise", [False, True], ids=["folds", "pruner"])
def test_ctrl_c_while_asking_a_batch_leaves_no_running_trial(iris, tmp_path, stepwise):
    # Found by a QA pass: with n_jobs=2 the first trial of a batch was asked, then Ctrl-C hit
    # the second ask outside the try that settles the batch: trial 0 stayed RUNNING for good.
    from sklearn.linear_model import SGDClassifier

    from tunelab import load_study

    X, y = iris
    url = f"sqlite:///{tmp_path / 'ki.db'}"
    extra = {"pruner": True, "n_steps": 2} if stepwise else {}
    search = SearchCV(
        SGDClassifier(random_state=0) if stepwise else SVC(),
        {"alpha" if stepwise else "C": Float(1e-3, 1.0, log=True)},
        n_trials=6,
        cv=3,
        n_jobs=2,
        sampler=_CtrlCOnSecondAsk(seed=0),
        storage=url,
        study_name="ki",
        **extra,
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    trials = load_study("ki", storage=url).trials
    assert trials and all(t.state.name == "FAIL" for t in trials)
    assert {t.fail_reason for t in trials} == {"interrupted (KeyboardInterrupt)"}


def test_no_finite_score_from_failed_fits_names_the_fit_errors_not_the_scorer():
    # Found by a QA pass: grouped outer and inner folds left a training fold with one class;
    # every configuration lost a fold and ended FAIL, and the warning blamed the scorer.
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(90, 2)), np.repeat([0, 1], [60, 30])
    search = SearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=KFold(3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    messages = [str(w.message) for w in caught if "No configuration got a finite" in str(w.message)]
    assert len(messages) == 1
    assert "2 configuration(s) had fits that failed" in messages[0]
    assert "2 fit(s) failed with: ValueError:" in messages[0]
    assert "only one class" in messages[0]
    assert "scorer probably" not in messages[0]
    assert np.isnan(search.best_score_)


def test_a_stored_study_is_not_continued_with_another_scoring(iris, tmp_path):
    # Found by a QA pass: f1_macro then neg_log_loss in one stored study; best_value then
    # ranked the values of both metrics together.
    from tunelab import load_study

    X, y = iris
    url = f"sqlite:///{tmp_path / 'metric.db'}"
    kwargs = {"cv": 3, "storage": url, "study_name": "svc"}
    SearchCV(SVC(probability=True), {"C": [0.1, 1.0]}, scoring="f1_macro", **kwargs).fit(X, y)
    other = SearchCV(SVC(probability=True), {"C": [0.1, 1.0]}, scoring="neg_log_loss", **kwargs)
    with pytest.raises(
        InvalidParameterError,
        match=r"(?s)scored with 'f1_macro'.*scoring='neg_log_loss'.*new study_name",
    ):
        other.fit(X, y)
    study = load_study("svc", storage=url)
    assert len(study.trials) == 2  # the refused fit added none
    assert study.metric_names == ["f1_macro"]  # plots label their value axis with it
    # The same metric, however it is spelled, continues the study.
    from sklearn.metrics import get_scorer

    scorer = get_scorer("f1_macro")
    SearchCV(SVC(), {"C": [0.1, 1.0]}, scoring=scorer, **kwargs).fit(X, y)
    assert len(load_study("svc", storage=url).trials) == 4


def test_the_study_records_the_refit_metric_of_several(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'multi.db'}"
    kwargs = {"cv": 3, "storage": url, "study_name": "multi"}
    scoring = ["accuracy", "f1_macro"]
    search = SearchCV(SVC(), {"C": [0.1, 1.0]}, scoring=scoring, refit="f1_macro", **kwargs)
    assert search.fit(X, y).study_.metric_names == ["f1_macro"]
    with pytest.raises(InvalidParameterError, match="refit='accuracy'"):
        SearchCV(SVC(), {"C": [0.1]}, scoring=scoring, refit="accuracy", **kwargs).fit(X, y)
    # scoring=None on a classifier is its accuracy.
    plain = SearchCV(SVC(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert plain.study_.metric_names == ["accuracy"]


class _SleepyKnob(Knob):
    """A Knob whose every fit takes ``delay`` seconds."""

    def __init__(self, q: float = 0.0, jitter: float = 0.0, delay: float = 0.3):
        super().__init__(q=q, jitter=jitter)
        self.delay = delay

    def fit(self, X, y=None):
        time.sleep(self.delay)
        return super().fit(X, y)


@pytest.mark.parametrize("racing", [False, True])
def test_past_the_timeout_a_parallel_batch_stops_at_the_next_fold(racing):
    # Found by a QA pass: the deadline was tested before a batch only, and the first batch of
    # n_jobs=2 configurations ran all its folds (42.9 s for timeout=10). Now the first
    # configuration's folds go first, and the other one stops once the time is up.
    X, y = knob_data(60)
    search = SearchCV(
        _SleepyKnob(delay=0.3),
        {"q": Float(0.0, 1.0)},
        n_trials=None,
        timeout=0.7,
        cv=5,
        n_jobs=2,
        racing=racing,
        random_state=0,
    )
    with parallel_config(backend="threading"):
        search.fit(X, y)
    # Rounds of two fits (0.3 s): the first configuration's folds 1-2, 3-4, then its fold 5
    # beside the second one's fold 1 (0.9 s); both in full would take 1.5 s. What ran, not how
    # long it took, is checked (speed belongs in benchmarks).
    r = search.cv_results_
    assert list(r["state"]) == ["COMPLETE", "PRUNED"]
    assert list(r["n_folds_evaluated"]) == [5, 1]
    assert search.best_index_ == 0  # best_score_ is a full CV score
    stopped = search.study_.trials[1]
    assert stopped.user_attrs["stopped"] == "time budget ran out (timeout=0.7s)"


def test_past_the_timeout_a_serial_search_stops_at_the_next_fold():
    X, y = knob_data(60)
    search = SearchCV(
        _SleepyKnob(delay=0.1),
        {"q": Float(0.0, 1.0)},
        n_trials=None,
        timeout=0.65,
        cv=5,
        racing=False,
        random_state=0,
    )
    search.fit(X, y)
    # The second configuration starts at 0.5 s and stops after its second fold, at 0.7 s,
    # not after its fifth (1.0 s).
    r = search.cv_results_
    assert list(r["state"]) == ["COMPLETE", "PRUNED"]
    assert r["n_folds_evaluated"][1] < 5
    assert search.best_index_ == 0
