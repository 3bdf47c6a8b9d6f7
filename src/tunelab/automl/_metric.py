"""Metrics: resolve a scikit-learn scorer for the task, and score stored predictions with it.

Out-of-fold predictions are scored many times (racing, ensemble selection) without the models
that made them, so a tiny stand-in estimator replays the stored probabilities or values to the
real scorer: every scikit-learn scorer name works, with its own sign and response method.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from ..exceptions import InvalidParameterError
from ._zoo import CLASSIFICATION

DEFAULT_METRIC = {CLASSIFICATION: "accuracy", "regression": "r2"}


class _ReplayClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, proba: Any = None, classes: Any = None) -> None:
        self.proba = proba
        self.classes = classes

    @property
    def classes_(self) -> Any:
        return self.classes

    def predict_proba(self, X: Any) -> Any:
        return self.proba

    def predict(self, X: Any) -> Any:
        return self.classes[np.argmax(self.proba, axis=1)]


class _ReplayRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, values: Any = None) -> None:
        self.values = values

    def predict(self, X: Any) -> Any:
        return self.values


def _score_func_kind(scorer: Any) -> str | None:
    func = getattr(scorer, "_score_func", None)
    module = getattr(func, "__module__", "") or ""
    if module.endswith("_regression"):
        return "regression"
    if module.endswith(("_classification", "_ranking")):
        return CLASSIFICATION
    if ".cluster" in module:
        return "clustering"
    return None


def resolve_metric(metric: Any, task: str, owner: str) -> tuple[Any, str]:
    """The scorer for ``metric`` (a scorer name, a scorer callable or None for the default)
    and its display name; a metric made for another task is an error that says which."""
    from sklearn.metrics import get_scorer, get_scorer_names

    if metric is None:
        metric = DEFAULT_METRIC[task]
    if isinstance(metric, str):
        if metric not in get_scorer_names():
            raise InvalidParameterError(
                f"The 'metric' parameter of {owner} must be a scikit-learn scorer name (see "
                f"sklearn.metrics.get_scorer_names()) or a scorer callable. Got {metric!r} instead."
            )
        scorer, name = get_scorer(metric), metric
    elif callable(metric):
        scorer, name = metric, getattr(metric, "__name__", type(metric).__name__)
        _check_scorer_signature(metric, name, owner)
    else:
        raise InvalidParameterError(
            f"The 'metric' parameter of {owner} must be a scikit-learn scorer name or a scorer "
            f"callable. Got {metric!r} instead."
        )
    kind = _score_func_kind(scorer)
    if kind is not None and kind != task:
        other = DEFAULT_METRIC[task]
        raise InvalidParameterError(
            f"The 'metric' parameter of {owner} must be a {task} metric; {name!r} is a {kind} "
            f"metric. Use a {task} metric such as {other!r}."
        )
    return scorer, name


def _check_scorer_signature(metric: Any, name: str, owner: str) -> None:
    """A metric function ``f(y_true, y_pred)`` given where a scorer ``f(estimator, X, y)`` goes
    failed every pipeline with "takes 2 positional arguments but 3 were given"."""
    import inspect

    try:
        signature = inspect.signature(metric)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(None, None, None)
    except TypeError:
        raise InvalidParameterError(
            f"The 'metric' parameter of {owner} must be a scorer name or a scorer callable "
            f"scorer(estimator, X, y); {name!r} takes {signature}. A metric function "
            f"f(y_true, y_pred) must be wrapped: sklearn.metrics.make_scorer({name}) (add "
            "greater_is_better=False for a loss, response_method='predict_proba' for one that "
            "reads probabilities)."
        ) from None


def score_predictions(
    scorer: Any,
    task: str,
    y: np.ndarray,
    pred: np.ndarray,
    K: int,
    sample_weight: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> float:
    """Score stored predictions (probabilities for classification) as the scorer would score
    the model that made them, weighted by ``sample_weight`` if given; larger is better.
    ``classes`` are the labels ``y`` holds (default: codes ``0 .. K-1``)."""
    dummy = np.empty((len(y), 0))
    # Only a weighted fit passes the argument: a user's scorer callable need not take it.
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    if task == CLASSIFICATION:
        labels = np.arange(K) if classes is None else classes
        return float(scorer(_ReplayClassifier(pred, labels), dummy, y, **kwargs))
    return float(scorer(_ReplayRegressor(pred), dummy, y, **kwargs))


def multiclass_scorer_hint(
    scoring: Any, problem: str, classes: Any = None, scorer: Any = None
) -> str:
    """The scorers to name instead when a two-class one failed on more classes with
    ``problem``: scikit-learn's own message ("multi_class must be in ('ovo', 'ovr')") names
    an argument that a scorer name cannot pass."""
    if not isinstance(scoring, str):
        return ""
    if "multi_class must be in" in problem:
        options = [f"{scoring}_ovr", f"{scoring}_ovo"]
    elif "average='binary'" in problem:
        options = [f"{scoring}_macro", f"{scoring}_weighted"]
    elif "pos_label" in problem:
        # A named scorer takes class 1 as the positive one, as in scikit-learn: labels such as
        # "no"/"yes" have none.
        from sklearn.metrics import get_scorer_names

        func = getattr(getattr(scorer, "_score_func", None), "__name__", f"{scoring}_score")
        positive = "..."
        if classes is not None and len(classes):
            last = classes[-1]
            positive = repr(last.item() if isinstance(last, np.generic) else last)
        macro = f"{scoring}_macro"
        other = f", or use {macro!r} (every class counts)" if macro in get_scorer_names() else ""
        return (
            f"; the scorer counts class 1 as positive, as in scikit-learn: name the positive "
            f"class with sklearn.metrics.make_scorer({func}, pos_label={positive}), recode the "
            f"target as 0/1{other}"
        )
    else:
        return ""
    from sklearn.metrics import get_scorer_names

    options = [name for name in options if name in get_scorer_names()]
    if not options:
        return ""
    also = f" (or {options[1]!r})" if len(options) > 1 else ""
    return f"; for more than 2 classes use {options[0]!r}{also}"


def uninformative(task: str, y: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """Predictions that know only the target's distribution: class priors or the mean."""
    if task == CLASSIFICATION:
        assert classes is not None
        codes = np.searchsorted(classes, y)
        counts = np.bincount(codes, minlength=len(classes)).astype(float)
        return np.tile(counts / counts.sum(), (len(y), 1))
    return np.full(len(y), float(np.mean(y)))


def metric_problem(
    scorer: Any,
    task: str,
    y: np.ndarray,
    classes: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
) -> str | None:
    """Why ``scorer`` cannot score uninformative predictions of ``y`` (a CV fold, the holdout,
    all rows), or None when it can: ``roc_auc`` on a fold with one class, ``neg_log_loss`` on a
    fold that lacks a class."""
    K = 0 if classes is None else len(classes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = score_predictions(
                scorer, task, y, uninformative(task, y, classes), K, sample_weight, classes
            )
    except Exception as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not np.isfinite(value):
        return f"it gives {value}"
    return None


def check_metric_fits(
    scorer: Any,
    name: str,
    task: str,
    y: np.ndarray,
    classes: np.ndarray | None,
    owner: str,
    sample_weight: np.ndarray | None = None,
) -> None:
    """Try the metric on uninformative predictions of the real targets (the user's labels)
    before any search, so a binary-only metric on three classes, a binary metric whose positive
    label is not a class, or a scorer that takes no weights in a weighted fit, fails now, with
    the scorer's reason."""
    K = 0 if classes is None else len(classes)
    try:
        value = score_predictions(
            scorer, task, y, uninformative(task, y, classes), K, sample_weight, classes
        )
    except Exception as exc:
        raise InvalidParameterError(
            f"The 'metric' parameter of {owner} does not fit this {task} target "
            f"({K if task == CLASSIFICATION else 'continuous'} "
            f"{'classes' if task == CLASSIFICATION else 'values'}): {name!r} failed with: {exc}"
            f"{multiclass_scorer_hint(name, str(exc), classes, scorer)}"
        ) from None
    if not np.isfinite(value) and task == CLASSIFICATION:
        raise InvalidParameterError(
            f"The 'metric' parameter of {owner} gives {value} on this target; choose another."
        )
