import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tunelab.sklearn import OptimismWarning, SearchCV
from tunelab.sklearn._bbc import (
    ScoreAndRecord,
    assemble,
    bbc_cv_predictions,
    record_predictions,
    replayable_scorer,
)

pytestmark = pytest.mark.filterwarnings(f"ignore::{OptimismWarning.__module__}.OptimismWarning")


def _oof(estimator, X, y, scorer, cv):
    folds = []
    for train, test in cv.split(X, y):
        fitted = estimator.fit(X[train], y[train])
        folds.append((test, record_predictions(scorer, fitted, X[test], y[test])))
    return assemble(folds, len(y)), fitted


@pytest.mark.parametrize("scoring", ["accuracy", "roc_auc", "neg_log_loss", "f1"])
def test_replayed_predictions_give_the_same_score_as_the_model(scoring):
    X, y = make_classification(300, 8, random_state=0)
    scorer = get_scorer(scoring)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:200], y[:200])
    outputs = record_predictions(scorer, model, X[200:], y[200:])
    assert set(outputs) <= {"predict", "predict_proba", "decision_function"} and outputs
    full = assemble([(np.arange(200, 300), outputs)], 300)
    from tunelab.sklearn._bbc import _Replay

    replay = _Replay(full, model.__sklearn_tags__(), model.classes_)
    rows = np.arange(200, 300)[:, None]
    assert scorer(replay, rows, y[200:]) == pytest.approx(scorer(model, X[200:], y[200:]))


def test_pure_noise_configurations_are_corrected_to_chance():
    # 25 "configurations" that guess at random: the best CV accuracy is luck, BBC-CV sees it.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=400)
    outputs = [{"predict": rng.integers(0, 2, size=400)} for _ in range(25)]
    scorer = get_scorer("accuracy")
    best_cv = max(float(np.mean(o["predict"] == y)) for o in outputs)
    tags = LogisticRegression().__sklearn_tags__()
    estimate = bbc_cv_predictions(outputs, y, scorer, tags=tags, classes=np.array([0, 1]))
    assert best_cv > 0.54
    assert abs(estimate - 0.5) < 0.025


def test_a_clear_winner_keeps_its_score():
    X, y = make_classification(400, 10, n_informative=6, random_state=1)
    scorer = get_scorer("accuracy")
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    good, _ = _oof(SVC(C=1.0), X, y, scorer, cv)
    bad, fitted = _oof(SVC(C=1e-4), X, y, scorer, cv)
    cv_good = float(np.mean(good["predict"] == y))
    est = bbc_cv_predictions(
        [good, bad], y, scorer, tags=fitted.__sklearn_tags__(), classes=fitted.classes_
    )
    assert est == pytest.approx(cv_good, abs=0.02)


def test_regression_and_a_default_scorer():
    from sklearn.metrics._scorer import _PassthroughScorer

    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    estimator = Ridge()
    # A regressor's own score is R²: no mean over rows, so it is corrected over folds.
    assert replayable_scorer(_PassthroughScorer(estimator), estimator) is None
    classifier = LogisticRegression()
    default = replayable_scorer(_PassthroughScorer(classifier), classifier)
    assert default is not None and default._score_func.__name__ == "accuracy_score"
    scorer = get_scorer("neg_mean_squared_error")
    outputs, fitted = _oof(estimator, X, y, scorer, KFold(5))
    est = bbc_cv_predictions([outputs], y, scorer, tags=fitted.__sklearn_tags__())
    assert -40 < est < -20  # noise 5: a mean squared error of about 25


def test_a_custom_score_method_cannot_be_replayed():
    from sklearn.metrics._scorer import _PassthroughScorer

    class OwnScore(Ridge):
        def score(self, X, y, sample_weight=None):
            return 1.0

    assert replayable_scorer(_PassthroughScorer(OwnScore()), OwnScore()) is None
    named = get_scorer("neg_mean_squared_error")
    assert replayable_scorer(named, OwnScore()) is named
    assert replayable_scorer(get_scorer("r2"), OwnScore()) is None


def _recorded_predictions(rng, scoring, n_rows, n_configs):
    """Targets and per-configuration predictions as a search records them: 3 classes for
    accuracy, noisy regressions otherwise."""
    if scoring == "accuracy":
        y = rng.integers(0, 3, size=n_rows)
        outputs = [{"predict": rng.integers(0, 3, size=n_rows)} for _ in range(n_configs)]
        return y, outputs, LogisticRegression().__sklearn_tags__(), np.array([0, 1, 2])
    y = rng.normal(size=n_rows)
    outputs = [
        {"predict": y + rng.normal(scale=0.3 + i / 5, size=n_rows)} for i in range(n_configs)
    ]
    return y, outputs, Ridge().__sklearn_tags__(), None


@pytest.mark.parametrize(
    "scoring", ["accuracy", "neg_mean_squared_error", "neg_mean_absolute_error"]
)
def test_the_vectorized_metrics_agree_with_the_scorers(scoring):
    from tunelab.sklearn import _bbc

    rng = np.random.default_rng(3)
    y, outputs, tags, classes = _recorded_predictions(rng, scoring, n_rows=150, n_configs=6)
    scorer = get_scorer(scoring)
    fast = bbc_cv_predictions(outputs, y, scorer, tags=tags, classes=classes, n_bootstrap=30)
    bags = np.random.default_rng(0).integers(0, 150, size=(30, 150))
    out = np.ones((30, 150))
    for b, bag in enumerate(bags):
        out[b, bag] = 0.0
    slow = _bbc._bbc_by_scorer(outputs, y, scorer, tags, classes, bags, out)
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12)


def _sparse_accuracy(est, X, y):
    # Indexes the Pipeline and checks its type: a proxy of the model fails both.
    assert isinstance(est, Pipeline), type(est)
    return float(np.mean(est.predict(X) == y)) - 0.001 * np.count_nonzero(est[-1].coef_)


def _plain_accuracy(est, X, y):
    return float(np.mean(est.predict(X) == y))


def test_the_scorer_gets_the_fitted_model_itself():
    # Found by a QA pass: on the default path (one metric, no train scores) a callable scorer
    # got a recording proxy, and every fold scored NaN.
    X, y = make_classification(120, 5, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:80], y[:80])
    recording = ScoreAndRecord(_sparse_accuracy)
    assert recording(model, X[80:], y[80:]) == _sparse_accuracy(model, X[80:], y[80:])
    np.testing.assert_array_equal(recording.outputs["predict"], model.predict(X[80:]))
    assert "predict" not in vars(model)  # the recording wrappers are gone again

    space = {"logisticregression__C": [0.01, 1.0]}
    cv = StratifiedKFold(4)
    ours = SearchCV(model, space, cv=cv, scoring=_sparse_accuracy, racing=False).fit(X, y)
    ref = GridSearchCV(model, space, cv=cv, scoring=_sparse_accuracy).fit(X, y)
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )
    # A callable's metric is unknown (it need not be a mean over rows), so its estimate is per
    # fold, even for one that only predicts; the named scorer of the same metric is per row.
    assert ours.generalization_.method == "BBC-CV over folds"
    methods = {}
    for scoring in (_plain_accuracy, "accuracy"):
        search = SearchCV(model, space, cv=cv, scoring=scoring, racing=False, random_state=0)
        search.fit(X, y)
        methods[scoring if isinstance(scoring, str) else "callable"] = search.generalization_.method
    assert methods == {
        "callable": "BBC-CV over folds",
        "accuracy": "BBC-CV over out-of-fold predictions",
    }


def test_a_recording_keeps_the_call_on_every_test_row():
    X, y = make_classification(60, 4, random_state=0)
    model = LogisticRegression().fit(X, y)

    def subset_then_all(est, X, y):
        est.predict(X[:10])
        return float(np.mean(est.predict(X) == y))

    outputs = record_predictions(subset_then_all, model, X, y)
    assert outputs["predict"].shape == (60,)


def test_the_per_row_estimate_weighs_rows_as_the_routed_scorer_does():
    # Found by a QA pass: with sample_weight routed to the scorer, the CV scores were weighted
    # but the per-row estimate replayed the predictions unweighted: another metric.
    from sklearn.metrics import log_loss, make_scorer

    import sklearn

    X, y = make_classification(300, 6, flip_y=0.2, random_state=0)
    hard = LogisticRegression().fit(X, y).predict(X) != y
    weights = np.where(hard, 20.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(
            log_loss, greater_is_better=False, response_method="predict_proba"
        ).set_score_request(sample_weight=True)
        model = LogisticRegression().set_fit_request(sample_weight=False)
        search = SearchCV(
            model, {"C": [0.1, 1.0]}, cv=StratifiedKFold(5), scoring=scorer, racing=False
        )
        search.fit(X, y, sample_weight=weights)
    gen = search.generalization_
    assert gen.method == "BBC-CV over out-of-fold predictions"
    oof = cross_val_predict(
        LogisticRegression(C=search.best_params_["C"]),
        X,
        y,
        cv=StratifiedKFold(5),
        method="predict_proba",
    )
    weighted, unweighted = -log_loss(y, oof, sample_weight=weights), -log_loss(y, oof)
    assert abs(gen.corrected_score - weighted) < 0.1 < abs(gen.corrected_score - unweighted)


@pytest.mark.parametrize(
    "scoring", ["accuracy", "neg_mean_squared_error", "neg_mean_absolute_error"]
)
def test_weighted_vectorized_metrics_agree_with_the_weighted_scorers(scoring):
    from tunelab.sklearn import _bbc

    rng = np.random.default_rng(4)
    y, outputs, tags, classes = _recorded_predictions(rng, scoring, n_rows=120, n_configs=5)
    params = {"sample_weight": rng.uniform(0.1, 5.0, size=120)}
    scorer = get_scorer(scoring)
    fast = bbc_cv_predictions(
        outputs, y, scorer, tags=tags, classes=classes, n_bootstrap=20, score_params=params
    )
    bags = np.random.default_rng(0).integers(0, 120, size=(20, 120))
    out = np.ones((20, 120))
    for b, bag in enumerate(bags):
        out[b, bag] = 0.0
    slow = _bbc._bbc_by_scorer(outputs, y, scorer, tags, classes, bags, out, score_params=params)
    unweighted = bbc_cv_predictions(outputs, y, scorer, tags=tags, classes=classes, n_bootstrap=20)
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12)
    assert fast != pytest.approx(unweighted, rel=1e-6)


def test_fold_balanced_weights_make_pooled_rows_average_as_the_folds_do():
    from tunelab.sklearn._bbc import fold_balanced_params

    rng = np.random.default_rng(0)
    loss, weights = rng.uniform(size=50), rng.uniform(0.1, 3.0, size=50)
    tests = [np.arange(0, 30), np.arange(30, 42), np.arange(42, 50)]
    fold_mean = np.mean([np.average(loss[t], weights=weights[t]) for t in tests])
    for routed in ({}, {"sample_weight": weights}):
        params = fold_balanced_params(routed, tests, 50)
        w = params["sample_weight"]
        own = weights if routed else np.ones(50)
        expected = np.mean([np.average(loss[t], weights=own[t]) for t in tests])
        assert np.average(loss, weights=w) == pytest.approx(expected)
        assert w.mean() == pytest.approx(1.0)
    assert np.average(loss, weights=params["sample_weight"]) == pytest.approx(fold_mean)
    equal = [np.arange(0, 25), np.arange(25, 50)]
    assert fold_balanced_params({}, equal, 50) == {}  # nothing to balance: left as it was
    assert fold_balanced_params({"sample_weight": [1.0, 2.0]}, tests, 50) is None
