from __future__ import annotations

import threading
import time
import warnings
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tunelab import Float, InvalidParameterError, TrialState
from tunelab.pruners import MedianPruner, NopPruner, SuccessiveHalvingPruner, ThresholdPruner
from tunelab.sklearn import FoldRacing, OptimismWarning, SearchCV

pytestmark = pytest.mark.filterwarnings(f"ignore::{OptimismWarning.__module__}.OptimismWarning")


class Climber(RegressorMixin, BaseEstimator):
    """Learns by partial_fit; its score climbs towards ``q`` (plus a fold effect shared by
    every configuration), ``rate`` per step closer, so the best configuration is known."""

    threads: ClassVar[set[int]] = set()  # ids of the threads that trained
    weights: ClassVar[list[int | None]] = []  # len(sample_weight) of each partial_fit

    def __init__(self, q: float = 0.5, rate: float = 0.5, fail_at: int | None = None):
        self.q = q
        self.rate = rate
        self.fail_at = fail_at

    def partial_fit(self, X, y=None, sample_weight=None):
        self.steps_ = getattr(self, "steps_", 0) + 1
        if self.fail_at is not None and self.steps_ >= self.fail_at:
            raise ValueError(f"step {self.steps_} failed")
        Climber.threads.add(threading.get_ident())
        Climber.weights.append(None if sample_weight is None else len(sample_weight))
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def fit(self, X, y=None, sample_weight=None):
        # Not the stepwise training: a refit through fit would show in steps_.
        self.steps_ = 0
        for _ in range(3):
            self.partial_fit(X, y, sample_weight)
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y=None, sample_weight=None):
        fold_effect = 0.1 * float(np.asarray(X)[:, 0].mean())
        return self.q * (1.0 - self.rate**self.steps_) + fold_effect


class CountingScaler(TransformerMixin, BaseEstimator):
    fits: ClassVar[list[int]] = []

    def fit(self, X, y=None):
        CountingScaler.fits.append(len(X))
        self.mean_ = np.asarray(X).mean(axis=0)
        return self

    def transform(self, X):
        return np.asarray(X) - self.mean_


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240, n_features=8, n_informative=5, random_state=0, flip_y=0.02
    )
    return X, y


def climber_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 2)), rng.normal(size=60)


def full_training(search, index):
    res = search.cv_results_
    return (
        res["n_folds_evaluated"][index] == search.n_splits_
        and res["n_steps_trained"][index] == search.n_splits_ * search.n_steps
    )


def test_sgd_partial_fit_prunes_hopeless_learning_rates(data):
    X, y = data
    # eta0=1e-7 barely moves the weights: those configurations cannot compete.
    space = {"eta0": [0.01, 0.02, 0.05, 1e-7, 2e-7, 3e-7, 0.03]}
    search = SearchCV(
        SGDClassifier(learning_rate="constant", random_state=0),
        space,
        cv=StratifiedKFold(4),
        pruner=True,
        n_steps=6,
    ).fit(X, y)
    res = search.cv_results_
    hopeless = [i for i, p in enumerate(res["params"]) if p["eta0"] < 1e-6]
    assert all(res["state"][i] == "PRUNED" for i in hopeless)
    # Cut inside the first fold by the pruner (racing could only stop them after 3 folds).
    assert all(res["n_folds_evaluated"][i] == 0 for i in hopeless)
    assert all(res["n_steps_trained"][i] < search.n_steps for i in hopeless)
    assert search.best_params_["eta0"] > 1e-3
    assert full_training(search, search.best_index_)
    trials = {t.number: t for t in search.study_.trials}
    best_trial = trials[res["trial_number"][search.best_index_]]
    assert sorted(best_trial.intermediate_values) == list(range(1, 4 * 6 + 1))
    assert best_trial.value == pytest.approx(search.best_score_)
    for i in hopeless:
        assert trials[res["trial_number"][i]].state == TrialState.PRUNED
    assert search.n_steps_saved_ == sum(
        4 * 6 - res["n_steps_trained"][i] for i in np.flatnonzero(res["state"] == "PRUNED")
    )
    # More than racing alone could save them: at most one fold of four each.
    assert search.n_steps_saved_ > len(hopeless) * 6
    # Step-by-step folds keep their test predictions too: the per-row estimate applies.
    assert search.generalization_.method == "BBC-CV over out-of-fold predictions"


@pytest.mark.parametrize("stop_duplicates", [True, False])
def test_duplicates_stop_after_min_folds_when_training_step_by_step(data, stop_duplicates):
    X, y = data
    # With the l2 penalty, l1_ratio is never used: each alpha is one model, three times.
    space = {"alpha": [1e-4, 1e-2], "l1_ratio": [0.15, 0.5, 0.85]}
    search = SearchCV(
        SGDClassifier(penalty="l2", random_state=0),
        space,
        cv=StratifiedKFold(4),
        pruner=ThresholdPruner(lower=-1.0),  # never prunes: racing and duplicates only
        n_steps=4,
        racing=FoldRacing(min_folds=2, stop_duplicates=stop_duplicates),
    ).fit(X, y)
    res = search.cv_results_
    twins = res["state"] == "DUPLICATE"
    if not stop_duplicates:
        assert not twins.any()
        means = res["mean_test_score"]
        for alpha in (1e-4, 1e-2):
            rows = [i for i, p in enumerate(res["params"]) if p["alpha"] == alpha]
            assert len({means[i] for i in rows}) == 1  # really one model per alpha
        return
    assert twins.sum() == 4
    assert list(res["n_folds_evaluated"][twins]) == [2] * 4
    assert list(res["n_steps_trained"][twins]) == [8] * 4
    trials = {t.number: t for t in search.study_.trials}
    for i in np.flatnonzero(twins):
        trial = trials[res["trial_number"][i]]
        twin = trials[trial.user_attrs["duplicate_of"]]
        assert twin.params["alpha"] == trial.params["alpha"]
        assert trial.state == TrialState.COMPLETE and trial.value == twin.value
    assert search.n_folds_saved_ >= 4 * 2
    assert search.n_steps_saved_ == sum(
        4 * 4 - res["n_steps_trained"][i]
        for i in np.flatnonzero(np.isin(res["state"], ["PRUNED", "DUPLICATE"]))
    )


def test_hist_gradient_boosting_grows_max_iter(data):
    X, y = data
    search = SearchCV(
        HistGradientBoostingClassifier(max_iter=10, early_stopping=False, random_state=0),
        {"learning_rate": [0.3, 0.2, 0.1, 1e-6, 0.15]},
        cv=StratifiedKFold(3),
        pruner=MedianPruner(n_startup_trials=2, n_warmup_steps=2),
        n_steps=5,
    )
    with threadpool_limits(1):  # OpenMP threads on tiny data only wait on a busy machine
        search.fit(X, y)
    res = search.cv_results_
    tiny = list(res["param_learning_rate"]).index(1e-6)
    assert res["state"][tiny] == "PRUNED" and res["n_folds_evaluated"][tiny] == 0
    assert search.best_params_["learning_rate"] >= 0.1
    assert full_training(search, search.best_index_)
    # The refit grows the same budget as each fold did.
    assert search.best_estimator_.n_iter_ == 10


def test_pipeline_fits_the_head_once_per_fold_and_grows_the_forest(data):
    X, y = data
    CountingScaler.fits.clear()
    pipe = Pipeline([("scale", CountingScaler()), ("rf", RandomForestClassifier(random_state=0))])
    search = SearchCV(
        pipe,
        {"rf__n_estimators": [8], "rf__max_depth": [None, 1]},
        cv=StratifiedKFold(3),
        scoring=["accuracy", "balanced_accuracy"],
        refit="accuracy",
        return_train_score=True,
        pruner=ThresholdPruner(lower=0.8),
        n_steps=4,
    ).fit(X, y)
    res = search.cv_results_
    assert list(res["state"]) == ["COMPLETE", "PRUNED"]  # stumps score below 0.8
    started_folds = 3 + 1
    assert len(CountingScaler.fits) == started_folds + 1  # + the refit, on all rows
    for key in (
        "mean_fit_time",
        "std_score_time",
        "split2_test_balanced_accuracy",
        "rank_test_accuracy",
        "mean_train_accuracy",
        "split0_train_balanced_accuracy",
        "n_folds_evaluated",
        "n_steps_trained",
        "state",
        "trial_number",
    ):
        assert key in res, key
    # A forest grown 2 trees at a time is the forest fitted at once: same scores as
    # cross_validate, for every metric, on train and test.
    ref = cross_validate(
        pipe.set_params(rf__n_estimators=8, rf__max_depth=None),
        X,
        y,
        cv=StratifiedKFold(3),
        scoring=["accuracy", "balanced_accuracy"],
        return_train_score=True,
    )
    for k in range(3):
        for name in ("test_accuracy", "test_balanced_accuracy", "train_accuracy"):
            assert res[f"split{k}_{name}"][0] == pytest.approx(ref[name][k]), (k, name)
    assert search.best_estimator_.named_steps["rf"].n_estimators == 8
    assert len(search.best_estimator_.named_steps["rf"].estimators_) == 8
    assert search.predict(X).shape == y.shape


@pytest.mark.parametrize(("early_screen", "folds_of_069"), [(True, 1), (False, 3)])
def test_the_known_best_is_never_pruned_and_racing_still_applies(early_screen, folds_of_069):
    X, y = climber_data()
    # Ascending qualities first, so pruning is live (three finished) before the rest come;
    # the best one is a slow starter, the hopeless ones quick ones.
    qualities = [0.5, 0.6, 0.7, 0.05, 0.06, 1.0, 0.07, 0.69]
    search = SearchCV(
        Climber(),
        [{"q": qualities[:5], "rate": [0.5]}, {"q": [1.0], "rate": [0.8]}, {"q": qualities[6:]}],
        cv=KFold(5),
        pruner=True,
        n_steps=10,
        racing=FoldRacing(early_screen=early_screen),
    ).fit(X, y)
    res = search.cv_results_
    by_q = {p["q"]: i for i, p in enumerate(res["params"])}
    assert search.best_params_["q"] == 1.0
    assert res["state"][by_q[1.0]] == "COMPLETE" and full_training(search, by_q[1.0])
    for q in (0.05, 0.06, 0.07):
        # The default pruner waits half of the first fold, then cuts.
        assert res["state"][by_q[q]] == "PRUNED"
        assert res["n_steps_trained"][by_q[q]] == 5
    # 0.69 trails the incumbent by a constant margin, far beyond the finished configurations'
    # fold spread: the early screen stops it after one fold, the paired test after three.
    assert res["state"][by_q[0.69]] == "PRUNED"
    assert res["n_folds_evaluated"][by_q[0.69]] == folds_of_069
    assert res["n_steps_trained"][by_q[0.69]] == 10 * folds_of_069
    assert search.best_estimator_.steps_ == 10  # refitted in n_steps partial_fit passes


def test_nothing_is_pruned_before_a_configuration_has_run_every_fold():
    X, y = climber_data()
    # A pruner that prunes everything cannot leave the search without a full CV score.
    search = SearchCV(
        Climber(), {"q": [0.5, 0.6, 0.7]}, cv=KFold(3), pruner=ThresholdPruner(lower=5.0)
    ).fit(X, y)
    assert list(search.cv_results_["state"]) == ["COMPLETE", "PRUNED", "PRUNED"]
    assert search.best_params_ == {"q": 0.5}
    assert search.n_folds_saved_ == 6


def test_failed_steps_follow_error_score():
    X, y = climber_data()
    space = {"q": [0.5, 0.6], "fail_at": [None, 3]}
    with pytest.warns(FitFailedWarning, match="step 3 failed"):
        search = SearchCV(Climber(), space, cv=KFold(3), pruner=True, error_score=-1.0).fit(X, y)
    res = search.cv_results_
    failing = [i for i, p in enumerate(res["params"]) if p["fail_at"] == 3]
    assert all(res["split0_test_score"][i] == -1.0 for i in failing)
    with pytest.warns(FitFailedWarning):
        search = SearchCV(Climber(), space, cv=KFold(3), pruner=True).fit(X, y)
    res = search.cv_results_
    assert [res["state"][i] for i in failing] == ["FAIL", "FAIL"]  # error_score=NaN
    with pytest.raises(ValueError, match="step 3 failed"):
        SearchCV(Climber(), space, cv=KFold(3), pruner=True, error_score="raise").fit(X, y)


def test_n_jobs_runs_configurations_in_threads():
    X, y = climber_data()
    space = {"q": [0.5, 0.6, 0.05, 0.06, 1.0, 0.07, 0.08, 0.09]}

    class SlowClimber(Climber):
        def partial_fit(self, X, y=None):
            time.sleep(0.002)  # long enough for two threads to overlap
            return super().partial_fit(X, y)

    Climber.threads.clear()
    search = SearchCV(SlowClimber(), space, cv=KFold(3), pruner=True, n_jobs=2).fit(X, y)
    assert len(Climber.threads - {threading.get_ident()}) == 2  # the refit runs here
    assert search.best_params_ == {"q": 1.0}
    res = search.cv_results_
    assert full_training(search, search.best_index_)
    assert len(res["params"]) == len(space["q"])
    assert {t.state for t in search.study_.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert "PRUNED" in set(res["state"])


def test_sklearn_config_reaches_the_worker_threads():
    from sklearn import config_context, get_config

    seen = []

    class Spy(Climber):
        def partial_fit(self, X, y=None):
            seen.append(get_config()["assume_finite"])
            return super().partial_fit(X, y)

    X, y = climber_data()
    with config_context(assume_finite=True):
        SearchCV(Spy(), {"q": [0.5, 0.6]}, cv=KFold(2), pruner=True, n_jobs=2).fit(X, y)
    assert seen and all(seen)


def test_pruner_instance_goes_to_the_study_and_is_not_mutated():
    X, y = climber_data()
    pruner = SuccessiveHalvingPruner()  # min_resource='auto' is settled on first use
    search = SearchCV(Climber(), {"q": [0.5, 0.6, 0.7, 0.1]}, cv=KFold(2), pruner=pruner)
    search.fit(X, y)
    assert isinstance(search.study_.pruner, SuccessiveHalvingPruner)
    assert search.study_.pruner is not pruner
    assert pruner.min_resource is None and search.pruner is pruner


def test_pruning_off_keeps_todays_behaviour():
    X, y = climber_data()
    search = SearchCV(Climber(), {"q": [0.5, 0.6]}, cv=KFold(3)).fit(X, y)
    assert search.n_steps_saved_ is None
    assert "n_steps_trained" not in search.cv_results_
    assert sorted(search.study_.trials[0].intermediate_values) == [0, 1, 2]  # fold reports


def test_verbose_summary_shows_the_steps_saved(capsys):
    X, y = climber_data()
    SearchCV(Climber(), {"q": [0.5, 0.6, 0.7, 0.01]}, cv=KFold(3), pruner=True, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "pruning and racing saved 25 of 120 training steps (21%)" in out


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pruner": "median"}, r"The 'pruner' parameter of SearchCV must be None, False, True"),
        ({"pruner": 0.5}, r"The 'pruner' parameter of SearchCV must be"),
        ({"pruner": MedianPruner}, r"Pass an instance, MedianPruner\(\), not the class"),
        ({"n_steps": 0}, r"The 'n_steps' parameter of SearchCV must be a positive int"),
        ({"n_steps": 2.5}, r"The 'n_steps' parameter of SearchCV must be a positive int"),
    ],
)
def test_bad_pruner_arguments(kwargs, match):
    X, y = climber_data()
    with pytest.raises(InvalidParameterError, match=match):
        SearchCV(Climber(), {"q": [0.5]}, **kwargs).fit(X, y)


@pytest.mark.parametrize(
    ("estimator", "space", "match"),
    [
        (
            KNeighborsClassifier(),
            {"n_neighbors": [3]},
            r"but KNeighborsClassifier cannot train step by step",
        ),
        (
            make_pipeline(StandardScaler(), KNeighborsClassifier()),
            {"kneighborsclassifier__n_neighbors": [3]},
            r"KNeighborsClassifier \(the final step of the Pipeline\) cannot",
        ),
    ],
)
def test_an_estimator_that_cannot_train_step_by_step_is_refused(data, estimator, space, match):
    X, y = data
    with pytest.raises(InvalidParameterError, match=match) as info:
        SearchCV(estimator, space, pruner=True).fit(X, y)
    assert "partial_fit" in str(info.value) and "warm_start" in str(info.value)
    assert "pruner=None" in str(info.value)


def test_a_searched_final_step_that_cannot_train_step_by_step_is_refused(data):
    X, y = data
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier())])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitFailedWarning)  # an error, not a failed fit
        with pytest.raises(InvalidParameterError, match="KNeighborsClassifier"):
            SearchCV(
                pipe, {"clf": [SGDClassifier(), KNeighborsClassifier()]}, cv=2, pruner=True
            ).fit(X, y)


@pytest.mark.parametrize("routing", [False, True])
def test_fit_params_reach_the_final_step_sliced_to_the_fold(routing):
    from sklearn import config_context

    X, y = climber_data()
    weights = np.ones(len(y))
    with config_context(enable_metadata_routing=routing):
        climber = Climber()
        if routing:
            climber.set_fit_request(sample_weight=True)
            params = {"sample_weight": weights}
        else:
            params = {"climber__sample_weight": weights}
        pipe = Pipeline([("scale", CountingScaler()), ("climber", climber)])
        Climber.weights.clear()
        SearchCV(pipe, {"climber__q": [0.5]}, cv=KFold(3), pruner=True, n_steps=2).fit(
            X, y, **params
        )
    # 3 folds of 2 steps on 40 training rows each, then the refit on all 60.
    assert Climber.weights == [40] * 6 + [60] * 2


def _worst_group_accuracy(est, X, y):
    # Reads a raw column (the group) and the Pipeline itself, as fairness scorers do.
    assert isinstance(est, Pipeline), type(est)
    groups = X[:, 0]
    pred = est.predict(X)
    return min(float(np.mean(pred[groups == g] == y[groups == g])) for g in (0.0, 1.0, 2.0))


def test_a_pipeline_is_scored_whole_on_the_raw_rows(data):
    # Found by a QA pass: with a pruner, a Pipeline's folds were scored on its final step with
    # the transformed rows, so a scorer reading a raw column scored NaN on every fold.
    X, y = data
    X = np.column_stack([np.arange(len(y)) % 3, X]).astype(float)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("rf", RandomForestClassifier(n_estimators=4, random_state=0)),
        ]
    )
    space = {"rf__max_depth": [2, None]}
    search = SearchCV(
        pipe,
        space,
        cv=StratifiedKFold(3),
        scoring=_worst_group_accuracy,
        racing=False,
        pruner=NopPruner(),
        n_steps=2,
        error_score="raise",  # a failing step scorer must not hide behind a NaN report
    ).fit(X, y)
    res = search.cv_results_
    for i, depth in enumerate(space["rf__max_depth"]):
        ref = cross_validate(
            pipe.set_params(rf__max_depth=depth),
            X,
            y,
            cv=StratifiedKFold(3),
            scoring=_worst_group_accuracy,
        )
        for k in range(3):
            assert res[f"split{k}_test_score"][i] == pytest.approx(ref["test_score"][k])
    assert search.generalization_.method == "BBC-CV over folds"  # a replay is no Pipeline


def test_a_booster_that_would_stop_early_on_this_many_rows_is_refused_before_any_fit():
    # Found by a QA pass: HistGradientBoosting's early_stopping='auto' turns on above 10,000
    # rows; the check did not know the rows, so every fold failed one by one.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15_000, 3))
    y = (X[:, 0] > 0).astype(int)
    search = SearchCV(
        HistGradientBoostingClassifier(max_iter=20),
        {"learning_rate": Float(0.05, 0.5, log=True)},
        n_trials=2,
        cv=2,
        pruner=True,
    )
    with pytest.raises(InvalidParameterError, match="early_stopping='auto'"):
        search.fit(X, y)
    assert not hasattr(search, "study_")
