"""Train a scikit-learn estimator step by step inside a trial, reporting and pruning."""

from __future__ import annotations

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
    - an estimator with ``warm_start`` and ``max_iter`` (HistGradientBoosting*) or
      ``n_estimators`` (GradientBoosting*, RandomForest*, ExtraTrees*): the estimator's own
      value is the full budget, grown in ``n_steps`` equal increments.

    Scores follow scikit-learn's greater-is-better rule (``scoring``: None for
    ``estimator.score``, a scorer name such as ``"neg_log_loss"``, or a callable
    ``scorer(estimator, X, y)``), so the study must maximize.

    Returns:
        the fitted estimator and its final validation score.
    """
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import check_scoring

    if not is_int(n_steps) or n_steps < 1:
        raise fail("n_steps", OWNER, "a positive int", n_steps)
    if len(trial.study.directions) != 1 or trial.study.directions[0] != StudyDirection.MAXIMIZE:
        raise InvalidParameterError(
            "fit_iteratively reports scikit-learn scores, where greater is better: create the "
            "study with direction='maximize' (use a 'neg_*' scorer for losses)."
        )
    model = clone(estimator)
    scorer = check_scoring(model, scoring=scoring)
    steps = _stepper(model, n_steps, X_train, y_train, classes, is_classifier(model))
    score = float("nan")
    for step in range(1, n_steps + 1):
        steps(step)
        score = float(scorer(model, X_val, y_val))
        report_and_check(trial, score, step, OWNER)
    return model, score


def _stepper(model: Any, n_steps: int, X: Any, y: Any, classes: Any, classifier: bool) -> Any:
    """A function ``step -> None`` that trains ``model`` up to ``step``."""
    if hasattr(model, "partial_fit"):
        if classifier and classes is None:
            import numpy as np

            classes = np.unique(y)

        def partial(step: int) -> None:
            if classifier and step == 1:
                model.partial_fit(X, y, classes=classes)
            else:
                model.partial_fit(X, y)

        return partial
    params = model.get_params(deep=False)
    resource = next((r for r in _RESOURCES if r in params), None)
    if "warm_start" not in params or resource is None:
        raise InvalidParameterError(
            f"fit_iteratively cannot train {type(model).__name__} step by step: it needs "
            "partial_fit, or warm_start with max_iter or n_estimators."
        )
    budget = params[resource]
    if not is_int(budget) or budget < n_steps:
        raise fail(
            "n_steps",
            OWNER,
            f"at most the estimator's {resource} ({budget!r})",
            n_steps,
            f"Each step adds {resource} // n_steps units.",
        )

    def grow(step: int) -> None:
        # The last step lands exactly on the configured budget even when it does not divide.
        model.set_params(warm_start=True, **{resource: budget * step // n_steps})
        model.fit(X, y)

    return grow
