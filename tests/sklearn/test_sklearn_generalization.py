from __future__ import annotations

import warnings

import numpy as np
import pytest
from _sklearn_knob import Knob, knob_data
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import KFold, ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tunelab.sklearn import Generalization, OptimismWarning, SearchCV
from tunelab.sklearn._generalization import (
    bbc_cv,
    estimate,
    tibshirani_optimism,
    warn_if_optimistic,
)


def test_one_configuration_has_no_selection_bias():
    scores = np.array([[0.7, 0.8, 0.9, 0.75]])
    assert bbc_cv(scores) == pytest.approx(0.7875)
    assert tibshirani_optimism(scores) == 0.0


def test_pure_noise_configurations_are_corrected_towards_the_truth():
    # 200 configurations of identical true score 0.5: the best CV mean is pure luck.
    rng = np.random.default_rng(0)
    scores = 0.5 + 0.05 * rng.normal(size=(200, 5))
    gen = estimate(scores, n_folds_evaluated=1000, n_folds_saved=0)
    assert gen.best_cv_score > 0.55
    assert abs(gen.corrected_score - 0.5) < abs(gen.best_cv_score - 0.5) / 2
    assert gen.optimism > gen.best_cv_std_error
    assert gen.tt_corrected_score < gen.best_cv_score
    assert gen.n_configurations == 200


def test_a_clear_winner_needs_little_correction():
    rng = np.random.default_rng(1)
    scores = np.vstack(
        [0.9 + 0.01 * rng.normal(size=(1, 5)), 0.5 + 0.01 * rng.normal(size=(20, 5))]
    )
    gen = estimate(scores, n_folds_evaluated=105, n_folds_saved=0)
    assert gen.optimism == pytest.approx(0.0, abs=0.01)


def test_rows_with_nan_are_ignored_and_all_nan_gives_nan():
    scores = np.array([[0.5, 0.6], [np.nan, 0.9]])
    assert estimate(scores, n_folds_evaluated=4, n_folds_saved=0).n_configurations == 1
    empty = estimate(np.full((2, 3), np.nan), n_folds_evaluated=6, n_folds_saved=0)
    assert np.isnan(empty.corrected_score)


def test_search_warns_when_the_best_score_is_optimistic():
    X, y = knob_data(60)
    X = X * 0.05  # small shared fold effects: the per-configuration noise dominates
    search = SearchCV(
        Knob(jitter=0.2), {"q": [float(i) * 1e-6 for i in range(30)]}, cv=KFold(5), racing=False
    )
    with pytest.warns(OptimismWarning, match=r"optimistic: picking the best of 30 configurations"):
        search.fit(X, y)
    gen = search.generalization_
    assert isinstance(gen, Generalization)
    assert gen["corrected_score"] < gen.best_cv_score == pytest.approx(search.best_score_)
    assert gen.as_dict()["n_folds_evaluated"] == 150


def test_outer_cv_adds_the_nested_estimate():
    X, y = knob_data(60)
    search = SearchCV(Knob(jitter=0.01), {"q": [0.0, 1.0]}, cv=KFold(3), outer_cv=KFold(3))
    search.fit(X, y)
    gen = search.generalization_
    assert len(gen.nested_cv_scores) == 3
    assert gen.nested_cv_score == pytest.approx(np.mean(gen.nested_cv_scores))
    assert gen.nested_cv_std == pytest.approx(np.std(gen.nested_cv_scores))


class _Guess(ClassifierMixin, BaseEstimator):
    """Predicts labels at random (a fixed draw per row and ``seed``): every configuration
    is truly at chance, so a high best CV accuracy is pure selection luck."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        rows = np.asarray(X)[:, 0].astype(np.int64)
        draws = np.random.default_rng(self.seed).integers(0, 2, size=10_000)
        return self.classes_[draws[rows]]


def _guess_data(n=300):
    X = np.arange(n, dtype=float)[:, None]
    y = np.random.default_rng(12345).integers(0, 2, size=n)
    return X, y


def test_per_row_bbc_corrects_pure_selection_luck_to_chance():
    X, y = _guess_data()
    search = SearchCV(
        _Guess(), {"seed": list(range(25))}, cv=KFold(5), scoring="accuracy", racing=False
    )
    with warnings.catch_warnings():
        # 0.06 of optimism is 1.7 standard errors of 5 folds of 60 rows: below the warning's bar.
        warnings.simplefilter("ignore", OptimismWarning)
        search.fit(X, y)
    gen = search.generalization_
    assert gen.method == "BBC-CV over out-of-fold predictions"
    assert gen.best_cv_score > 0.55
    assert abs(gen.corrected_score - 0.5) < 0.03
    assert gen.fold_corrected_score is not None


def test_splits_that_do_not_predict_every_row_once_fall_back_to_folds():
    X, y = _guess_data()
    cv = ShuffleSplit(4, test_size=0.25, random_state=0)
    search = SearchCV(_Guess(), {"seed": [0, 1, 2]}, cv=cv, scoring="accuracy", racing=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimismWarning)
        search.fit(X, y)
    assert search.generalization_.method == "BBC-CV over folds"


@pytest.mark.parametrize(
    ("scoring", "method"),
    [
        (None, "BBC-CV over out-of-fold predictions"),  # the classifier's accuracy
        ("neg_log_loss", "BBC-CV over out-of-fold predictions"),
        ("roc_auc", "BBC-CV over folds"),  # AUC of pooled rows is not a mean of folds' AUCs
    ],
)
def test_a_real_search_gets_the_estimate_its_metric_allows(scoring, method):
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    search = SearchCV(
        model,
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
        scoring=scoring,
        racing=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimismWarning)
        search.fit(X, y)
    gen = search.generalization_
    assert gen.method == method
    assert gen.best_cv_score - 0.05 < gen.corrected_score <= gen.best_cv_score + 0.01


class _CountingGuess(_Guess):
    calls: list[int] = []

    def predict(self, X):
        type(self).calls.append(len(X))
        return super().predict(X)


def test_predictions_are_recorded_while_scoring_not_by_a_second_pass():
    # With train scores the recording takes its own pass; without, it rides on the scoring
    # call. Both must give the same per-row estimate.
    X, y = _guess_data()
    estimates = {}
    for train_score in (False, True):
        _CountingGuess.calls = []
        search = SearchCV(
            _CountingGuess(),
            {"seed": list(range(6))},
            cv=KFold(5),
            scoring="accuracy",
            racing=False,
            return_train_score=train_score,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimismWarning)
            search.fit(X, y)
        test_calls = [n for n in _CountingGuess.calls if n == len(y) // 5]
        # 6 configurations x 5 folds scored, plus the refitted model's predictions: none.
        assert len(test_calls) == (60 if train_score else 30)
        assert search.generalization_.method == "BBC-CV over out-of-fold predictions"
        estimates[train_score] = search.generalization_.corrected_score
    assert estimates[False] == estimates[True]


@pytest.mark.parametrize(("standard_errors", "warns"), [(1.5, False), (2.5, True)])
def test_the_optimism_warning_needs_more_than_two_standard_errors(standard_errors, warns):
    # Found by a QA pass: one standard error made most small searches warn.
    gen = estimate(
        np.array([[0.8, 0.9, 0.85], [0.7, 0.75, 0.8]]), n_folds_evaluated=6, n_folds_saved=0
    )
    gen.optimism = standard_errors * gen.best_cv_std_error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_optimistic(gen)
    assert [w.category for w in caught] == ([OptimismWarning] if warns else [])


def _selection_free_search(scoring, n_configurations=1, **kwargs):
    from sklearn.datasets import make_classification
    from sklearn.model_selection import StratifiedKFold

    X, y = make_classification(120, 10, n_informative=2, flip_y=0.3, random_state=1)
    # max_iter never binds here: every configuration is the same model, nothing is selected.
    space = {"max_iter": [100 + i for i in range(n_configurations)]}
    cv = StratifiedKFold(10, shuffle=True, random_state=0)
    search = SearchCV(LogisticRegression(), space, cv=cv, scoring=scoring, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimismWarning)
        return search.fit(X, y)


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss", "roc_auc", "average_precision"])
def test_one_configuration_is_not_corrected_whatever_the_metric(scoring):
    # Found by a QA pass: with a single configuration the per-row estimate still reported an
    # optimism (+0.057 of average precision on 10 folds): nothing was selected, so none exists.
    gen = _selection_free_search(scoring).generalization_
    assert gen.n_configurations == 1
    assert gen.corrected_score == gen.best_cv_score
    assert gen.optimism == 0.0
    assert gen.fold_corrected_score == gen.best_cv_score


@pytest.mark.parametrize("scoring", ["roc_auc", "average_precision", "f1"])
def test_identical_configurations_get_no_optimism_on_metrics_of_whole_folds(scoring):
    # AUC, average precision or F1 of all rows pooled is not the mean of the folds' values, so
    # the per-row bootstrap measured another quantity than the CV score it corrects.
    gen = _selection_free_search(scoring, n_configurations=3, racing=False).generalization_
    assert gen.method == "BBC-CV over folds"
    assert gen.corrected_score == gen.fold_corrected_score
    assert abs(gen.optimism) < 0.01
    assert gen.optimism == gen.best_cv_score - gen.corrected_score


def test_r2_is_corrected_over_folds_not_over_pooled_rows():
    # Found by a QA pass: on 20 folds of 5 rows the mean fold R^2 is -0.28 and the pooled
    # out-of-fold R^2 +0.14 (each fold's R^2 is against its own 5 rows' mean); the per-row
    # bootstrap "corrected" -0.28 up to +0.30.
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True)
    cv = KFold(20, shuffle=True, random_state=0)
    search = SearchCV(
        Ridge(), {"alpha": [0.01, 0.1, 1.0]}, cv=cv, scoring="r2", racing=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimismWarning)
        search.fit(X[:100], y[:100])
    gen = search.generalization_
    assert gen.best_cv_score < -0.2
    assert gen.method == "BBC-CV over folds"
    assert gen.corrected_score == gen.fold_corrected_score <= gen.best_cv_score


@pytest.mark.parametrize(
    ("scoring", "per_row"),
    [
        ("accuracy", True),
        ("neg_log_loss", True),
        ("neg_brier_score", True),
        ("neg_mean_squared_error", True),
        ("neg_mean_absolute_error", True),
        ("neg_mean_poisson_deviance", True),
        ("r2", False),
        ("neg_root_mean_squared_error", False),
        ("neg_median_absolute_error", False),
        ("roc_auc", False),
        ("average_precision", False),
        ("balanced_accuracy", False),
        ("f1", False),
        ("f1_samples", True),
        ("matthews_corrcoef", False),
    ],
)
def test_only_scores_that_average_over_rows_are_replayed_per_row(scoring, per_row):
    from sklearn.metrics import get_scorer

    from tunelab.sklearn._bbc import averages_over_rows

    assert averages_over_rows(get_scorer(scoring)) is per_row


def test_made_and_custom_scorers_are_replayed_per_row_only_when_known_means():
    from sklearn.metrics import accuracy_score, log_loss, make_scorer, mean_squared_error

    from tunelab.sklearn._bbc import averages_over_rows

    assert averages_over_rows(make_scorer(accuracy_score))
    assert averages_over_rows(make_scorer(mean_squared_error, greater_is_better=False))
    assert averages_over_rows(make_scorer(log_loss, response_method="predict_proba", labels=[0, 1]))
    # A count of rows, not a mean; fixed weights of the scorer's own; any user function.
    assert not averages_over_rows(make_scorer(accuracy_score, normalize=False))
    assert not averages_over_rows(make_scorer(accuracy_score, sample_weight=np.ones(5)))
    assert not averages_over_rows(make_scorer(lambda y, p: float(np.mean(y == p))))
    assert not averages_over_rows(lambda est, X, y: float(np.mean(est.predict(X) == y)))


@pytest.mark.parametrize(
    "scoring",
    ["accuracy", make_scorer(accuracy_score, normalize=True)],
    ids=["vectorized", "scorer"],
)
def test_unequal_folds_alone_are_no_selection_optimism(scoring):
    # Found by a QA pass: GroupKFold folds of 168/124/52 rows, three practically identical
    # configurations, and an "optimism" of 0.126: the per-row bootstrap weighed rows alike,
    # so it measured the pooled accuracy (0.44), not the mean of the fold scores (0.56).
    from _sklearn_knob import Table, table_data

    X, y = table_data(120)
    folds = [np.arange(0, 80), np.arange(80, 110), np.arange(110, 120)]
    cv = [(np.setdiff1d(np.arange(120), test), test) for test in folds]
    right = np.zeros(120, bool)
    right[:40] = right[80:] = True  # fold scores 0.5, 1, 1; pooled 0.67
    table = np.tile(right, (3, 1))
    search = SearchCV(Table(table), {"cfg": [0, 1, 2]}, cv=cv, scoring=scoring, racing=False).fit(
        X, y
    )
    gen = search.generalization_
    assert gen.method == "BBC-CV over out-of-fold predictions"
    assert gen.best_cv_score == pytest.approx(2.5 / 3)
    assert abs(gen.optimism) < 0.02
    assert gen.optimism == gen.best_cv_score - gen.corrected_score
