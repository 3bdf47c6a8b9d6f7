from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

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


# -- estimators that stop early by themselves --------------------------------------------------
# Found by a QA pass: a warm start restarts scikit-learn's no-improvement count (or trains on),
# so GradientBoostingClassifier(n_iter_no_change=5) grew to 70 trees step by step where its own
# fit stopped at 7, and SearchCV(pruner=True) fold scores differed from cross_validate.


@pytest.mark.parametrize(
    ("estimator", "setting"),
    [
        (GradientBoostingClassifier(n_estimators=20, n_iter_no_change=3), "n_iter_no_change=3"),
        (HistGradientBoostingClassifier(max_iter=20, early_stopping=True), "early_stopping=True"),
        (SGDClassifier(early_stopping=True), "early_stopping=True"),
        (MLPClassifier(early_stopping=True), "early_stopping=True"),
        (
            make_pipeline(StandardScaler(), SGDClassifier(early_stopping=True)),
            "early_stopping=True",
        ),
    ],
)
def test_an_estimator_that_stops_early_by_itself_is_refused(estimator, setting):
    study = tl.create_study(direction="maximize")
    name = type(estimator[-1] if isinstance(estimator, Pipeline) else estimator).__name__
    off = "None" if "n_iter_no_change" in setting else "False"
    with pytest.raises(InvalidParameterError) as info:
        fit_iteratively(study.ask(), estimator, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=3)
    message = str(info.value)
    assert message.startswith(f"{name}({setting}) stops training early by itself")
    assert f"Set {setting.split('=')[0]}={off} to let tunelab's pruner" in message
    assert "pruner=None" in message
    assert not study.trials[0].intermediate_values  # refused before any training


def test_hist_gradient_boosting_auto_early_stopping_follows_the_training_rows():
    # early_stopping='auto' turns on above 10,000 training samples, as scikit-learn decides.
    study = tl.create_study(direction="maximize")
    many = np.resize(X_TRAIN, (10_001, X_TRAIN.shape[1]))
    labels = np.resize(Y_TRAIN, 10_001)
    with pytest.raises(InvalidParameterError, match=r"early_stopping='auto'\) .*here 10,001"):
        fit_iteratively(
            study.ask(), HistGradientBoostingClassifier(max_iter=4), many, labels, X_VAL, Y_VAL
        )
    # 10,000 rows: off, so step by step equals one fit.
    estimator = HistGradientBoostingClassifier(max_iter=4, random_state=0)
    model, _ = fit_iteratively(
        study.ask(), estimator, many[:10_000], labels[:10_000], X_VAL, Y_VAL, n_steps=2
    )
    once = clone(estimator).fit(many[:10_000], labels[:10_000])
    assert model.n_iter_ == once.n_iter_ == 4
    np.testing.assert_array_equal(model.predict_proba(X_VAL), once.predict_proba(X_VAL))


@pytest.mark.parametrize(
    "estimator",
    [
        # early_stopping is for the 'sgd' and 'adam' solvers only: lbfgs ignores it.
        MLPClassifier(solver="lbfgs", max_iter=20, early_stopping=True, random_state=0),
        GradientBoostingClassifier(n_estimators=6, n_iter_no_change=None, random_state=0),
        SGDClassifier(n_iter_no_change=2, random_state=0),  # needs early_stopping or fit's tol
    ],
)
def test_settings_without_early_stopping_of_their_own_are_accepted(estimator):
    study = tl.create_study(direction="maximize")
    fit_iteratively(study.ask(), estimator, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=3)
    assert sorted(study.trials[0].intermediate_values) == [1, 2, 3]


@pytest.mark.parametrize(
    ("estimator", "space"),
    [
        (GradientBoostingClassifier(n_estimators=6, n_iter_no_change=3), {"max_depth": [1, 2]}),
        # A param_space that turns early stopping on is refused too, as one error.
        (HistGradientBoostingClassifier(max_iter=6), {"early_stopping": [False, True]}),
    ],
)
def test_search_cv_with_a_pruner_refuses_early_stopping_as_one_error(estimator, space):
    from tunelab.sklearn import SearchCV

    search = SearchCV(estimator, space, n_trials=None, cv=2, pruner=True, n_steps=3, random_state=0)
    with pytest.raises(InvalidParameterError, match="stops training early by itself"):
        search.fit(X, y)


# -- Pipelines --------------------------------------------------------------------------------
# Found by a QA pass: fit_iteratively refused make_pipeline(StandardScaler(), SGDClassifier())
# ("cannot train Pipeline step by step"), though SearchCV(pruner=...) grows such a Pipeline's
# final step.


def test_a_pipeline_grows_its_final_step_and_equals_a_pipeline_fitted_at_once():
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=6, random_state=0))
    study = tl.create_study(direction="maximize")
    model, score = fit_iteratively(study.ask(), pipe, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=3)
    assert isinstance(model, Pipeline) and model is not pipe
    assert sorted(study.trials[0].intermediate_values) == [1, 2, 3]
    assert model[-1].get_params() == pipe[-1].get_params()  # warm_start, n_estimators
    once = clone(pipe).fit(X_TRAIN, Y_TRAIN)
    np.testing.assert_array_equal(model.predict_proba(X_VAL), once.predict_proba(X_VAL))
    assert score == model.score(X_VAL, Y_VAL) == once.score(X_VAL, Y_VAL)
    np.testing.assert_array_equal(model[0].mean_, X_TRAIN.mean(axis=0))  # the head: train only


def test_a_pipeline_steps_as_its_final_step_on_the_transformed_rows():
    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    study = tl.create_study(direction="maximize")
    model, score = fit_iteratively(study.ask(), pipe, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=4)
    scaler = StandardScaler().fit(X_TRAIN)
    alone, alone_score = fit_iteratively(
        study.ask(),
        SGDClassifier(random_state=0),
        scaler.transform(X_TRAIN),
        Y_TRAIN,
        scaler.transform(X_VAL),
        Y_VAL,
        n_steps=4,
    )
    assert study.trials[0].intermediate_values == study.trials[1].intermediate_values
    assert score == alone_score == model.score(X_VAL, Y_VAL)
    np.testing.assert_array_equal(model[-1].coef_, alone.coef_)
    np.testing.assert_array_equal(model.predict(X_VAL), alone.predict(scaler.transform(X_VAL)))


def test_a_custom_scorer_gets_the_whole_pipeline_and_the_raw_rows():
    seen = []

    def scorer(estimator, X_, y_):
        seen.append((type(estimator).__name__, X_ is X_VAL))
        return estimator.score(X_, y_)

    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    study = tl.create_study(direction="maximize")
    fit_iteratively(study.ask(), pipe, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL, n_steps=3, scoring=scorer)
    assert seen == [("Pipeline", True)] * 3


def test_a_pipeline_whose_final_step_cannot_step_is_refused():
    study = tl.create_study(direction="maximize")
    pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
    with pytest.raises(
        InvalidParameterError,
        match=r"cannot train KNeighborsClassifier \(the final step of the Pipeline\) step by step",
    ):
        fit_iteratively(study.ask(), pipe, X_TRAIN, Y_TRAIN, X_VAL, Y_VAL)
