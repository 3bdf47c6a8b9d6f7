"""Nested cross-validation: the whole search inside an outer loop, the unbiased reference."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from inspect import signature
from typing import Any

import numpy as np

from .._validation import fail
from ._checks import check_cv_arg, make_cv, seeds
from ._generalization import OptimismWarning


@dataclass
class NestedCVResult:
    """Outer-fold test scores of the refit search, and what the inner search believed."""

    scores: np.ndarray
    mean: float
    std: float
    inner_best_scores: list[float] = field(default_factory=list)
    best_params: list[dict[str, Any]] = field(default_factory=list)

    @property
    def optimism(self) -> float:
        """Mean inner best CV score minus the mean outer score."""
        return float(np.mean(self.inner_best_scores) - self.mean)


def nested_cv_score(
    search: Any,
    X: Any,
    y: Any = None,
    *,
    cv: Any = 5,
    groups: Any = None,
    n_jobs: int | None = None,
    **fit_params: Any,
) -> NestedCVResult:
    """Run ``search`` (refit on each outer training set) and score it on each outer test set.

    The score is the search's own (``search.score``: the refit metric). An int ``cv`` gives
    shuffled (Stratified)KFold seeded by the search's ``random_state``.
    """
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_validate

    owner = "nested_cv_score"
    if not hasattr(search, "fit") or not hasattr(search, "get_params"):
        raise fail("search", owner, "a scikit-learn search estimator such as SearchCV", search)
    if search.get_params().get("refit", True) is False:
        raise fail(
            "search",
            owner,
            "a search with refit enabled (the outer folds score the refit model)",
            search,
        )
    check_cv_arg(cv, "cv")
    inner = clone(search)
    if "outer_cv" in inner.get_params(deep=False):
        inner.set_params(outer_cv=None)
    _, seed = seeds(getattr(search, "random_state", None))
    outer = make_cv(cv, y, is_classifier(inner), seed)
    if groups is not None:
        # The inner search's own splitter may need groups too (GroupKFold inside GroupKFold);
        # cross_validate hands each outer training set its slice of them.
        fit_params = {**fit_params, "groups": groups}
    kwargs: dict[str, Any] = {}
    if fit_params:
        key = "params" if "params" in signature(cross_validate).parameters else "fit_params"
        kwargs[key] = fit_params
    with warnings.catch_warnings():
        # Each inner search would warn that its best CV score is optimistic; the outer scores
        # returned here are the honest estimate that warning points to. Process workers get
        # these filters from scikit-learn's Parallel in recent versions (1.7 does, 1.4 did
        # not); with older ones only in-process and threaded inner searches are silenced.
        warnings.filterwarnings("ignore", category=OptimismWarning)
        res = cross_validate(
            inner, X, y, groups=groups, cv=outer, n_jobs=n_jobs, return_estimator=True, **kwargs
        )
    scores = np.asarray(res["test_score"], float)
    fitted = res["estimator"]
    return NestedCVResult(
        scores=scores,
        mean=float(scores.mean()),
        std=float(scores.std()),
        inner_best_scores=[float(getattr(e, "best_score_", np.nan)) for e in fitted],
        best_params=[dict(getattr(e, "best_params_", {})) for e in fitted],
    )
