from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import RidgeClassifier

from tunelab import InvalidParameterError
from tunelab.sklearn import SearchCV, nested_cv_score


def test_nested_cv_score_runs_the_search_per_outer_fold():
    X, y = load_iris(return_X_y=True)
    search = SearchCV(RidgeClassifier(), {"alpha": [0.1, 100.0]}, cv=3, random_state=0)
    result = nested_cv_score(search, X, y, cv=4)
    assert result.scores.shape == (4,)
    assert result.mean == pytest.approx(result.scores.mean())
    assert len(result.best_params) == 4 and all("alpha" in p for p in result.best_params)
    assert result.optimism == pytest.approx(np.mean(result.inner_best_scores) - result.mean)
    assert not hasattr(search, "best_estimator_")  # the search given is left untouched


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cv": 1}, r"'cv' parameter of SearchCV must be"),
    ],
)
def test_bad_outer_cv(kwargs, match):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(InvalidParameterError, match=match):
        nested_cv_score(SearchCV(RidgeClassifier(), {"alpha": [1.0]}), X, y, **kwargs)


def test_refit_false_is_rejected():
    X, y = load_iris(return_X_y=True)
    search = SearchCV(RidgeClassifier(), {"alpha": [1.0]}, refit=False)
    with pytest.raises(
        InvalidParameterError,
        match=r"'search' parameter of nested_cv_score must be a search with refit",
    ):
        nested_cv_score(search, X, y)


def test_groups_reach_the_inner_search_as_well_as_the_outer_splitter():
    # Found by a QA pass: with a group splitter inside, every inner fit failed for want of groups.
    from sklearn.model_selection import GroupKFold

    X, y = load_iris(return_X_y=True)
    groups = np.arange(len(y)) % 10
    search = SearchCV(
        RidgeClassifier(),
        {"alpha": [0.1, 1.0, 10.0]},
        cv=GroupKFold(3),
        outer_cv=GroupKFold(3),
        random_state=0,
    ).fit(X, y, groups=groups)
    assert len(search.generalization_.nested_cv_scores) == 3
    result = nested_cv_score(search, X, y, cv=GroupKFold(3), groups=groups)
    assert len(result.scores) == 3 and np.isfinite(result.mean)


def test_the_inner_searches_do_not_warn_about_optimism():
    # Found by a QA pass: every inner fit warned that its best CV score was optimistic, when
    # the outer scores nested_cv_score returns are the honest estimate that warning asks for.
    import warnings

    from _sklearn_knob import Knob, knob_data
    from sklearn.model_selection import KFold

    from tunelab.sklearn import OptimismWarning

    X, y = knob_data(90)
    X = X * 0.05  # small shared fold effects: the per-configuration noise dominates
    space = {"q": [float(i) * 1e-6 for i in range(30)]}
    search = SearchCV(Knob(jitter=0.2), space, cv=KFold(5), racing=False)
    with pytest.warns(OptimismWarning):
        clone(search).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = nested_cv_score(search, X, y, cv=KFold(3))
    assert not [w for w in caught if issubclass(w.category, OptimismWarning)]
    assert len(result.scores) == 3 and np.all(np.isfinite(result.scores))
