from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from tunelab.sklearn import OptimismWarning, SearchCV
from tunelab.sklearn._results import _rank

pytestmark = pytest.mark.filterwarnings(f"ignore::{OptimismWarning.__module__}.OptimismWarning")


def test_a_huge_score_does_not_blur_the_ranks_of_the_others():
    # A diverged model scores around -1e22; the others differ in the fourth significant digit.
    means = np.array([-5016.6, -3420.3, -3006.7, -2997.7, -2.4e22])
    assert _rank(means, np.ones(5, bool)).tolist() == [4, 3, 2, 1, 5]


def test_full_rows_rank_before_raced_out_rows_whatever_their_means():
    means = np.array([0.5, 0.9, np.nan, 0.7, 0.95, -1.0])
    complete = np.array([True, False, True, True, False, True])
    # Full rows: 0.7, 0.5, -1, then the failed (NaN) one; raced-out rows: 0.95, 0.9.
    assert _rank(means, complete).tolist() == [2, 6, 4, 1, 5, 3]


def test_an_infinite_cv_score_ranks_as_in_grid_search():
    X, y = load_iris(return_X_y=True)

    def scorer(estimator, X, y):
        return -np.inf if estimator.C == 1e-6 else accuracy_score(y, estimator.predict(X))

    space = {"C": [1e-6, 0.01, 1.0, 100.0]}
    cv = StratifiedKFold(5)
    estimator = LogisticRegression(max_iter=500)
    grid = GridSearchCV(estimator, space, cv=cv, scoring=scorer).fit(X, y)
    ours = SearchCV(estimator, space, cv=cv, scoring=scorer, racing=False).fit(X, y)
    assert ours.cv_results_["rank_test_score"].tolist() == [4, 3, 2, 1]
    assert (
        ours.cv_results_["rank_test_score"].tolist() == grid.cv_results_["rank_test_score"].tolist()
    )
    assert ours.best_params_ == grid.best_params_ == {"C": 100.0}
