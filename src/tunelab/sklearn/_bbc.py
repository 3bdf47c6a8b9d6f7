"""Bootstrap bias-corrected CV (BBC-CV, Tsamardinos et al., 2018) over out-of-fold predictions.

Every configuration that finished cross-validation has a prediction for every training row,
made by a model that never saw that row. BBC-CV bootstraps the rows: on each in-bag sample it
picks the configuration with the best score, then scores that winner on the rows left out of the
bag. Averaged over bootstraps, this measures the whole "fit many, keep the best" procedure on
rows it did not select with, without fitting a single extra model.

Scorers only know how to score an estimator, so predictions are captured while the scorer scores
each fold's model: for the length of that call the model's own response methods are shadowed by
recording wrappers (the scorer gets the real model, so ``est[-1]`` and ``isinstance`` work), and
replayed to it later from a stand-in estimator whose input is row numbers.

Only scores that are a mean over rows (accuracy, MSE, MAE, log loss, Brier, ...) are replayed.
Bootstrapping rows measures what a score of pooled rows is; for a mean over rows, with each row
weighted by one over its fold's size (``fold_balanced_params``), that is the quantity the fold
scores average, but R², AUC, average precision, F1 or RMSE of all rows pooled
is another number than the mean of the folds' values (on 20 folds of 5 rows of diabetes, a mean
fold R² of -0.28 against a pooled one of +0.14), so a "correction" by rows moved the estimate to
another metric. Those, and any scorer whose metric is not known (user callables,
``make_scorer`` of a user function), are corrected over folds instead (``_generalization``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

RESPONSE_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")
# Each configuration costs a scorer call per bootstrap (about a millisecond). Beyond the best 30 by
# CV mean, configurations practically never win a bootstrap; cutting there keeps a large search's
# estimate to a few seconds.
TOP_CONFIGURATIONS = 30
N_BOOTSTRAP = 100


_MISSING = object()


@contextmanager
def _recording(fitted: Any, n_rows: int | None) -> Iterator[dict[str, np.ndarray]]:
    """Shadow ``fitted``'s response methods with recording wrappers for the ``with`` block.

    The scorer must see the very model (a proxy broke scorers that index a Pipeline or check
    its type), so the wrappers go into the instance's ``__dict__`` and are taken out again
    afterwards. Only calls on all ``n_rows`` test rows are kept, the first of each method: a
    scorer that also predicts on a subset must not leave that subset as the fold's predictions.
    """
    outputs: dict[str, np.ndarray] = {}
    namespace = getattr(fitted, "__dict__", None)
    if not isinstance(namespace, dict):  # nowhere to put a wrapper: nothing is recorded
        yield outputs
        return
    shadowed: dict[str, Any] = {}
    for name in RESPONSE_METHODS:
        # Only methods the model really has (available_if hides the others): scorers pick
        # the first one available. The recording must never be what fails the scoring.
        try:
            method = getattr(fitted, name, None)
        except Exception:
            continue
        if not callable(method):
            continue
        shadowed[name] = namespace.get(name, _MISSING)
        namespace[name] = _recording_method(method, name, outputs, n_rows)
    try:
        yield outputs
    finally:
        for name, previous in shadowed.items():
            if previous is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = previous


def _recording_method(
    method: Any, name: str, outputs: dict[str, np.ndarray], n_rows: int | None
) -> Any:
    def record(X: Any, *args: Any, **kwargs: Any) -> Any:
        out = method(X, *args, **kwargs)
        if name not in outputs and (n_rows is None or _rows(X) == n_rows):
            outputs[name] = np.asarray(out)
        return out

    # scikit-learn reads which method it got from the function's name.
    record.__name__ = name
    return record


def _rows(X: Any) -> int | None:
    from sklearn.utils.validation import _num_samples

    try:
        return int(_num_samples(X))
    except Exception:
        return None


class _Replay:
    """Answers a scorer's calls with recorded predictions; its ``X`` is a column of row numbers."""

    def __init__(self, outputs: dict[str, np.ndarray], tags: Any, classes: Any) -> None:
        self._outputs = outputs
        self._tags = tags
        if classes is not None:
            self.classes_ = classes

    def __sklearn_tags__(self) -> Any:
        return self._tags

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._outputs:
            raise AttributeError(name)
        values = self._outputs[name]

        def replay(X: Any, *args: Any, **kwargs: Any) -> np.ndarray:
            return values[np.asarray(X)[:, 0]]

        replay.__name__ = name
        return replay


def replayable_scorer(scorer: Any, estimator: Any) -> Any | None:
    """The scorer to record with, or None when the per-row estimate does not apply: its
    predictions cannot be captured, or its score is not a mean over rows
    (:func:`averages_over_rows`).

    ``scoring=None`` scores with ``estimator.score``, which calls the model's own ``predict``
    behind the proxy's back; when that is the stock accuracy (classifiers), the accuracy scorer
    is used instead (the stock R² of regressors is no mean over rows).
    """
    from sklearn.base import ClassifierMixin, is_classifier
    from sklearn.metrics import get_scorer
    from sklearn.metrics._scorer import _PassthroughScorer

    if not isinstance(scorer, _PassthroughScorer):
        return scorer if averages_over_rows(scorer) else None
    import sklearn

    if sklearn.get_config().get("enable_metadata_routing"):
        # With routing, estimator.score takes metadata by its own requests (a Pipeline's score
        # refuses a sample_weight it did not request, as GridSearchCV shows); the stand-in
        # scorer took the routed weights and scored weighted accuracy without a word.
        return None
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    score = getattr(type(final), "score", None)
    if score is ClassifierMixin.score and is_classifier(estimator):
        return get_scorer("accuracy")
    return None


# scikit-learn metrics whose value on a set of rows is the mean of a per-row loss or gain, with
# the keyword arguments that keep it one: (other arguments allowed, arguments that must have
# these values, where an argument left out counts with the function's default). Pooled rows then
# estimate what the fold scores average. Everything else is a statistic of a whole set of rows
# (R², AUC, average precision, F1, balanced accuracy, a median, a maximum, the square root of a
# mean), and so is a metric given its own sample_weight, or accuracy with normalize=False (a
# count): replaying those per row would correct another quantity than the CV score.
_MEANS_OVER_ROWS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "accuracy_score": ((), {"normalize": True}),
    "zero_one_loss": ((), {"normalize": True}),
    "top_k_accuracy_score": (("k", "labels"), {"normalize": True}),
    "hamming_loss": ((), {}),
    "log_loss": (("labels",), {"normalize": True}),
    "brier_score_loss": (("pos_label", "labels", "scale_by_half"), {}),
    "mean_squared_error": (("multioutput",), {"squared": True}),
    "mean_squared_log_error": (("multioutput",), {"squared": True}),
    "mean_absolute_error": (("multioutput",), {}),
    "mean_absolute_percentage_error": (("multioutput",), {}),
    "mean_poisson_deviance": ((), {}),
    "mean_gamma_deviance": ((), {}),
    "mean_tweedie_deviance": (("power",), {}),
    # Multilabel scores averaged per row ("f1_samples"): a mean over rows; "binary", "macro",
    # "micro" and "weighted" averages are not.
    "f1_score": (("labels", "pos_label", "zero_division"), {"average": "samples"}),
    "fbeta_score": (("beta", "labels", "pos_label", "zero_division"), {"average": "samples"}),
    "precision_score": (("labels", "pos_label", "zero_division"), {"average": "samples"}),
    "recall_score": (("labels", "pos_label", "zero_division"), {"average": "samples"}),
    "jaccard_score": (("labels", "pos_label", "zero_division"), {"average": "samples"}),
}


def averages_over_rows(scorer: Any) -> bool:
    """True for a scikit-learn scorer (a name or ``make_scorer``) of a metric known to be a mean
    over rows (``_MEANS_OVER_ROWS``); False for anything else, user callables included, whose
    metric cannot be known."""
    import inspect

    from sklearn.metrics._scorer import _BaseScorer

    from sklearn import metrics

    if not isinstance(scorer, _BaseScorer):
        return False
    func = getattr(scorer, "_score_func", None)
    kwargs = getattr(scorer, "_kwargs", None)
    name = getattr(func, "__name__", None)
    if name not in _MEANS_OVER_ROWS or func is not getattr(metrics, name, None):
        return False
    if not isinstance(kwargs, dict):
        return False
    allowed, fixed = _MEANS_OVER_ROWS[name]
    if any(key not in allowed and key not in fixed for key in kwargs):
        return False
    try:
        defaults = {key: p.default for key, p in inspect.signature(func).parameters.items()}
    except (TypeError, ValueError):
        return False
    for key, value in fixed.items():
        given = kwargs.get(key, defaults.get(key, value))
        if not (isinstance(given, type(value)) and given == value):
            return False
    return True


class ScoreAndRecord:
    """A scorer that scores the model as its wrapped scorer does and keeps the predictions that
    scorer asked for (``outputs``; None until a scoring call succeeded)."""

    def __init__(self, scorer: Any) -> None:
        self._scorer = scorer
        self.outputs: dict[str, np.ndarray] | None = None

    def __call__(self, estimator: Any, X: Any, y: Any = None, **kwargs: Any) -> Any:
        args = (X,) if y is None else (X, y)
        with _recording(estimator, _rows(X)) as outputs:
            score = self._scorer(estimator, *args, **kwargs)
        self.outputs = outputs
        return score


def model_fingerprint(fitted: Any, X_test: Any, recorded: dict[str, np.ndarray] | None) -> str:
    """A digest of the fitted model's most detailed predictions on the test rows.

    Probabilities or decision values when the model has them (labels agree between different
    models far too often to identify one), reusing what the scorer already asked for.
    """
    import hashlib

    from sklearn.base import is_regressor

    recorded = recorded or {}
    preferred = ("predict",) if is_regressor(fitted) else ("predict_proba", "decision_function")
    values = next((recorded[m] for m in preferred if m in recorded), None)
    if values is None:
        for method in (*preferred, "predict"):
            if hasattr(fitted, method):
                values = np.asarray(getattr(fitted, method)(X_test))
                break
    if values is None:
        return ""
    values = np.ascontiguousarray(values)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{values.dtype}{values.shape}".encode())
    digest.update(values.tobytes())
    return digest.hexdigest()


def fold_fingerprint(
    fitted: Any, X_test: Any, recorded: dict[str, np.ndarray] | None, test_scores: Any
) -> str | None:
    """The key under which a fold's model is looked up for duplicates, or None when the model
    cannot be fingerprinted (it is then simply never a duplicate: the search must not fail over
    an optimisation). It includes the fold's score, because a scorer or a custom ``score`` need
    not go by the predictions."""
    try:
        scores = sorted(test_scores.items()) if isinstance(test_scores, dict) else test_scores
        digest = model_fingerprint(fitted, X_test, recorded)
    except Exception:
        return None
    return f"{digest}|{scores!r}" if digest else None


def record_predictions(
    scorer: Any, fitted: Any, X_test: Any, y_test: Any, **score_params: Any
) -> dict[str, np.ndarray]:
    """Score ``fitted`` on the test rows while recording; return what the scorer asked for."""
    recording = ScoreAndRecord(scorer)
    recording(fitted, X_test, y_test, **score_params)
    return recording.outputs or {}


def assemble(
    folds: list[tuple[np.ndarray, dict[str, np.ndarray]]], n_rows: int
) -> dict[str, np.ndarray]:
    """Out-of-fold arrays over all rows from (test indices, recorded outputs) per fold."""
    full: dict[str, np.ndarray] = {}
    for test, outputs in folds:
        for name, values in outputs.items():
            if name not in full:
                full[name] = np.empty((n_rows, *values.shape[1:]), dtype=values.dtype)
            full[name][test] = values
    return full


def bbc_cv_predictions(
    outputs: list[dict[str, np.ndarray]],
    y: np.ndarray,
    scorer: Any,
    *,
    tags: Any,
    classes: Any = None,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
    score_params: Mapping[str, Any] | None = None,
) -> float:
    """BBC-CV estimate of the selected configuration's score from its out-of-fold predictions.

    ``outputs[c]`` maps a response method to configuration ``c``'s out-of-fold predictions for
    every row of ``y``; pass the configurations in decreasing order of CV mean (only the first
    ``TOP_CONFIGURATIONS`` are bootstrapped). ``score_params`` are what the folds' scorer got
    (``sample_weight`` routed to it, say), for every row: each bootstrap scores with its rows'
    share of them, so the estimate measures the metric the CV scores measure. Bootstraps whose
    in-bag or out-of-bag rows a metric cannot score (one class only, say) are skipped; NaN when
    none could be scored.
    """
    y = np.asarray(y)
    n = len(y)
    outputs = outputs[:TOP_CONFIGURATIONS]
    params = dict(score_params or {})
    bags = np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))
    in_weights = np.zeros((n_bootstrap, n))
    np.add.at(in_weights, (np.arange(n_bootstrap)[:, None], bags), 1.0)
    out_weights = (in_weights == 0).astype(float)
    keep = out_weights.any(axis=1)
    metric = _weighted_metric(scorer)
    row_weights = _row_weights(params, n)
    if metric is not None and row_weights is not None and all("predict" in o for o in outputs):
        preds = np.stack([o["predict"] for o in outputs])
        with np.errstate(invalid="ignore", divide="ignore"):
            winners = np.argmax(metric(preds, y, in_weights[keep] * row_weights), axis=1)
            out_scores = metric(preds, y, out_weights[keep] * row_weights)
        estimates = out_scores[np.arange(len(winners)), winners]
        estimates = estimates[np.isfinite(estimates)]
        return float(estimates.mean()) if estimates.size else float("nan")
    return _bbc_by_scorer(
        outputs, y, scorer, tags, classes, bags[keep], out_weights[keep], score_params=params
    )


def fold_balanced_params(
    score_params: Mapping[str, Any] | None, tests: list[np.ndarray], n_rows: int
) -> dict[str, Any] | None:
    """The score parameters under which a mean over pooled rows is the mean of the fold scores.

    A fold's score is the (weighted) mean over its rows, and the CV score averages the folds
    with equal weight, so a row of a small fold counts for more than one of a large fold. Pooled
    rows weigh every row alike: with GroupKFold folds of 168, 124 and 52 rows, the pooled
    accuracy (0.44) was 0.13 below the mean of the fold scores (0.56), and the per-row BBC-CV
    reported that gap as selection optimism among three identical configurations. Each row
    therefore gets a ``sample_weight`` of its own weight (1 without one) over its fold's total.
    Folds already of equal total weight are left as they are. None when a routed
    ``sample_weight`` is not one number per row (only the scorer could read it).
    """
    params = dict(score_params or {})
    if "sample_weight" in params:
        try:
            weights = np.asarray(params["sample_weight"], dtype=float)
        except (TypeError, ValueError):
            return None
        if weights.shape != (n_rows,):
            return None
    else:
        weights = np.ones(n_rows)
    totals = np.array([weights[test].sum() for test in tests])
    if np.allclose(totals, totals[0]):
        return params
    balanced = np.empty(n_rows)
    for test, total in zip(tests, totals):
        balanced[test] = weights[test] / total
    # Scaled to a mean of one per row, as unweighted rows have.
    params["sample_weight"] = balanced * (n_rows / balanced.sum())
    return params


def _row_weights(params: dict[str, Any], n: int) -> np.ndarray | None:
    """Per-row weights for the vectorized metrics: ones without parameters, the routed
    ``sample_weight`` when it is the only one; None when only the scorer itself can say."""
    if not params:
        return np.ones(n)
    if set(params) != {"sample_weight"}:
        return None
    try:
        weights = np.asarray(params["sample_weight"], dtype=float)
    except (TypeError, ValueError):
        return None
    return weights if weights.shape == (n,) else None


def _bbc_by_scorer(
    outputs: list[dict[str, np.ndarray]],
    y: np.ndarray,
    scorer: Any,
    tags: Any,
    classes: Any,
    bags: np.ndarray,
    out_weights: np.ndarray,
    score_params: Mapping[str, Any] | None = None,
) -> float:
    """Any scorer, one call per configuration and bootstrap (about a millisecond each)."""
    import warnings

    from sklearn.utils.validation import _check_method_params

    from sklearn import config_context

    params = dict(score_params or {})

    def rows_of(rows: np.ndarray) -> dict[str, Any]:
        # Per-row parameters follow the rows (with repeats, in bag), as when a fold is scored.
        return _check_method_params(y, params=params, indices=rows) if params else {}

    replays = [_Replay(o, tags, classes) for o in outputs]
    estimates = []
    with config_context(skip_parameter_validation=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for in_bag, oob_mask in zip(bags, out_weights):
            out_of_bag = np.flatnonzero(oob_mask)
            try:
                in_params, out_params = rows_of(in_bag), rows_of(out_of_bag)
                in_scores = [scorer(r, in_bag[:, None], y[in_bag], **in_params) for r in replays]
                winner = replays[int(np.nanargmax(in_scores))]
                value = float(scorer(winner, out_of_bag[:, None], y[out_of_bag], **out_params))
            except ValueError:
                continue
            if np.isfinite(value):
                estimates.append(value)
    return float(np.mean(estimates)) if estimates else float("nan")


def _weighted_metric(scorer: Any) -> Any | None:
    """For the common scorers on ``predict``, a vectorized (preds, y, weights) -> scores.

    Scores for every (bootstrap, configuration) pair come from one matrix product, where the
    scorer route costs a scorer call each; the results agree with the scorer's to rounding.
    Reads scorer internals that scikit-learn has kept since 1.4; anything unexpected falls
    back to calling the scorer.
    """
    from sklearn import metrics

    func = getattr(scorer, "_score_func", None)
    if getattr(scorer, "_kwargs", None) != {} or getattr(scorer, "_response_method", None) != (
        "predict"
    ):
        return None
    sign = float(getattr(scorer, "_sign", 1))

    def mean_of(loss: np.ndarray, W: np.ndarray) -> np.ndarray:
        return (W @ loss.T) / W.sum(axis=1)[:, None]

    if func is metrics.accuracy_score:
        return lambda P, y, W: sign * mean_of((P == y).astype(float), W)
    if func is metrics.mean_squared_error:
        return lambda P, y, W: sign * mean_of((P - y) ** 2, W)
    if func is metrics.mean_absolute_error:
        return lambda P, y, W: sign * mean_of(np.abs(P - y), W)
    return None
