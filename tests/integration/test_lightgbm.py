from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import InvalidParameterError
from tunelab.pruners import NopPruner, ThresholdPruner

lgb = pytest.importorskip("lightgbm")
from tunelab.integration import LightGBMPruningCallback  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    return lgb.Dataset(X[:150], y[:150]), lgb.Dataset(X[150:], y[150:])


def _train(study, **cb_kwargs):
    train, valid = _data()
    trial = study.ask()
    cb = LightGBMPruningCallback(trial, **cb_kwargs)
    params = {"objective": "binary", "metric": "binary_logloss", "verbose": -1, "num_leaves": 4}
    lgb.train(params, train, num_boost_round=5, valid_sets=[valid], callbacks=[cb])
    return trial


def test_reports_each_round():
    trial = _train(tl.create_study(pruner=NopPruner()), metric="binary_logloss")
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3, 4]


def test_raises_trial_pruned():
    study = tl.create_study(pruner=ThresholdPruner(upper=0.01))
    with pytest.raises(tl.TrialPruned, match="pruned at step 0"):
        _train(study, metric="binary_logloss")


def test_direction_mismatch_and_unknown_metric():
    with pytest.raises(InvalidParameterError, match="lower-is-better but the study direction"):
        _train(tl.create_study(direction="maximize"), metric="binary_logloss")
    with pytest.raises(ValueError, match="no metric 'auc' on validation set 'valid_0'"):
        _train(tl.create_study(), metric="auc")


def test_cv_results_use_the_fold_mean():
    study = tl.create_study()
    trial = study.ask()
    cb = LightGBMPruningCallback(trial, "l2")
    env = SimpleNamespace(iteration=3, evaluation_result_list=[("valid", "l2", 0.25, False, 0.1)])
    cb(env)
    assert trial.intermediate_values == {3: 0.25}
