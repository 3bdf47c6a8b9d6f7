"""Train a scikit-learn estimator step by step inside a trial, reporting and pruning.

The step logic (:func:`training_resource`, :func:`make_stepper`) is shared with
``tunelab.sklearn.SearchCV(pruner=...)``, which grows each fold's model the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._frozen import StudyDirection
from .._validation import fail, is_int
from ..exceptions import InvalidParameterError
from ._common import report_and_check

if TYPE_CHECKING:
    from .._trial import Trial

OWNER = "fit_iteratively"
# Warm-startable estimators grow by one of these; checked in this order.
_RESOURCES = ("max_iter", "n_estimators")
#: Which estimators can train step by step, for error messages.
ITERATIVE_ESTIMATORS = (
    "partial_fit (SGDClassifier, SGDRegressor, MLPClassifier, MultinomialNB, ...), or "
    "warm_start with max_iter (HistGradientBoosting*, LogisticRegression, MLP* with "
    "solver='lbfgs', ...) or n_estimators (RandomForest*, ExtraTrees*, GradientBoosting*)"
)


def fit_iteratively(
    trial: Trial,
    estimator: Any,
    X_train: Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    n_steps: int = 10,
    scoring: Any = None,
    classes: Any = None,
) -> tuple[Any, float]:
    """Fit a clone of ``estimator`` in ``n_steps`` steps; after each step report its validation
    score as step ``1..n_steps`` and raise ``TrialPruned`` when the study's pruner says so.

    How a step trains:

    - an estimator with ``partial_fit`` (SGDClassifier, MLPClassifier, ...): one
      ``partial_fit`` pass over the training data per step (``classes`` defaults to the labels
      in ``y_train`` for classifiers);
    - an estimator with ``warm_start`` and ``max_iter`` (HistGradientBoosting*,
      LogisticRegression, MLP* with ``solver="lbfgs"``, ...) or ``n_estimators``
      (GradientBoosting*, RandomForest*, ExtraTrees*): the estimator's own value is the full
      budget, trained in ``n_steps`` about equal increments (see :func:`make_stepper`).

    A Pipeline trains as ``SearchCV(pruner=...)`` trains one: its earlier steps are fitted once
    on the training data, and only its final step grows, on the transformed rows. The returned
    Pipeline is fitted as a whole (``predict``/``score`` take raw rows).

    An estimator that stops early by itself (``n_iter_no_change`` of GradientBoosting*,
    ``early_stopping`` of HistGradientBoosting*, SGD*, MLP*, ...) is refused: growing it step by
    step would not train the model its own ``fit`` trains (see :func:`training_resource`).

    The returned estimator keeps the caller's ``warm_start`` and ``max_iter`` /
    ``n_estimators``, so a later ``fit`` trains from scratch as the caller's would.

    Scores follow scikit-learn's greater-is-better rule (``scoring``: None for
    ``estimator.score``, a scorer name such as ``"neg_log_loss"``, or a callable
    ``scorer(estimator, X, y)``), so the study must maximize.

    Returns:
        the fitted estimator and its final validation score.
    """
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import check_scoring

    # The Pipeline helpers SearchCV(pruner=...) uses (imported here: that module imports this).
    from ..sklearn._iterative import _fit_head, _only_sklearn_scorers, _transform, split_pipeline

    if not is_int(n_steps) or n_steps < 1:
        raise fail("n_steps", OWNER, "a positive int", n_steps)
    if len(trial.study.directions) != 1 or trial.study.directions[0] != StudyDirection.MAXIMIZE:
        raise InvalidParameterError(
            "fit_iteratively reports scikit-learn scores, where greater is better: create the "
            "study with direction='maximize' (use a 'neg_*' scorer for losses)."
        )
    model = clone(estimator)
    scorer = check_scoring(model, scoring=scoring)
    head, final = split_pipeline(model)
    # Checked before the head is fitted: a refused estimator costs nothing.
    if training_resource(final, n_samples=_n_rows(X_train)) is None:
        name = repr(final) if isinstance(final, str) else type(final).__name__
        where = " (the final step of the Pipeline)" if final is not model else ""
        raise InvalidParameterError(
            f"fit_iteratively cannot train {name}{where} step by step: it needs "
            f"partial_fit, or warm_start with max_iter or n_estimators{_why_not(final)}."
        )
    if not is_classifier(final):
        classes = None  # only classifiers' partial_fit takes the labels
    elif classes is None:
        import numpy as np

        classes = np.unique(y_train)
    Xt_train = _fit_head(head, X_train, y_train, {})
    Xt_val = _transform(head, X_val)
    # Between steps a scikit-learn scorer scores the final step on the validation rows the
    # head transformed once (what the Pipeline's own response methods return); the last step,
    # and any other scorer, get the whole model on the raw rows.
    cheap = not head or _only_sklearn_scorers(scorer)
    steps = make_stepper(final, n_steps, Xt_train, y_train, classes=classes)
    score = float("nan")
    for step in range(1, n_steps + 1):
        steps(step)
        if cheap and step < n_steps:
            score = float(scorer(final, Xt_val, y_val))
        else:
            score = float(scorer(model, X_val, y_val))
        report_and_check(trial, score, step, OWNER)
    return model, score


def training_resource(model: Any, n_samples: int | None = None) -> str | None:
    """How ``model`` trains step by step: ``"partial_fit"``, the warm-start parameter that it
    grows (``"max_iter"`` or ``"n_estimators"``), or None when it cannot.

    Raises InvalidParameterError when ``model`` could train step by step but stops early by
    itself (:func:`own_early_stopping`; ``n_samples``, the training rows when known, decides
    HistGradientBoosting's ``early_stopping='auto'``): its steps would not train the model its
    own ``fit`` trains, so it is refused rather than silently changed.
    """
    resource = _resource(model)
    if resource is not None:
        _refuse_own_early_stopping(model, resource, n_samples)
    return resource


def _resource(model: Any) -> str | None:
    if hasattr(model, "partial_fit") and not _lbfgs_mlp(model):
        return "partial_fit"
    if not hasattr(model, "get_params"):
        return None  # "passthrough" or another non-estimator
    params = model.get_params(deep=False)
    if "warm_start" not in params or _ignores_warm_start(model):
        return None
    return next((r for r in _RESOURCES if r in params), None)


#: HistGradientBoosting*'s ``early_stopping='auto'`` is on above this many training samples.
HGB_AUTO_EARLY_STOPPING_ROWS = 10_000


def own_early_stopping(model: Any, n_samples: int | None = None) -> tuple[str, Any, Any] | None:
    """``(parameter, value, value that turns it off)`` when ``model`` stops training early by
    itself, else None.

    GradientBoosting* stop early when ``n_iter_no_change`` is not None; other estimators
    (HistGradientBoosting*, SGD*, Perceptron, PassiveAggressive*, MLP* with the 'sgd' or 'adam'
    solver, ...) when ``early_stopping`` is set, and HistGradientBoosting*'s
    ``early_stopping='auto'`` when trained on more than 10,000 samples (``n_samples``; unknown,
    it does not count). MLP* with ``solver='lbfgs'`` ignore ``early_stopping``.
    """
    if not hasattr(model, "get_params"):
        return None
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    params = model.get_params(deep=False)
    if isinstance(model, (GradientBoostingClassifier, GradientBoostingRegressor)):
        value = params.get("n_iter_no_change")
        return None if value is None else ("n_iter_no_change", value, None)
    if "early_stopping" not in params or _lbfgs_mlp(model):
        return None
    value = params["early_stopping"]
    if isinstance(value, str):
        hist = isinstance(model, (HistGradientBoostingClassifier, HistGradientBoostingRegressor))
        on = (
            value == "auto"
            and hist
            and n_samples is not None
            and n_samples > HGB_AUTO_EARLY_STOPPING_ROWS
        )
        return ("early_stopping", value, False) if on else None
    return ("early_stopping", value, False) if value else None


def _refuse_own_early_stopping(model: Any, resource: str, n_samples: int | None) -> None:
    setting = own_early_stopping(model, n_samples)
    if setting is None:
        return
    param, value, off = setting
    name = type(model).__name__
    when = ""
    if value == "auto":
        when = (
            f" (scikit-learn turns early_stopping='auto' on above "
            f"{HGB_AUTO_EARLY_STOPPING_ROWS:,} training samples; here {n_samples:,})"
        )
    if resource == "partial_fit":
        why = "each step is one partial_fit pass, and partial_fit does not support it"
    else:
        why = (
            "each step is a warm-start fit, and its early stopping does not carry over from one "
            f"fit to the next, so the steps would train past where {name}.fit stops"
        )
    raise InvalidParameterError(
        f"{name}({param}={value!r}) stops training early by itself{when}, so it cannot be "
        f"trained step by step: {why}. Set {param}={off!r} to let tunelab's pruner do the "
        "early stopping, or train it without steps (SearchCV with pruner=None, or a plain fit "
        "instead of fit_iteratively)."
    )


def _n_rows(X: Any) -> int | None:
    from sklearn.utils.validation import _num_samples

    try:
        return int(_num_samples(X))
    except TypeError:
        return None


def _lbfgs_mlp(model: Any) -> bool:
    # MLPRegressor offers partial_fit with solver="lbfgs" (scikit-learn checks the solver for
    # MLPClassifier only), where each call runs max_iter iterations, not one pass: n_steps
    # calls trained n_steps times the configured budget.
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    return isinstance(model, (MLPClassifier, MLPRegressor)) and model.solver == "lbfgs"


def _ignores_warm_start(model: Any) -> bool:
    from sklearn.linear_model import LogisticRegression

    return isinstance(model, LogisticRegression) and model.solver == "liblinear"


def _why_not(model: Any) -> str:
    if _ignores_warm_start(model):
        return (
            f" ({type(model).__name__} ignores warm_start with solver='liblinear', so every "
            "step would start over; use another solver such as 'lbfgs' or 'saga')"
        )
    return ""


def _cumulative_max_iter(model: Any) -> bool:
    """Whether ``max_iter`` under ``warm_start`` is the total over fits (True) rather than the
    iterations of each ``fit`` call, as for LogisticRegression, MLP*, Lasso, ElasticNet,
    HuberRegressor, the GLMs and the Gaussian mixtures."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return isinstance(model, (HistGradientBoostingClassifier, HistGradientBoostingRegressor))


def make_stepper(
    model: Any,
    n_steps: int,
    X: Any,
    y: Any,
    *,
    classes: Any = None,
    fit_params: Mapping[str, Any] | None = None,
    owner: str = OWNER,
    short_budget: bool = False,
) -> Callable[[int], bool]:
    """A function ``step -> trained`` that trains ``model`` (in place) up to ``step`` of
    ``n_steps``; ``model`` must have a :func:`training_resource` (an estimator that stops
    early by itself on ``X`` is refused there).

    ``classes`` goes to the first ``partial_fit`` call (pass it for classifiers). A warm-start
    budget smaller than ``n_steps`` is an error unless ``short_budget``: then it grows by at
    most one unit per step, and a step that would not grow it trains nothing and returns False
    (so callers comparing models at the same step still get one report per step).

    ``n_estimators``, and ``max_iter`` of HistGradientBoosting*, count the total under
    ``warm_start``, so step ``k`` sets them to ``k/n_steps`` of the budget; any other
    ``max_iter`` counts the iterations of one ``fit`` call, so each step is given only its
    increment and the steps add up to the budget. After every step the model's own
    ``warm_start`` and budget are set back, so the model is left as the caller configured it.
    """
    fit_params = dict(fit_params or {})
    resource = training_resource(model, n_samples=_n_rows(X))
    if resource == "partial_fit":

        def partial(step: int) -> bool:
            if classes is not None and step == 1:
                model.partial_fit(X, y, classes=classes, **fit_params)
            else:
                model.partial_fit(X, y, **fit_params)
            return True

        return partial
    if resource is None:
        raise InvalidParameterError(
            f"{owner} cannot train {type(model).__name__} step by step: it needs "
            f"{ITERATIVE_ESTIMATORS}."
        )
    budget = model.get_params(deep=False)[resource]
    if not is_int(budget) or budget < (1 if short_budget else n_steps):
        raise fail(
            "n_steps",
            owner,
            f"at most the estimator's {resource} ({budget!r})",
            n_steps,
            f"Each step adds {resource} // n_steps units.",
        )
    own = {"warm_start": model.get_params(deep=False)["warm_start"], resource: budget}
    per_call = resource == "max_iter" and not _cumulative_max_iter(model)
    grown = 0

    def grow(step: int) -> bool:
        nonlocal grown
        # The last step lands exactly on the configured budget even when it does not divide.
        units = max(1, budget * step // n_steps)
        if units == grown:
            return False  # refitting at the same size would only warn (forests) or redo work
        model.set_params(warm_start=True, **{resource: units - grown if per_call else units})
        try:
            model.fit(X, y, **fit_params)
        finally:
            # A returned model left with warm_start=True ignored a later fit on new data
            # (forests kept their trees).
            model.set_params(**own)
        grown = units
        return True

    return grow
