"""Pruning over iterations: one fold of one configuration, trained step by step.

With ``SearchCV(pruner=...)`` each fold is fitted by :func:`fit_fold` instead of scikit-learn's
``_fit_and_score``: the earlier steps of a Pipeline are fitted once, then the final estimator
grows in ``n_steps`` steps (the step rules of :func:`tunelab.integration.fit_iteratively`),
and after each step a callback gets the validation score and says whether to stop. A fold
that runs to the end yields the very result dict ``_fit_and_score`` would, so ``cv_results_``
and fold racing work unchanged.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from inspect import signature
from traceback import format_exc
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection._validation import (
    _MultimetricScorer,
    _num_samples,
    _safe_split,
    _score,
)
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import _check_method_params

from ..exceptions import InvalidParameterError
from ..integration._sklearn import ITERATIVE_ESTIMATORS, make_stepper, training_resource
from ..pruners import BasePruner, MedianPruner
from ._bbc import fold_fingerprint, record_predictions

OWNER = "SearchCV"
_SCORE_TAKES_PARAMS = "score_params" in signature(_score).parameters  # scikit-learn >= 1.4

#: ``(step, validation score) -> prune?``, called after every step of a fold.
StepCallback = Callable[[int, float], bool]


def resolve_pruner(pruner: Any, n_steps: int) -> BasePruner | None:
    """The pruner a fit uses (``pruner`` is checked): None when pruning over iterations is
    off."""
    if isinstance(pruner, BasePruner):
        # A copy per fit, as scikit-learn clones estimators: some pruners settle values on
        # first use (SuccessiveHalvingPruner's 'auto' min_resource), which must not leak
        # into the next fit or into the caller's object.
        return copy.deepcopy(pruner)
    if not pruner:  # None or False
        return None
    # The median rule rather than successive halving. ASHA (min_resource 'auto' is one step
    # here) judges every configuration after the first tenth of its first fold and keeps the
    # top third at each rung, so slow starters (small learning rates, strong regularisation)
    # are ranked on their first epochs. The median rule compares a configuration's best
    # score so far with the finished configurations (the fold-racing survivors) at the same
    # step of the same fold: three finished ones make a median worth trusting, and waiting
    # half of the first fold protects slow starters at a small price (a hopeless
    # configuration still trains only a tenth of a 5-fold CV, against 3/5 when racing alone
    # stops it). docs/sklearn.md has the measured trade-off against ASHA and a softer
    # percentile rule.
    return MedianPruner(n_startup_trials=3, n_warmup_steps=n_steps // 2)


def split_pipeline(estimator: Any) -> tuple[list[tuple[str, Any]], Any]:
    """(the steps before the final one, the final estimator); no steps for a plain estimator."""
    if isinstance(estimator, Pipeline):
        return list(estimator.steps[:-1]), estimator.steps[-1][1]
    return [], estimator


def check_iterative(estimator: Any, n_samples: int | None = None) -> None:
    """Raise when the final estimator of ``estimator`` cannot train step by step, or would
    stop early by itself on ``n_samples`` training rows (when known)."""
    _, final = split_pipeline(estimator)
    if training_resource(final, n_samples=n_samples) is None:
        name = type(final).__name__ if not isinstance(final, str) else repr(final)
        where = " (the final step of the Pipeline)" if isinstance(estimator, Pipeline) else ""
        raise InvalidParameterError(
            f"SearchCV(pruner=...) prunes over training iterations, but {name}{where} cannot "
            f"train step by step: that needs {ITERATIVE_ESTIMATORS}. Pass pruner=None to "
            "cross-validate it with fold racing only."
        )


@dataclass(frozen=True)
class IterativeFit:
    """What every fold of one search shares."""

    n_steps: int
    scorer: Any  # the search's scorer, or a _MultimetricScorer
    metric: str  # the metric reported after each step (the refit metric)
    fit_params: Mapping[str, Any]
    score_params: Mapping[str, Any]
    return_train_score: bool
    error_score: Any
    labels: Any  # every label of y: a fold may lack one, and partial_fit must know them all
    record_scorer: Any = None  # set when BBC-CV wants each fold's test predictions

    def step_scorer(self) -> Any:
        if isinstance(self.scorer, _MultimetricScorer):
            scorers = self.scorer._scorers
            return scorers.get(self.metric, next(iter(scorers.values())))
        return self.scorer

    def value(self, scores: Any) -> float:
        if isinstance(scores, Mapping):
            scores = scores.get(self.metric, next(iter(scores.values())))
        return float(scores)


@dataclass
class FoldOutcome:
    """``result`` is ``_fit_and_score``'s dict, or None when the fold was pruned before its
    end; ``steps`` is how many of the fold's ``n_steps`` ran."""

    result: dict[str, Any] | None
    steps: int
    pruned: bool


def fit_fold(
    spec: IterativeFit,
    estimator: Any,
    X: Any,
    y: Any,
    *,
    train: Any,
    test: Any,
    parameters: Mapping[str, Any],
    on_step: StepCallback,
    fingerprint: bool = False,
) -> FoldOutcome:
    """Train ``estimator`` with ``parameters`` on ``train`` step by step, scoring on ``test``.

    ``on_step(step, score)`` runs after each step (1..n_steps) with the score of ``spec.metric``;
    True stops the fold. Only the final step scores every metric (and the train set), and it
    scores the whole model on the raw rows, as ``_fit_and_score`` does; so ``fit_time`` is
    training (pipeline head included) and ``score_time`` the test scoring of every step, the
    price of watching the training. With ``fingerprint``, a fold trained to the end also
    carries the key under which fold racing looks its model up for duplicates.
    """
    # Parameters are cloned as _fit_and_score does: they may be estimators (pipeline steps).
    estimator = estimator.set_params(**clone(dict(parameters), safe=False))
    # Outside the try: a wrong estimator is no fit failure.
    check_iterative(estimator, n_samples=len(train))
    fit_params = _check_method_params(X, params=dict(spec.fit_params), indices=train)
    score_test = _check_method_params(X, params=dict(spec.score_params), indices=test)
    score_train = _check_method_params(X, params=dict(spec.score_params), indices=train)
    X_train, y_train = _safe_split(estimator, X, y, train)
    X_test, y_test = _safe_split(estimator, X, y, test, train)
    head, final = split_pipeline(estimator)
    times = {"fit_time": 0.0, "score_time": 0.0}
    began = time.perf_counter()
    try:
        head_params, final_params = _route_fit_params(estimator, fit_params)
        Xt_train = _fit_head(head, X_train, y_train, head_params)
        train_step = make_stepper(
            final,
            spec.n_steps,
            Xt_train,
            y_train,
            classes=spec.labels if is_classifier(final) else None,
            fit_params=final_params,
            owner=OWNER,
            short_budget=True,
        )
    except Exception:
        if spec.error_score == "raise":
            raise
        times["fit_time"] = time.perf_counter() - began
        return _failed(spec, times, X_test, steps=0)
    times["fit_time"] = time.perf_counter() - began
    began = time.perf_counter()
    try:
        Xt_test = _transform(head, X_test)
    except Exception:
        if spec.error_score == "raise":
            raise
        return _failed(spec, times, X_test, steps=0)
    times["score_time"] = time.perf_counter() - began

    score = float("nan")
    test_scores: Any = None
    stop = False
    cheap = not head or _only_sklearn_scorers(spec.step_scorer())
    for step in range(1, spec.n_steps + 1):
        began = time.perf_counter()
        try:
            trained = train_step(step)
        except Exception:
            if spec.error_score == "raise":
                raise
            times["fit_time"] += time.perf_counter() - began
            return _failed(spec, times, X_test, steps=step)
        times["fit_time"] += time.perf_counter() - began
        began = time.perf_counter()
        if step == spec.n_steps:
            # The whole model on the raw rows, as _fit_and_score scores it: a scorer may read
            # the rows' own columns or the Pipeline itself.
            test_scores = _scores(estimator, X_test, y_test, spec.scorer, score_test, spec)
            score = spec.value(test_scores)
        elif trained:
            step_scorer = spec.step_scorer()
            if cheap:
                # scikit-learn's scorers only call the model's response methods, and the
                # final step on rows the head transformed once answers them as the Pipeline
                # would, without transforming the test rows again at every step.
                step_scores = _scores(final, Xt_test, y_test, step_scorer, score_test, spec)
            else:
                step_scores = _scores(estimator, X_test, y_test, step_scorer, score_test, spec)
            score = spec.value(step_scores)
        times["score_time"] += time.perf_counter() - began
        stop = on_step(step, score)
        if stop and step < spec.n_steps:
            return FoldOutcome(None, step, pruned=True)

    result: dict[str, Any] = {"fit_error": None, "test_scores": test_scores}
    if spec.return_train_score:
        result["train_scores"] = _scores(
            estimator, X_train, y_train, spec.scorer, score_train, spec
        )
    result.update(n_test_samples=_num_samples(X_test), **times)
    if spec.record_scorer is not None:
        try:
            result["oof"] = record_predictions(
                spec.record_scorer, estimator, X_test, y_test, **score_test
            )
        except Exception:  # the estimate falls back to folds; the search itself goes on
            pass
    if fingerprint:
        key = fold_fingerprint(estimator, X_test, result.get("oof"), test_scores)
        if key:
            result["fingerprint"] = key
    # A pruner may stop a configuration on the last step of a fold: the fold is complete,
    # so it counts, and the caller stops the configuration after recording it.
    return FoldOutcome(result, spec.n_steps, pruned=stop)


def refit_iteratively(spec: IterativeFit, estimator: Any, X: Any, y: Any, fit_params: Any) -> Any:
    """Fit ``estimator`` on all of ``X`` the way each fold was trained (all ``n_steps``), so
    ``best_estimator_`` is the model whose CV score is ``best_score_``: a ``partial_fit``
    estimator's plain ``fit`` would train differently (its own ``max_iter`` and ``tol``)."""
    head, final = split_pipeline(estimator)
    head_params, final_params = _route_fit_params(estimator, dict(fit_params))
    Xt = _fit_head(head, X, y, head_params)
    train_step = make_stepper(
        final,
        spec.n_steps,
        Xt,
        y,
        classes=spec.labels if is_classifier(final) else None,
        fit_params=final_params,
        owner=OWNER,
        short_budget=True,
    )
    for step in range(1, spec.n_steps + 1):
        train_step(step)
    return estimator


def _scores(model: Any, X: Any, y: Any, scorer: Any, params: Any, spec: IterativeFit) -> Any:
    if _SCORE_TAKES_PARAMS:
        return _score(model, X, y, scorer, params, spec.error_score)
    return _score(model, X, y, scorer, spec.error_score)


def _only_sklearn_scorers(scorer: Any) -> bool:
    from sklearn.metrics._scorer import _BaseScorer, _PassthroughScorer

    scorers = scorer._scorers.values() if isinstance(scorer, _MultimetricScorer) else [scorer]
    return all(isinstance(s, (_BaseScorer, _PassthroughScorer)) for s in scorers)


def _failed(spec: IterativeFit, times: dict[str, float], X_test: Any, steps: int) -> FoldOutcome:
    """The result _fit_and_score gives a failed fit (called inside the ``except``, for the
    traceback)."""
    if isinstance(spec.scorer, _MultimetricScorer):
        scores: Any = {name: spec.error_score for name in spec.scorer._scorers}
    else:
        scores = spec.error_score
    result: dict[str, Any] = {"fit_error": format_exc(), "test_scores": scores}
    if spec.return_train_score:
        result["train_scores"] = copy.copy(scores)
    result.update(n_test_samples=_num_samples(X_test), **times)
    return FoldOutcome(result, steps, pruned=False)


def _route_fit_params(
    estimator: Any, params: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Fit parameters of a Pipeline's earlier steps (per step and method) and of its final one,
    routed as ``Pipeline.fit`` routes them; a plain estimator gets them all."""
    if not isinstance(estimator, Pipeline):
        return {}, params
    final_name = estimator.steps[-1][0]
    if not params:
        return {}, {}
    from sklearn import get_config

    if get_config().get("enable_metadata_routing", False):
        from sklearn.utils.metadata_routing import process_routing

        routed = process_routing(estimator, "fit", **params)
        per_step = {name: dict(routed[name]) for name, _ in estimator.steps if name in routed}
    else:
        per_step = {}
        for key, value in params.items():
            if "__" not in key:
                raise ValueError(
                    f"Pipeline.fit does not accept the {key} parameter. Pass parameters to a "
                    "step of the pipeline as stepname__parameter, e.g. "
                    "clf__sample_weight=sample_weight."
                )
            name, param = key.split("__", 1)
            methods = per_step.setdefault(name, {"fit": {}, "fit_transform": {}})
            methods["fit"][param] = value
            methods["fit_transform"][param] = value
    final = dict(per_step.pop(final_name, {}).get("fit", {}))
    return per_step, final


def _fit_head(steps: list[tuple[str, Any]], X: Any, y: Any, params: dict[str, Any]) -> Any:
    """Fit the Pipeline steps before the final one in place; the transformed ``X``."""
    for name, step in steps:
        if step is None or isinstance(step, str):  # "passthrough"
            continue
        methods = params.get(name, {})
        if hasattr(step, "fit_transform"):
            X = step.fit_transform(X, y, **methods.get("fit_transform", {}))
        else:
            X = step.fit(X, y, **methods.get("fit", {})).transform(X)
    return X


def _transform(steps: list[tuple[str, Any]], X: Any) -> Any:
    for _, step in steps:
        if step is not None and not isinstance(step, str):
            X = step.transform(X)
    return X


def all_labels(y: Any) -> Any:
    """Every label of ``y`` (for partial_fit's ``classes``), or None without a target."""
    return None if y is None else np.unique(np.asarray(y))
