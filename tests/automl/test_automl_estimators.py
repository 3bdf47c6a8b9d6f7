from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification

from tunelab import InvalidParameterError
from tunelab.automl import AutoClassifier, AutoRegressor

PENGUINS = Path(__file__).resolve().parents[3] / "shared" / "data" / "penguins.csv"
FAST = {"cv": 3, "verbose": 0, "random_state": 0}


def _split(X, y, seed=0):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    cut = int(0.7 * len(y))
    take = (lambda a, i: a.iloc[i]) if hasattr(X, "iloc") else (lambda a, i: a[i])
    return take(X, idx[:cut]), take(X, idx[cut:]), y[idx[:cut]], y[idx[cut:]]


def test_binary_classification() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:240], y[:240]
    Xtr, Xte, ytr, yte = _split(X, y)
    model = AutoClassifier(time_budget=20, max_trials=4, include=["linear", "hgb"], **FAST)
    model.fit(Xtr, ytr)
    proba = model.predict_proba(Xte)
    assert proba.shape == (len(yte), 2) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(Xte, yte) > 0.85
    board = model.leaderboard_
    assert list(board.columns[:5]) == ["trial", "model", "pipeline", "cv_score", "cv_std"]
    assert board["cv_score"].is_monotonic_decreasing
    assert set(board["model"]) <= {"linear", "hgb"}
    assert model.n_trials_ == 4


def test_multiclass_with_string_labels() -> None:
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    Xtr, Xte, ytr, yte = _split(X, labels)
    model = AutoClassifier(time_budget=20, max_trials=3, include=["linear", "knn"], **FAST)
    model.fit(Xtr, ytr)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    pred = model.predict(Xte)
    assert set(pred) <= set(model.classes_)
    assert np.mean(pred == yte) > 0.85
    assert model.best_pipeline_.predict(Xte[:3]).dtype.kind == "U"


def test_regression() -> None:
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = _split(X, y)
    model = AutoRegressor(time_budget=20, max_trials=3, include=["linear", "hgb"], **FAST)
    model.fit(Xtr, ytr)
    assert model.metric_ == "r2"
    assert model.score(Xte, yte) > 0.3
    assert model.predict(Xte).shape == (len(yte),)


def _mixed_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "size": np.where(rng.random(n) < 0.15, np.nan, size),
            "color": pd.Series(color).where(rng.random(n) > 0.1, None),
            "noise": rng.normal(size=n),
            "flag": rng.random(n) < 0.5,
        }
    )
    y = np.where((color == "red") ^ (size > 0.5), "yes", "no")
    return X, y


def test_mixed_type_dataframe_with_missing_values() -> None:
    X, y = _mixed_frame(300)
    Xtr, Xte, ytr, yte = _split(X, y)
    model = AutoClassifier(time_budget=20, max_trials=3, include=["hgb", "rf"], **FAST)
    model.fit(Xtr, ytr)
    assert list(model.feature_names_in_) == ["size", "color", "noise", "flag"]
    assert model.score(Xte, yte) > 0.8
    # A level never seen in training still predicts.
    unseen = Xte.head(2).assign(color="purple")
    assert model.predict(unseen).shape == (2,)


@pytest.mark.skipif(not PENGUINS.exists(), reason=f"needs the shared data file {PENGUINS}")
def test_penguins_csv() -> None:
    frame = pd.read_csv(PENGUINS)
    X, y = frame.drop(columns="species"), frame["species"].to_numpy()
    model = AutoClassifier(time_budget=20, max_trials=2, include=["linear", "hgb"], **FAST)
    model.fit(X, y)
    assert model.score(X, y) > 0.9


def test_time_budget_is_kept_with_refit() -> None:
    X, y = make_classification(400, 12, n_informative=6, random_state=0)
    budget = 5.0
    began = time.perf_counter()
    model = AutoClassifier(time_budget=budget, **FAST).fit(X, y)
    wall = time.perf_counter() - began
    assert wall <= 1.1 * budget, f"fit took {wall:.2f}s for a {budget}s budget"
    assert model.fit_time_ <= 1.1 * budget
    assert model.n_trials_ >= 3


def test_ensemble_is_used_only_when_it_beats_the_best_single() -> None:
    X, y = make_classification(300, 10, n_informative=5, flip_y=0.1, random_state=3)
    model = AutoClassifier(time_budget=30, max_trials=10, **FAST).fit(X, y)
    g = model.generalization_
    if model.ensemble_ is None:
        assert g["cv_score"] == g["cv_score_best_single"]
        assert model.leaderboard_["ensemble_weight"].sum() == 0
    else:
        assert g["cv_score"] > g["cv_score_best_single"]
        assert model.leaderboard_["ensemble_weight"].sum() == pytest.approx(1.0)
        assert np.allclose(model.predict_proba(X[:5]), model.ensemble_.predict_proba(X[:5]))
    no_ens = AutoClassifier(time_budget=30, max_trials=4, ensemble_size=0, **FAST).fit(X, y)
    assert no_ens.ensemble_ is None


def test_generalization_uses_a_holdout_on_larger_data() -> None:
    X, y = make_classification(600, 8, random_state=1)
    model = AutoClassifier(time_budget=20, max_trials=2, include=["linear"], **FAST).fit(X, y)
    g = model.generalization_
    assert g["n_holdout"] == 90
    assert 0.5 < g["holdout_score"] <= 1.0
    assert g["gap"] == pytest.approx(g["cv_score"] - g["holdout_score"])
    small = AutoClassifier(time_budget=20, max_trials=1, include=["linear"], **FAST)
    assert small.fit(X[:100], y[:100]).generalization_["holdout_score"] is None


def test_trials_go_to_the_given_storage(sqlite_url: str) -> None:
    X, y = make_classification(80, 4, random_state=0)
    kwargs = dict(storage=sqlite_url, study_name="auto", include=["linear"], max_trials=2)
    AutoClassifier(time_budget=20, **kwargs, **FAST).fit(X, y)
    model = AutoClassifier(time_budget=20, **kwargs, **FAST).fit(X, y)
    # The second fit continues the same study.
    assert len(model.study_.trials) == 4


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"time_budget": -1}, "'time_budget' parameter of AutoClassifier must be a positive"),
        ({"cv": 1}, "'cv' parameter of AutoClassifier must be an int >= 2"),
        ({"ensemble_size": -2}, "'ensemble_size' parameter of AutoClassifier"),
        ({"max_trials": 0}, "'max_trials' parameter of AutoClassifier"),
        ({"include": ["forest"]}, "'include' parameter of AutoClassifier"),
        ({"metric": "r2"}, "'r2' is a regression metric"),
        ({"metric": "roc_auc"}, "does not fit this classification target"),
    ],
)
def test_bad_parameters_are_reported_at_fit(params: dict, match: str) -> None:
    X, y = load_iris(return_X_y=True)
    model = AutoClassifier(**params)
    assert model.get_params()[next(iter(params))] == next(iter(params.values()))
    with pytest.raises(InvalidParameterError, match=match):
        model.fit(X, y)


def test_regressor_rejects_labels_and_classification_metrics() -> None:
    with pytest.raises(InvalidParameterError, match="needs a numeric target"):
        AutoRegressor(verbose=0).fit(np.ones((6, 2)), np.array(list("abcabc")))
    with pytest.raises(InvalidParameterError, match="'accuracy' is a classification metric"):
        AutoRegressor(metric="accuracy").fit(np.ones((6, 2)), np.arange(6.0))


@pytest.mark.parametrize("cls", [AutoClassifier, AutoRegressor])
def test_scikit_learn_estimator_checks(cls) -> None:
    from sklearn.utils.estimator_checks import check_estimator

    est = cls(time_budget=20, max_trials=1, include=["linear"], cv=2, random_state=0, verbose=0)
    # Internal CV deals rows to folds: a row weighted 2 sits in one fold, its two copies may sit
    # in two, so integer weights cannot equal repeated rows (scikit-learn expects the same
    # failure of its own CV estimators).
    expected = {
        "check_sample_weight_equivalence_on_dense_data": "internal CV splits rows, not weights"
    }
    results = check_estimator(est, on_fail=None, expected_failed_checks=expected)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []


def test_import_tunelab_does_not_load_automl() -> None:
    code = "import sys, tunelab; print('tunelab.automl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_tiny_budget_still_gives_a_model() -> None:
    X, y = make_classification(150, 5, random_state=0)
    model = AutoClassifier(time_budget=0.05, **FAST).fit(X, y)
    assert model.n_trials_ >= 1
    assert model.leaderboard_["model"].iloc[0] == "linear"
    assert model.score(X, y) > 0.7


def test_infinity_in_a_frame_is_refused_before_the_search() -> None:
    # Found by a QA pass: every pipeline failed on it, one by one, until the budget was spent
    # ("All 152 evaluated pipelines failed"); this message comes from the input check instead.
    X = pd.DataFrame({"a": [1.0, 2.0, np.inf, 4.0] * 10, "b": ["x", "y"] * 20})
    with pytest.raises(ValueError, match=r"infinity in column\(s\) a;"):
        AutoRegressor(time_budget=30).fit(X, np.arange(40.0))
    # An array's columns are named by index (check_array named none).
    array = np.ones((40, 3))
    array[5, 2] = -np.inf
    with pytest.raises(ValueError, match=r"infinity in column\(s\) 2;"):
        AutoRegressor(time_budget=30).fit(array, np.arange(40.0))


def test_score_is_the_fitted_metric() -> None:
    # Found by a QA pass: ClassifierMixin.score / RegressorMixin.score came first in the MRO,
    # so score() was accuracy / r2 whatever the metric.
    from sklearn.metrics import get_scorer

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200], y[:200]
    clf = AutoClassifier(
        time_budget=20, metric="neg_log_loss", max_trials=1, include=["linear"], **FAST
    ).fit(X, y)
    assert clf.score(X, y) == pytest.approx(get_scorer("neg_log_loss")(clf, X, y))
    assert clf.score(X, y) < 0
    weights = np.linspace(0.5, 2.0, len(y))
    assert clf.score(X, y, sample_weight=weights) == pytest.approx(
        get_scorer("neg_log_loss")(clf, X, y, sample_weight=weights)
    )
    Xr, yr = load_diabetes(return_X_y=True)
    Xr, yr = Xr[:200], yr[:200]
    reg = AutoRegressor(
        time_budget=20, metric="neg_mean_absolute_error", max_trials=1, include=["linear"], **FAST
    ).fit(Xr, yr)
    assert reg.score(Xr, yr) == pytest.approx(get_scorer("neg_mean_absolute_error")(reg, Xr, yr))
    assert reg.score(Xr, yr) < 0


@pytest.mark.parametrize(
    ("cls", "y", "match"),
    [
        (AutoClassifier, [0, 1], "needs a class with at least 2 rows"),
        (AutoClassifier, [0, 1, 0], "at least 2 classes in every CV training fold"),
        (AutoRegressor, [0.0, 1.0, 2.0], "needs at least 4 rows for 2-fold CV"),
    ],
)
def test_too_few_rows_for_cv_are_refused_before_the_search(cls, y, match) -> None:
    # Found by a QA pass: a regressor on 3 rows failed every pipeline (r2 of one row is NaN)
    # for the whole budget; a classifier got StratifiedKFold's error.
    began = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        cls(time_budget=30, verbose=0).fit(np.arange(2.0 * len(y)).reshape(len(y), 2), y)
    assert time.perf_counter() - began < 5


def _half_mislabelled(n: int = 300, seed: int = 0):
    # A clean threshold on the first feature, and a block of rows whose labels are flipped:
    # weight 0 on that block makes the problem separable.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] > 0).astype(int)
    noisy = rng.random(n) < 0.4
    y[noisy] = 1 - y[noisy]
    return X, y, np.where(noisy, 0.0, 1.0)


def test_sample_weight_reaches_fits_scores_and_holdout() -> None:
    X, y, w = _half_mislabelled(n=600)
    params = dict(time_budget=30, max_trials=2, include=["linear"], **FAST)
    weighted = AutoClassifier(**params).fit(X, y, sample_weight=w)
    plain = AutoClassifier(**params).fit(X, y)
    # Fold scores count only the clean rows, so the weighted CV accuracy is near 1; unweighted
    # it is near the 60% of rows whose labels agree with the threshold.
    assert weighted.cv_score_ > 0.95
    assert plain.cv_score_ < 0.75
    assert weighted.generalization_["holdout_score"] > 0.95
    clean = w > 0
    assert weighted.score(X[clean], y[clean]) > 0.95


def test_sample_weight_leaves_out_models_that_take_none() -> None:
    X, y, w = _half_mislabelled()
    model = AutoClassifier(time_budget=30, max_trials=12, **FAST).fit(X, y, sample_weight=w)
    asked = {t.params["model"] for t in model.study_.trials}
    assert "knn" not in asked and len(asked) > 1
    with pytest.raises(InvalidParameterError, match="names 'knn', whose model takes no sample"):
        AutoClassifier(time_budget=30, include=["knn"], **FAST).fit(X, y, sample_weight=w)


@pytest.mark.parametrize(
    ("weight", "error", "match"),
    [
        (-np.ones(300), ValueError, "Negative values in data passed to `sample_weight`"),
        (np.zeros(300), ValueError, "at least one non-zero number"),
        (np.ones(299), ValueError, r"sample_weight.shape == \(299,\), expected \(300,\)"),
    ],
)
def test_bad_sample_weight_is_refused_before_the_search(weight, error, match) -> None:
    X, y, _ = _half_mislabelled()
    with pytest.raises(error, match=match):
        AutoClassifier(time_budget=30, **FAST).fit(X, y, sample_weight=weight)


def test_a_scorer_without_weights_is_refused_in_a_weighted_fit() -> None:
    X, y, w = _half_mislabelled()

    def accuracy(est, X, y):  # takes no sample_weight
        return float(np.mean(est.predict(X) == y))

    with pytest.raises(InvalidParameterError, match="'metric' parameter .* unexpected keyword"):
        AutoClassifier(time_budget=30, metric=accuracy, **FAST).fit(X, y, sample_weight=w)
    AutoClassifier(time_budget=30, metric=accuracy, max_trials=1, include=["linear"], **FAST).fit(
        X, y
    )


def test_regressor_sample_weight_reaches_wrapped_models() -> None:
    # SVR and MLP sit inside a TransformedTargetRegressor, which must pass the weights on.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = 3.0 * X[:, 0]
    outliers = rng.random(200) < 0.3
    y[outliers] += 50.0
    w = np.where(outliers, 0.0, 1.0)
    clean = ~outliers
    for family in ["svm", "mlp", "hgb"]:
        params = dict(time_budget=30, max_trials=1, include=[family], **FAST)
        weighted = AutoRegressor(**params).fit(X, y, sample_weight=w)
        plain = AutoRegressor(**params).fit(X, y)
        # Unweighted, the outliers pull the predictions up.
        weighted_r2 = weighted.score(X[clean], y[clean])
        assert weighted_r2 > 0.5 and weighted_r2 > plain.score(X[clean], y[clean]) + 0.2, family


def test_xgboost_classifier_passes_sample_weight_through_its_label_encoder() -> None:
    pytest.importorskip("xgboost")
    X, y, w = _half_mislabelled()
    xgb = AutoClassifier(time_budget=30, max_trials=1, include=["xgb"], **FAST)
    assert xgb.fit(X, y, sample_weight=w).cv_score_ > 0.9


def test_the_summary_line_accounts_for_every_pipeline(capsys: pytest.CaptureFixture) -> None:
    # Found by a QA pass: "141 pipelines in 57.1s (67 complete, 48 raced out, 0 failed)" left
    # out the pipelines the time budget skipped or stopped.
    import re

    from tunelab.automl._search import SearchResult

    model = AutoClassifier()
    model.fit_time_, model.metric_, model.cv_score_, model.ensemble_ = 57.1, "accuracy", 0.9, None
    result = SearchResult(
        candidates=[object()] * 67, n_trials=141, n_raced=48, n_failed=0, n_skipped=21,
        n_stopped=5,
    )  # fmt: skip
    model._report(result)
    line = capsys.readouterr().err
    total, *parts = (
        int(n) for n in re.findall(r"(\d+) (?:pipelines|complete|raced|failed|cut)", line)
    )
    assert total == 141 and sum(parts) == 141, line
    assert "26 cut by the time budget" in line


def test_sample_weight_works_under_metadata_routing():
    # Found by a QA pass: with routing on, model__sample_weight was refused by Pipeline.fit and
    # every pipeline failed until the budget was spent.
    from sklearn.model_selection import cross_val_score

    import sklearn

    X, y, w = _half_mislabelled()
    with sklearn.config_context(enable_metadata_routing=True):
        model = AutoClassifier(time_budget=30, max_trials=3, include=["linear", "svm"], **FAST)
        assert model.fit(X, y, sample_weight=w).cv_score_ > 0.95
        reg = AutoRegressor(time_budget=30, max_trials=2, include=["svm"], **FAST)
        reg.fit(X, X[:, 0] * 3.0, sample_weight=w + 0.5)
        outer = AutoClassifier(time_budget=30, max_trials=1, include=["linear"], **FAST)
        outer.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        scores = cross_val_score(outer, X, y, cv=2, params={"sample_weight": w})
    assert np.all(scores > 0.9)


def test_a_fold_with_no_weight_is_refused_before_the_search():
    # Found by a QA pass: a fold whose rows all weighed 0 failed every pipeline for the whole
    # budget, with an error that did not say why.
    from sklearn.model_selection import KFold

    X, y, _ = _half_mislabelled()
    w = np.ones(len(y))
    w[:100] = 0
    began = time.perf_counter()
    with pytest.raises(ValueError, match="is 0 on every row of CV fold 0's test part"):
        AutoClassifier(
            time_budget=30, cv=KFold(3), include=["linear"], verbose=0, random_state=0
        ).fit(X, y, sample_weight=w)
    assert time.perf_counter() - began < 5


@pytest.mark.parametrize(
    "hole",
    [np.nan, None, pd.NA],
    ids=["nan", "none", "pd.NA"],
)
@pytest.mark.parametrize("labels", ["text", "numbers"])
def test_a_missing_target_is_refused_naming_its_column(hole, labels) -> None:
    # Found by a QA pass: text labels gave scikit-learn's "Unknown label type: unknown", numbers
    # a cast warning and then "Input y contains NaN"; the docs promise the column is named.
    X, codes = load_iris(return_X_y=True)
    values = np.array(["a", "b", "c"], dtype=object)[codes] if labels == "text" else codes
    y = pd.Series(values, name="species", dtype=object)
    y.iloc[[4, 9]] = hole
    began = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"^AutoClassifier: y \(column 'species'\) is missing in 2 of 150 rows \(positions "
        r"4, 9\); .* drop those rows from X and y first\.$",
    ):
        AutoClassifier(time_budget=30, **FAST).fit(X, y)
    assert time.perf_counter() - began < 5


def test_a_missing_regression_target_is_refused_the_same_way() -> None:
    X, y = load_diabetes(return_X_y=True)
    y = pd.Series(y, name="progression").astype("Float64")
    y.iloc[3] = pd.NA
    with pytest.raises(ValueError, match=r"y \(column 'progression'\) is missing in 1 of 442"):
        AutoRegressor(time_budget=30, **FAST).fit(X, y)


def test_a_stored_study_refuses_a_fit_with_another_metric(tmp_path: Path) -> None:
    # Found by a QA pass: accuracy trials and neg_log_loss trials were ranked in one study.
    import tunelab

    url = f"sqlite:///{tmp_path / 'a.db'}"
    X, y = load_iris(return_X_y=True)
    params = dict(
        time_budget=20, max_trials=1, include=["linear"], storage=url, study_name="a", **FAST
    )
    AutoClassifier(**params).fit(X, y)
    study = tunelab.load_study(study_name="a", storage=url)
    assert study.metric_names == ["accuracy"]  # plots label the value axis with it
    with pytest.raises(
        InvalidParameterError,
        match=r"AutoClassifier: study 'a' holds trials scored with 'accuracy', and "
        r"metric='neg_log_loss' scores another metric; .* Use a new study_name for "
        r"'neg_log_loss', or metric='accuracy' to continue this study\.",
    ):
        AutoClassifier(**params, metric="neg_log_loss").fit(X, y)
    assert len(tunelab.load_study(study_name="a", storage=url).trials) == 1
    AutoClassifier(**params, metric="accuracy").fit(X, y)  # the same metric continues it
    assert len(tunelab.load_study(study_name="a", storage=url).trials) == 2


class _SlowClassifier(ClassifierMixin, BaseEstimator):
    """A logistic regression whose every fit takes ``delay`` seconds more."""

    def __init__(self, delay: float = 0.4) -> None:
        self.delay = delay

    def fit(self, X, y, sample_weight=None):
        from sklearn.linear_model import LogisticRegression

        time.sleep(self.delay)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


def _slow_forest(monkeypatch: pytest.MonkeyPatch, delay: float) -> None:
    from tunelab.automl import _zoo

    model = _zoo._model

    def slow(params, task, *args):
        return _SlowClassifier(delay) if params["model"] == "rf" else model(params, task, *args)

    monkeypatch.setattr(_zoo, "_model", slow)


def test_a_first_pipeline_too_slow_for_the_budget_stops_after_its_first_fold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by a QA pass: include=['rf'] on 8,000 rows ran the first forest's whole 5-fold CV
    # (16.6 s) in a 5 s budget, since the first configuration was never cut.
    _slow_forest(monkeypatch, 0.4)
    X, y = make_classification(120, 4, random_state=0)
    outcomes: list[str] = []
    model = AutoClassifier(time_budget=1.5, include=["rf"], cv=5, verbose=0, random_state=0)
    with pytest.warns(UserWarning, match=r"'rf': 0\.\d\ds a fold\), so it was scored on 1 of"):
        model.fit(X, y, progress=lambda d: outcomes.append(d["outcome"]))
    # One fold and the refit (0.8 s), not five folds and the refit (2.4 s).
    assert model.fit_time_ < 1.5 * 1.1
    assert outcomes == ["partial"]
    assert model.leaderboard_["model"].tolist() == ["rf"]
    trial = model.study_.trials[0]
    assert trial.user_attrs["stopped"] == "time budget: scored on 1 of 5 folds"
    assert len(trial.intermediate_values) == 1
    assert model.score(X, y) > 0.7


def test_a_stored_study_does_not_pile_up_waiting_trials(tmp_path: Path) -> None:
    # Found by a QA pass: every fit enqueued all the default configurations and left the ones
    # it did not reach WAITING (8, 16, 24 after three fits of a stored study).
    import tunelab
    from tunelab import TrialState

    url = f"sqlite:///{tmp_path / 'w.db'}"
    X, y = load_iris(return_X_y=True)
    params = dict(time_budget=20, max_trials=1, storage=url, study_name="w", **FAST)
    for _ in range(3):
        AutoClassifier(**params).fit(X, y)
        study = tunelab.load_study(study_name="w", storage=url)
        assert not study.get_trials(states=(TrialState.WAITING,))
    # Each fit ran the next default the study had not seen: the linear model, then the next.
    models = [t.params["model"] for t in study.trials]
    assert models[0] == "linear" and len(set(models)) == 3
