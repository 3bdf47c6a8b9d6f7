from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.integration import fit_iteratively
from tunelab.pruners import BasePruner, ThresholdPruner

X, y = load_iris(return_X_y=True)
X_TRAIN, X_VAL, Y_TRAIN, Y_VAL = train_test_split(X, y, test_size=0.3, random_state=0)


@pytest.mark.parametrize(
    ("estimator", "n_steps"),
    [
        (SGDClassifier(random_state=0), 4),
        (HistGradientBoostingClassifier(max_iter=8, random_state=0), 4),
        (RandomForestClassifier(n_estimators=6, random_state=0), 3),
    ],
)
def test_reports_every_step_and_returns_the_fitted_estimator(estimator, n_steps):
    study = tl.create_study(direction="maximize")
    trial = study.ask()
    model, score = fit_iteratively(
        trial, estimator, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=n_steps
    )
    assert sorted(trial.intermediate_values) == list(range(1, n_steps + 1))
    assert score == trial.intermediate_values[n_steps] == model.score(X_VAL, Y_VAL)
    assert model is not estimator  # the caller's estimator is left untouched
    for resource in ("max_iter", "n_estimators"):
        if resource in estimator.get_params():
            assert model.get_params()[resource] == estimator.get_params()[resource]


def test_warm_start_grows_the_ensemble_step_by_step():
    study = tl.create_study(direction="maximize")
    seen = []

    class Spy(BasePruner):
        def prune(self, study, trial):
            return False

    study.pruner = Spy()
    trial = study.ask()
    model = RandomForestClassifier(n_estimators=7, random_state=0)
    original = RandomForestClassifier.fit

    def spy_fit(self, X, y):
        seen.append(self.n_estimators)
        return original(self, X, y)

    RandomForestClassifier.fit = spy_fit
    try:
        fit_iteratively(trial, model, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=3)
    finally:
        RandomForestClassifier.fit = original
    assert seen == [2, 4, 7]


def test_prunes_through_the_study_pruner():
    study = tl.create_study(direction="maximize", pruner=ThresholdPruner(lower=2.0))
    trial = study.ask()
    with pytest.raises(tl.TrialPruned, match="pruned at step 1"):
        fit_iteratively(trial, SGDClassifier(random_state=0), X_TRAIN, Y_TRAIN, X_VAL, Y_VAL)
    assert list(trial.intermediate_values) == [1]


def test_custom_scoring():
    study = tl.create_study(direction="maximize")
    trial = study.ask()
    _, score = fit_iteratively(
        trial,
        SGDClassifier(loss="log_loss", random_state=0),
        X_TRAIN,
        Y_TRAIN,
        X_VAL,
        Y_VAL,
        n_steps=2,
        scoring="neg_log_loss",
    )
    assert score < 0


def test_optimize_stores_pruned_trials():
    def objective(trial):
        alpha = trial.suggest_float("alpha", 1e-5, 10.0, log=True)
        _, score = fit_iteratively(
            trial,
            SGDClassifier(alpha=alpha, random_state=0),
            X_TRAIN,
            Y_TRAIN,
            X_VAL,
            Y_VAL,
            n_steps=3,
        )
        return score

    study = tl.create_study(direction="maximize", pruner=ThresholdPruner(lower=0.8), seed=0)
    study.optimize(objective, n_trials=8)
    states = {t.state for t in study.trials}
    assert states <= {tl.TrialState.COMPLETE, tl.TrialState.PRUNED}
    for t in study.get_trials((tl.TrialState.PRUNED,)):
        assert t.value == t.intermediate_values[t.last_step] < 0.8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"estimator": KNeighborsClassifier()}, "cannot train KNeighborsClassifier step by step"),
        ({"n_steps": 0}, "The 'n_steps' parameter of fit_iteratively must be a positive int"),
        (
            {"estimator": RandomForestClassifier(n_estimators=2), "n_steps": 3},
            "The 'n_steps' parameter of fit_iteratively must be at most the estimator's "
            "n_estimators \\(2\\)",
        ),
    ],
)
def test_bad_input(kwargs, match):
    study = tl.create_study(direction="maximize")
    args = {"estimator": SGDClassifier(), "n_steps": 2, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        fit_iteratively(
            study.ask(), args["estimator"], X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=args["n_steps"]
        )


def test_a_minimize_study_is_rejected():
    study = tl.create_study(direction="minimize")
    with pytest.raises(InvalidParameterError, match="greater is better"):
        fit_iteratively(study.ask(), SGDClassifier(), X_TRAIN, Y_TRAIN, X_VAL, Y_VAL)


@pytest.mark.parametrize(
    "estimator",
    [
        RandomForestClassifier(n_estimators=6, random_state=0),
        HistGradientBoostingClassifier(max_iter=6, random_state=0),
        LogisticRegression(max_iter=30),
    ],
)
def test_the_returned_model_keeps_the_callers_warm_start_and_budget(estimator):
    # Found by a QA pass: the returned forest kept warm_start=True, so a refit on all the data
    # kept the trees grown on the training split.
    study = tl.create_study(direction="maximize")
    model, _ = fit_iteratively(study.ask(), estimator, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=3)
    assert model.get_params() == estimator.get_params()
    if isinstance(model, RandomForestClassifier):
        before = [tree.tree_.node_count for tree in model.estimators_]
        model.fit(X, y)
        assert [tree.tree_.node_count for tree in model.estimators_] != before


def _spy(cls):
    class Spy(cls):
        def fit(self, X, y, **kwargs):
            CALLS.append(self.max_iter)
            return super().fit(X, y, **kwargs)

    Spy.__name__ = cls.__name__
    return Spy


CALLS: list[int] = []


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (MLPClassifier, {"solver": "lbfgs", "random_state": 0}),
        (MLPRegressor, {"solver": "lbfgs", "random_state": 0}),
        (LogisticRegression, {"tol": 1e-12}),
        (HistGradientBoostingClassifier, {"random_state": 0}),
    ],
)
def test_max_iter_adds_up_to_the_configured_budget(cls, kwargs):
    # Found by a QA pass: max_iter counts the iterations of one fit() call for these (only
    # HistGradientBoosting counts the total), so MLPClassifier(solver="lbfgs", max_iter=20) in
    # 3 steps ran 6 + 13 + 20 = 39 iterations.
    CALLS.clear()
    estimator = _spy(cls)(max_iter=20, **kwargs)
    data = (X_TRAIN, Y_TRAIN, X_VAL, Y_VAL)
    if cls is MLPRegressor:
        data = (X_TRAIN[:, 1:], X_TRAIN[:, 0], X_VAL[:, 1:], X_VAL[:, 0])
    study = tl.create_study(direction="maximize")
    model, _ = fit_iteratively(study.ask(), estimator, *data, n_steps=3)
    if cls is HistGradientBoostingClassifier:
        assert CALLS == [6, 13, 20] and model.n_iter_ == 20  # the total, grown
    else:
        assert CALLS == [6, 7, 7]  # each call's own iterations
        assert np.sum(model.n_iter_) <= 7
    assert model.max_iter == 20


def test_logistic_regression_with_liblinear_is_refused():
    study = tl.create_study(direction="maximize")
    with pytest.raises(InvalidParameterError, match="ignores warm_start with solver='liblinear'"):
        fit_iteratively(
            study.ask(), LogisticRegression(solver="liblinear"), X_TRAIN, Y_TRAIN, X_VAL, Y_VAL
        )
