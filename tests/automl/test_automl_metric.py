from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from tunelab import InvalidParameterError
from tunelab.automl._metric import check_metric_fits, resolve_metric, score_predictions


def test_scores_stored_probabilities_like_the_scorer() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=50)
    proba = rng.dirichlet([1, 1], size=50)
    acc, _ = resolve_metric(None, "classification", "t")
    auc, _ = resolve_metric("roc_auc", "classification", "t")
    assert score_predictions(acc, "classification", y, proba, 2) == pytest.approx(
        accuracy_score(y, proba.argmax(axis=1))
    )
    assert score_predictions(auc, "classification", y, proba, 2) == pytest.approx(
        roc_auc_score(y, proba[:, 1])
    )
    mse, name = resolve_metric("neg_mean_squared_error", "regression", "t")
    values = rng.normal(size=50)
    assert name == "neg_mean_squared_error"
    assert score_predictions(mse, "regression", values, values + 1, 0) == pytest.approx(-1.0)


def test_metric_that_does_not_fit_the_task_is_a_clear_error() -> None:
    with pytest.raises(InvalidParameterError, match="'r2' is a regression metric"):
        resolve_metric("r2", "classification", "AutoClassifier")
    with pytest.raises(InvalidParameterError, match="'accuracy' is a classification metric"):
        resolve_metric("accuracy", "regression", "AutoRegressor")
    with pytest.raises(InvalidParameterError, match="must be a scikit-learn scorer name"):
        resolve_metric("acuracy", "classification", "AutoClassifier")
    with pytest.raises(InvalidParameterError, match="must be a scikit-learn scorer name"):
        resolve_metric(3, "classification", "AutoClassifier")
    auc, _ = resolve_metric("roc_auc", "classification", "t")
    with pytest.raises(InvalidParameterError, match="does not fit this classification target"):
        check_metric_fits(
            auc, "roc_auc", "classification", np.array([0, 1, 2, 1]), np.array([0, 1, 2]), "t"
        )
