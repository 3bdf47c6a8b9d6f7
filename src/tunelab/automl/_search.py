"""The budgeted search loop: ask a configuration, cross-validate it fold by fold, race it
against the incumbent, and keep its out-of-fold predictions for ensemble selection.

Fold racing. Every configuration sees the same folds in the same order, so after ``k`` folds
its scores pair up with the incumbent's (the best configuration scored on every fold). It stops
early when it is clearly worse:

* after one fold, when it trails the incumbent's first fold by more than three times the spread
  (standard deviation) of the incumbent's own fold scores;
* after ``k >= 2`` folds, when the mean paired difference is below zero by more than two
  standard errors of that difference (an approximate one-sided paired test).

A raced-out configuration is told PRUNED with its fold scores as intermediate values and never
enters the leaderboard or the ensemble (its out-of-fold predictions are incomplete).

The clock is checked before every fold: a fold that would end after the search deadline (its
expected cost is this configuration's slowest fold so far, or the slowest fold of its family
for a first fold, or for a family not tried yet ten times the dearest family's) is not started;
the configuration is dropped and the search goes on with the families that still fit. It ends
when no family's first fold fits in what is left. The deadline itself leaves room for the
final refit, estimated from the CV fit times of the current leaders.

The first configuration is never skipped, so that a fit always ends with a model; once one of
its folds shows that the rest and the refit cannot end before the deadline, it stops and is
kept, scored on the folds it ran (ranked after every full CV run, never raced against nor
ensembled).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._frozen import TrialState
from .._interrupts import stopped_reason
from ..exceptions import TunelabError
from ._metric import score_predictions
from ._zoo import build_pipeline, describe, fit_pipeline

# The final refit sees all rows, not (k-1)/k of them, and fit time grows a little faster than
# the rows; this factor covers both.
REFIT_SAFETY = 1.3
# How many leaders' refits the search deadline keeps room for (an ensemble refits several).
RESERVED_REFITS = 3


class SearchFailedError(TunelabError, RuntimeError):
    """No pipeline finished: every one failed, or none fitted in the time budget."""


@dataclass
class Candidate:
    """A configuration scored on every fold."""

    number: int
    params: dict[str, Any]
    fold_scores: list[float]
    fit_times: list[float]
    oof: np.ndarray
    holdout: np.ndarray | None
    # The test rows of the folds it ran, when the time budget stopped it before the last one
    # (the first configuration only); None when it ran every fold.
    rows: np.ndarray | None = None

    @property
    def partial(self) -> bool:
        return self.rows is not None

    @property
    def cv_score(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def cv_std(self) -> float:
        return float(np.std(self.fold_scores))

    @property
    def fit_time(self) -> float:
        return float(np.sum(self.fit_times))

    @property
    def description(self) -> str:
        return describe(self.params)

    def refit_estimate(self, growth: float) -> float:
        return float(np.max(self.fit_times)) * growth * REFIT_SAFETY


@dataclass
class SearchData:
    """What every fold needs: the rows, the targets, the folds and the scorer."""

    X: Any
    y: np.ndarray
    y_codes: np.ndarray
    classes: np.ndarray | None
    task: str
    scorer: Any
    splits: Sequence[tuple[np.ndarray, np.ndarray]]
    X_holdout: Any
    n_features: int
    random_state: int | None
    n_jobs: int | None
    refit_rows: int
    sample_weight: np.ndarray | None = None

    def weights(self, rows: np.ndarray) -> np.ndarray | None:
        return None if self.sample_weight is None else self.sample_weight[rows]

    @property
    def K(self) -> int:
        return 0 if self.classes is None else len(self.classes)

    @property
    def growth(self) -> float:
        fold_rows = np.mean([len(tr) for tr, _ in self.splits])
        return self.refit_rows / fold_rows


@dataclass
class SearchResult:
    candidates: list[Candidate] = field(default_factory=list)
    n_trials: int = 0
    n_raced: int = 0
    n_failed: int = 0
    n_stopped: int = 0
    n_skipped: int = 0
    failures: Counter = field(default_factory=Counter)
    # Set when the first configuration was scored on fewer folds than the CV has, because its
    # remaining folds and the refit could not fit in the budget: what fit warns with.
    cut_short: dict[str, Any] | None = None


def ranked(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Best first; a configuration scored on fewer folds after every one scored on all (its
    mean over the folds it ran is not comparable, and it may have run only easy ones)."""
    return sorted(candidates, key=lambda c: (c.partial, -c.cv_score))


def predict_block(model: Any, X: Any, classes: np.ndarray | None) -> np.ndarray:
    """Probabilities in the order of ``classes`` (a fold may miss a class), or predictions."""
    if classes is None:
        return np.asarray(model.predict(X), dtype=float).ravel()
    proba = np.asarray(model.predict_proba(X), dtype=float)
    out = np.zeros((proba.shape[0], len(classes)))
    out[:, np.searchsorted(classes, model.classes_)] = proba
    return out


def threads(n_jobs: int | None) -> int:
    """Threads a model may use: 1 for None, every core for -1 (joblib's convention)."""
    import os

    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def raced_out(scores: Sequence[float], incumbent: Candidate) -> bool:
    """True when ``scores`` (the first folds) are clearly worse than the incumbent's.

    Bolder than SearchCV's ``FoldRacing``, on purpose: SearchCV runs a fixed number of
    configurations and must not lose the best of them, while this search runs against a clock,
    where every fold saved buys another configuration. Racing by ``FoldRacing()`` here ran
    fewer configurations (111 against 166 on breast_cancer, 107 against 178 on diabetes) and
    scored 0.004 lower on average in the 30 s AutoML benchmark (docs/automl.md).
    """
    k = len(scores)
    inc = np.asarray(incumbent.fold_scores[:k])
    diff = np.asarray(scores) - inc
    if k == 1:
        spread = float(np.std(incumbent.fold_scores, ddof=1))
        return bool(spread > 0 and diff[0] < -3.0 * spread)
    mean = float(diff.mean())
    if mean >= 0:
        return False
    se = float(diff.std(ddof=1)) / math.sqrt(k)
    return mean < -2.0 * se


def reserve(candidates: Sequence[Candidate], growth: float) -> float:
    """Seconds the search leaves for the final refit of the current leaders."""
    leaders = ranked(candidates)[:RESERVED_REFITS]
    return float(sum(c.refit_estimate(growth) for c in leaders))


def run_search(
    data: SearchData,
    study: Any,
    space: dict[str, Any],
    end: float,
    max_trials: int | None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    defaults: Sequence[dict[str, Any]] = (),
) -> SearchResult:
    """Search until ``end`` (a ``clock`` time) minus the refit reserve, or ``max_trials``.

    ``defaults`` are enqueued one at a time, each just before it is asked (see
    ``_enqueue_next``)."""
    from threadpoolctl import threadpool_limits

    result = SearchResult()
    family_cost: dict[str, float] = {}
    families = _families(space)
    skipped_in_a_row = 0
    pending = list(defaults)
    # BLAS and OpenMP threads beyond n_jobs oversubscribe a shared machine (a 25x slowdown of
    # small fits was measured on a loaded 2-core box); models get their threads from n_jobs.
    with warnings.catch_warnings(), threadpool_limits(threads(data.n_jobs)):
        # Convergence and constant-feature warnings from hundreds of fits say nothing new.
        warnings.simplefilter("ignore")
        while max_trials is None or result.n_trials < max_trials:
            if result.n_trials and not _anything_fits(
                data, result, families, family_cost, end, clock
            ):
                break
            if pending:
                _enqueue_next(study, pending)
            trial = study.ask(space)
            result.n_trials += 1
            params = trial.params
            try:
                outcome = _evaluate(data, trial, params, result, family_cost, end, clock)
            except BaseException as exc:
                # Ctrl-C (or any BaseException) inside a fold: the trial must not stay RUNNING
                # in the storage forever; settle it as Study.optimize does.
                reason = stopped_reason(exc, "the search")
                try:
                    study.tell(
                        trial, state=TrialState.FAIL, fail_reason=reason, skip_if_finished=True
                    )
                except Exception:  # the storage may be what failed: the first error matters
                    pass
                raise
            if progress is not None:
                best = ranked(result.candidates)[0] if result.candidates else None
                progress(
                    {
                        "n_trials": result.n_trials,
                        "outcome": outcome,
                        "model": params["model"],
                        "best_score": None if best is None else best.cv_score,
                        "best": None if best is None else best.description,
                    }
                )
            skipped_in_a_row = skipped_in_a_row + 1 if outcome == "skipped" else 0
            # The sampler learns that skipped families score nothing, but one that keeps
            # proposing them must not spin through the rest of the budget.
            if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                break
    return result


# Consecutive configurations whose first fold did not fit before the search gives up.
MAX_SKIPPED_IN_A_ROW = 25


def _enqueue_next(study: Any, pending: list[dict[str, Any]]) -> None:
    """Queue the next default configuration that the study has not seen, unless trials are
    already waiting (those left by an earlier fit run first).

    Queued all at once, the defaults a budget did not reach stayed WAITING in a stored study,
    and every later fit added its own (a QA pass counted 8, 16, 24 after three fits). Queued one
    at a time, right before the ask that runs it, a fit leaves no WAITING trial of its own; and
    ``skip_if_exists`` passes over a default an earlier fit of the study already ran.
    """
    if study.get_trials(states=(TrialState.WAITING,), deepcopy=False):
        return
    while pending:
        if study._enqueue(pending.pop(0), skip_if_exists=True):
            return


def _families(space: dict[str, Any]) -> list[str]:
    node = space.get("model")
    if isinstance(node, dict):
        return list(node)
    return list(getattr(node, "choices", []))


def _anything_fits(
    data: SearchData,
    result: SearchResult,
    families: list[str],
    family_cost: dict[str, float],
    end: float,
    clock: Callable[[], float],
) -> bool:
    """Whether the first fold of some family is expected to end before the deadline."""
    left = end - reserve(result.candidates, data.growth) - clock()
    if left <= 0:
        return False
    unseen = _unseen_family_cost(family_cost)
    cheapest = min((family_cost.get(f, unseen) for f in families), default=0.0)
    return cheapest <= left


# A family not tried yet may cost this many times the dearest family tried so far per fold
# (a 100-tree random forest after ridge and gradient boosting on 30,000 rows: about 40 times).
# Starting its first fold blind overran a 6 s budget by 22 s; assuming the worst skips such a
# family in a budget's last moments while the families already timed go on.
UNSEEN_FAMILY_FACTOR = 10.0


def _unseen_family_cost(family_cost: dict[str, float]) -> float:
    return UNSEEN_FAMILY_FACTOR * max(family_cost.values(), default=0.0)


def _evaluate(
    data: SearchData,
    trial: Any,
    params: dict[str, Any],
    result: SearchResult,
    family_cost: dict[str, float],
    end: float,
    clock: Callable[[], float],
) -> str:
    study = trial.study
    model = params["model"]
    # Racing pairs fold scores, so only a configuration scored on every fold can lead it.
    full = [c for c in result.candidates if not c.partial]
    incumbent = max(full, key=lambda c: c.cv_score, default=None)
    # The very first configuration (the cheapest default) is never skipped, so that every fit
    # ends with a model even when the budget is too small for anything else; it is only cut
    # short once a fold shows the rest cannot fit (see below).
    first = not result.candidates and result.n_trials == 1
    n = len(data.y)
    oof = np.zeros((n, data.K)) if data.K else np.zeros(n)
    holdout_sum: np.ndarray | None = None
    scores: list[float] = []
    fit_times: list[float] = []
    slowest = family_cost.get(model, _unseen_family_cost(family_cost))
    for k, (train, test) in enumerate(data.splits):
        deadline = end - reserve(result.candidates, data.growth)
        if not first and clock() + slowest > deadline:
            # Only this configuration is dropped: a cheaper family may still fit, and
            # run_search ends the search once none does.
            trial.set_user_attr("stopped", "time budget")
            study.tell(trial, state=TrialState.PRUNED)
            if k == 0:
                result.n_skipped += 1
                return "skipped"
            result.n_stopped += 1
            return "stopped"
        began = clock()
        try:
            pipe = build_pipeline(
                params, data.task, data.n_features, n, data.random_state, data.n_jobs
            )
            fit_pipeline(pipe, data.X.iloc[train], data.y[train], data.weights(train))
            fit_times.append(clock() - began)
            pred = predict_block(pipe, data.X.iloc[test], data.classes)
            # The user's labels, not the internal codes: the search must optimise what score()
            # and scikit-learn measure (f1 of labels 1/2 counts label 1 as positive).
            score = score_predictions(
                data.scorer, data.task, data.y[test], pred, data.K, data.weights(test), data.classes
            )
            if not math.isfinite(score):
                raise ValueError(f"the metric gave {score} on fold {k}")
            if data.X_holdout is not None:
                block = predict_block(pipe, data.X_holdout, data.classes)
                holdout_sum = block if holdout_sum is None else holdout_sum + block
        except Exception as exc:  # one bad configuration must not end the search
            reason = f"{type(exc).__name__}: {exc}"
            result.failures[reason.splitlines()[0][:200]] += 1
            result.n_failed += 1
            study.tell(trial, state=TrialState.FAIL, fail_reason=reason)
            return "failed"
        cost = clock() - began
        slowest = max(slowest if k else 0.0, cost)
        family_cost[model] = max(family_cost.get(model, 0.0), cost)
        oof[test] = pred
        scores.append(score)
        trial.report(score, k)
        if incumbent is not None and k + 1 < len(data.splits) and raced_out(scores, incumbent):
            study.tell(trial, state=TrialState.PRUNED)
            result.n_raced += 1
            return "raced"
        left = len(data.splits) - k - 1
        if first and left and clock() + (left + data.growth * REFIT_SAFETY) * slowest > end:
            # Finishing every fold overran a 5 s budget by 17 s (a 100-tree forest on 8,000
            # rows); the folds run so far still give a model, scored on them.
            rows = np.concatenate([test for _, test in data.splits[: k + 1]])
            holdout = None if holdout_sum is None else holdout_sum / (k + 1)
            result.candidates.append(
                Candidate(trial.number, params, scores, fit_times, oof, holdout, rows=rows)
            )
            result.cut_short = {
                "model": model,
                "folds": k + 1,
                "n_splits": len(data.splits),
                "fold_time": slowest,
            }
            trial.set_user_attr(
                "stopped", f"time budget: scored on {k + 1} of {len(data.splits)} folds"
            )
            study.tell(trial, float(np.mean(scores)))
            return "partial"
    holdout = None if holdout_sum is None else holdout_sum / len(data.splits)
    result.candidates.append(Candidate(trial.number, params, scores, fit_times, oof, holdout))
    study.tell(trial, float(np.mean(scores)))
    return "complete"
