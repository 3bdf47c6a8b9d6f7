from __future__ import annotations

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import NopPruner, ThresholdPruner

xgb = pytest.importorskip("xgboost")
from tunelab.integration import XGBoostPruningCallback  # noqa: E402


def _train(study, key="validation-logloss", metric="logloss"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    dtrain, dvalid = xgb.DMatrix(X[:150], y[:150]), xgb.DMatrix(X[150:], y[150:])
    trial = study.ask()
    params = {"objective": "binary:logistic", "eval_metric": metric, "max_depth": 2, "nthread": 1}
    xgb.train(
        params,
        dtrain,
        num_boost_round=5,
        evals=[(dvalid, "validation")],
        callbacks=[XGBoostPruningCallback(trial, key)],
        verbose_eval=False,
    )
    return trial


def test_reports_each_round():
    trial = _train(tl.create_study(pruner=NopPruner()))
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3, 4]


def test_raises_trial_pruned():
    with pytest.raises(tl.TrialPruned, match="pruned at step 0"):
        _train(tl.create_study(pruner=ThresholdPruner(upper=0.01)))


def test_maximized_metric_in_a_maximize_study():
    trial = _train(tl.create_study(direction="maximize"), key="validation-auc", metric="auc")
    assert len(trial.intermediate_values) == 5


def test_bad_key_and_direction_mismatch():
    with pytest.raises(ValueError, match="no 'validation-rmse' in this round's evaluation log"):
        _train(tl.create_study(), key="validation-rmse")
    with pytest.raises(InvalidParameterError, match="higher-is-better but the study direction"):
        _train(tl.create_study(), key="validation-auc", metric="auc")
    with pytest.raises(
        InvalidParameterError,
        match="The 'observation_key' parameter of XGBoostPruningCallback must be",
    ):
        XGBoostPruningCallback(tl.create_study().ask(), "logloss")


def test_a_cloned_estimators_callback_reports_into_the_study():
    # Found by a QA pass: clone() deep-copies the callbacks, and the copied trial reported into
    # a private copy of an in-memory study, so cross-validated XGBClassifiers never pruned.
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    study = tl.create_study(pruner=NopPruner())
    trial = study.ask()
    model = xgb.XGBClassifier(
        n_estimators=3,
        max_depth=2,
        n_jobs=1,
        eval_metric="logloss",
        callbacks=[XGBoostPruningCallback(trial, "validation_0-logloss")],
    )
    clone(model).fit(X[:90], y[:90], eval_set=[(X[90:], y[90:])], verbose=False)
    assert sorted(study.trials[0].intermediate_values) == [0, 1, 2]
