"""The name of the metric a search's study values are scores of (recorded with the study)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def metric_name(scoring: Any, refit: Any, estimator: Any) -> str:
    """The metric the study is told: the refit metric with several (the first one with
    ``refit=False`` or a callable ``refit``), as the search scores its trials.

    Names are what stays the same from one run to the next, so that continuing a study with the
    same metric spelled another way is not refused: a scikit-learn scorer object is named by
    the scoring string it equals, ``scoring=None`` on a stock classifier or regressor by
    ``accuracy`` or ``r2``, a function by its module and qualified name (a ``repr`` would hold
    a memory address that changes with every run).
    """
    if scoring is None or isinstance(scoring, str):
        return _single(scoring, estimator)
    if callable(scoring):
        # A callable returning a dict: ``refit`` names the key the trials are scored on.
        return refit if isinstance(refit, str) else _single(scoring, estimator)
    if isinstance(scoring, Mapping):
        key = refit if isinstance(refit, str) and refit in scoring else next(iter(scoring), None)
        return _single(scoring[key], estimator) if key is not None else "score"
    names = list(scoring)
    if isinstance(refit, str) and refit in names:
        return refit
    return str(names[0]) if names else "score"


def _single(scoring: Any, estimator: Any) -> str:
    if isinstance(scoring, str):
        return scoring
    if scoring is None:
        return _default_score(estimator)
    from sklearn.metrics._scorer import _BaseScorer

    if isinstance(scoring, _BaseScorer):
        return _scorer_name(scoring)
    if hasattr(scoring, "__qualname__"):
        return f"{getattr(scoring, '__module__', '')}.{scoring.__qualname__}".lstrip(".")
    kind = type(scoring)
    return f"{kind.__module__}.{kind.__qualname__}"


def _default_score(estimator: Any) -> str:
    from sklearn.base import ClassifierMixin, RegressorMixin

    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    score = getattr(type(final), "score", None)
    if score is ClassifierMixin.score:
        return "accuracy"
    if score is RegressorMixin.score:
        return "r2"
    return f"{type(final).__name__}.score"


def _scorer_name(scorer: Any) -> str:
    from sklearn.metrics import get_scorer, get_scorer_names

    text = repr(scorer)
    for name in get_scorer_names():
        try:
            if repr(get_scorer(name)) == text:
                return name
        except Exception:  # a scorer whose metric needs an optional dependency
            continue
    return text
