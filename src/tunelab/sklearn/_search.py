"""SearchCV: a drop-in for GridSearchCV / RandomizedSearchCV backed by a tunelab study.

Why subclass ``BaseSearchCV`` but override ``fit``: the base class brings the delegation that
users rely on (``predict``, ``predict_proba``, ``score``, ``classes_``, tags, metadata
routing, the multi-metric ``refit`` rules) and keeps ``isinstance(s, BaseSearchCV)`` true for
tools that look for it. Its ``_run_search(evaluate_candidates)`` hook, however, scores each
candidate on every fold before returning, which is exactly what fold racing must not do, and
a study proposes one configuration at a time from what it has seen. So ``fit`` is our own:
ask the study, run folds in order, race, tell the study, and build ``cv_results_`` with the
same keys as GridSearchCV.

With ``pruner`` set, folds are trained step by step (``_iterative.fit_fold``) so a pruner can
stop a configuration inside a fold; fold racing still decides between folds.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from inspect import signature
from typing import Any

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import _fit_and_score
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, _num_samples, indexable

from sklearn import config_context, get_config

from .._frozen import TrialState
from .._interrupts import stopped_reason
from .._metric_record import record_metric
from .._study import create_study
from ..exceptions import GridExhausted
from ..pruners import BasePruner
from ._bbc import (
    ScoreAndRecord,
    assemble,
    bbc_cv_predictions,
    fold_balanced_params,
    fold_fingerprint,
    record_predictions,
    replayable_scorer,
)
from ._checks import check_init_params, make_cv, seeds
from ._failures import error_summary, report_fit_failures, report_no_finite_score
from ._generalization import Generalization, estimate, warn_if_optimistic
from ._iterative import (
    IterativeFit,
    all_labels,
    check_iterative,
    fit_fold,
    refit_iteratively,
    resolve_pruner,
)
from ._racing import (
    FoldRacing,
    fold_spread,
    resolve_racing,
    score_resolution,
    warn_if_many_duplicates,
)
from ._results import Candidate, build_cv_results
from ._scoring import metric_name
from ._space import check_param_names, convert_space

# RandomizedSearchCV's n_iter default, for spaces that cannot be enumerated.
DEFAULT_N_TRIALS = 10


class SearchCV(BaseSearchCV):
    """Hyperparameter search with cross-validation, fold racing and honest estimates.

    Parameters follow GridSearchCV/RandomizedSearchCV. ``param_space`` maps parameter names
    (``clf__C`` for pipeline steps) to lists of values, tunelab distributions, bounded scipy
    frozen distributions or conditional dicts; a list of such dicts works like a list of grids.
    ``n_trials=None`` evaluates every point of an all-list space (like GridSearchCV); on other
    spaces it samples configurations until ``timeout`` when one is given, else 10. A ``refit``
    callable must choose a row evaluated on every fold (``cv_results_["n_folds_evaluated"]``);
    a raced-out or pruned row raises a ``ValueError``. An int ``cv`` gives shuffled (Stratified)KFold seeded by
    ``random_state``; pass a splitter for other splits. ``racing`` (True, False or a
    :class:`FoldRacing`) stops configurations that are clearly worse than the incumbent on the
    folds seen so far. ``n_jobs`` runs that many configurations at once, their folds in
    parallel through joblib. ``outer_cv`` adds a nested CV estimate to ``generalization_``.

    ``pruner`` adds pruning over training iterations for estimators that train step by step
    (``partial_fit``, or ``warm_start`` with ``max_iter``/``n_estimators``; in a Pipeline, its
    final step): None or False (default) fits each fold in one go; True uses
    ``MedianPruner(n_startup_trials=3, n_warmup_steps=n_steps // 2)``; or pass any tunelab
    pruner. Each fold then trains in ``n_steps`` steps (one ``partial_fit`` pass each, or
    ``1/n_steps`` of the estimator's ``max_iter``/``n_estimators``), reporting the refit
    metric at step ``fold * n_steps + step`` (``step`` in 1..n_steps), so every configuration
    is compared on the same fold after the same share of training. Nothing is pruned before
    one configuration has run every fold, and fold racing still applies between folds;
    ``n_steps_saved_`` counts the steps that pruned configurations did not train.
    ``best_estimator_`` is refitted in the same ``n_steps`` steps. With ``n_jobs``, the
    configurations run in threads (the pruner is asked after every step, in this process).
    """

    def __init__(
        self,
        estimator: Any,
        param_space: Any,
        *,
        n_trials: int | None = None,
        timeout: float | None = None,
        cv: Any = 5,
        scoring: Any = None,
        refit: bool | str | Any = True,
        n_jobs: int | None = None,
        sampler: Any = None,
        racing: bool | FoldRacing = True,
        pruner: bool | BasePruner | None = None,
        n_steps: int = 10,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        random_state: Any = None,
        storage: Any = None,
        study_name: str | None = None,
        verbose: int = 0,
        outer_cv: Any = None,
    ) -> None:
        self.estimator = estimator
        self.param_space = param_space
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.sampler = sampler
        self.racing = racing
        self.pruner = pruner
        self.n_steps = n_steps
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.random_state = random_state
        self.storage = storage
        self.study_name = study_name
        self.verbose = verbose
        self.outer_cv = outer_cv

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        raise NotImplementedError(
            "SearchCV schedules folds itself (fold racing); it does not use _run_search."
        )

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **params: Any) -> SearchCV:
        """Search ``param_space``; ``groups`` and fit parameters go in ``params``."""
        check_init_params(self)
        converted = convert_space(self.param_space)
        check_param_names(self.estimator, converted)
        racing = resolve_racing(self.racing)
        pruner = resolve_pruner(self.pruner, self.n_steps)
        if pruner is not None:
            check_iterative(self.estimator)
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        study_seed, split_seed = seeds(self.random_state)
        cv = make_cv(self.cv, y, is_classifier(self.estimator), split_seed)
        # Materialised once: racing compares configurations fold by fold, so every
        # configuration must see the very same splits.
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        if pruner is not None:
            # HistGradientBoosting's early_stopping='auto' turns on above 10,000 rows: known
            # only now, and refused once here rather than as every fold's failure.
            rows = [len(train) for train, _ in splits]
            check_iterative(
                self.estimator, n_samples=max(rows + [_num_samples(X)] * bool(self.refit))
            )

        study = create_study(
            study_name=self.study_name,
            storage=self.storage,
            direction="maximize",
            sampler=self.sampler
            if self.sampler is not None
            else _default_sampler(converted, study_seed),
            pruner=pruner,
            load_if_exists=True,
        )
        # Before any trial: a stored study continued with another scoring would rank the values
        # of two metrics together (f1_macro beside neg_log_loss), and its sampler learn from both.
        multimetric = not (
            self.scoring is None or callable(self.scoring) or isinstance(self.scoring, str)
        )
        record_metric(
            study,
            metric_name(self.scoring, self.refit, self.estimator),
            owner="SearchCV",
            param="refit" if multimetric else "scoring",
        )
        self.study_ = study
        points = None
        if converted.finite and self.sampler is None:
            points = converted.enumerate()
            if self.n_trials is not None and self.n_trials < len(points):
                order = np.random.default_rng(split_seed).permutation(len(points))
                points = [points[i] for i in order[: self.n_trials]]
            elif self.n_trials is not None and self.n_trials > len(points):
                # As RandomizedSearchCV says it: a budget the grid cannot use is a surprise.
                warnings.warn(
                    f"The space holds {len(points)} configurations, fewer than "
                    f"n_trials={self.n_trials}; running {len(points)}.",
                    UserWarning,
                    stacklevel=2,
                )
        budget: float
        if self.n_trials is not None:
            budget = self.n_trials
        elif converted.finite:
            # A sampler of the user's choosing picks among the grid's points, as many times as
            # there are points (it may repeat some: that is the sampler's choice).
            budget = len(points) if points is not None else len(converted.enumerate())
        elif self.timeout is not None:
            # The timeout is the budget: a count of RandomizedSearchCV's n_iter would end a
            # search given minutes after a few seconds.
            budget = math.inf
        else:
            budget = DEFAULT_N_TRIALS
        # The AutoSampler sizes its quasi-random start to the budget (a quarter of a short one).
        self.study_.sampler.plan(
            self.study_, None if self.timeout is not None else budget, effective_n_jobs(self.n_jobs)
        )
        if callable(self.scoring) and isinstance(self.refit, str):
            # A callable may return a dict of metrics, which shows only once it has scored;
            # `refit` then names the one to race, report and estimate on, as with a dict
            # `scoring` (a callable returning a number has no keys to look it up in).
            metric = self.refit
        else:
            metric = refit_metric if isinstance(refit_metric, str) else "score"
        record_scorer = _recording_scorer(
            scorers, refit_metric, self.estimator, splits, _num_samples(X)
        )
        iterative = None
        if pruner is not None:
            iterative = IterativeFit(
                n_steps=int(self.n_steps),
                scorer=scorers,
                metric=metric,
                fit_params=routed.estimator.fit,
                score_params=routed.scorer.score,
                return_train_score=self.return_train_score,
                error_score=self.error_score,
                labels=all_labels(y) if is_classifier(self.estimator) else None,
                record_scorer=record_scorer,
            )

        runner = _Runner(
            search=self,
            converted=converted,
            racing=racing,
            base=clone(self.estimator),
            X=X,
            y=y,
            splits=splits,
            fit_kwargs=_fit_kwargs(
                scorer=scorers,
                fit_params=routed.estimator.fit,
                score_params=routed.scorer.score,
                return_train_score=self.return_train_score,
                error_score=self.error_score,
            ),
            metric=metric,
            iterative=iterative,
            record_scorer=record_scorer,
        )
        candidates = runner.run(budget, points)
        all_folds = [res for c in candidates for res in c.folds.values()]
        report_fit_failures(all_folds, len(candidates))
        report_no_finite_score(
            [c.state for c in candidates],
            self.scoring,
            [
                [r["fit_error"] for r in c.folds.values() if r["fit_error"] is not None]
                for c in candidates
            ],
        )

        first = next(r["test_scores"] for r in all_folds if r["fit_error"] is None)
        self.multimetric_ = isinstance(first, dict)
        metrics = list(first) if self.multimetric_ else ["score"]
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        results = build_cv_results(
            candidates,
            metrics,
            self.return_train_score,
            n_steps=None if iterative is None else iterative.n_steps,
        )

        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric, results))
            if callable(self.refit):
                _check_refit_choice(self.best_index_, results, self.n_splits_)
            else:
                self.best_score_ = float(results[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self._refit(X, y, routed.estimator.fit, iterative)
        self.scorer_ = scorers._scorers if hasattr(scorers, "_scorers") else scorers
        self.cv_results_ = results

        race_metric = runner.metric if runner.metric in metrics else metrics[0]
        full = [c.scores("test_scores", race_metric) for c in candidates if c.state == "COMPLETE"]
        # Stopped by the pruner, by racing or as duplicates (those skip whole folds).
        stopped = [c for c in candidates if c.state in ("PRUNED", "DUPLICATE")]
        self.n_folds_saved_ = int(sum(self.n_splits_ - len(c.folds) for c in stopped))
        self.n_steps_saved_: int | None = None
        if iterative is not None:
            per_configuration = self.n_splits_ * iterative.n_steps
            self.n_steps_saved_ = int(sum(per_configuration - c.n_steps_trained for c in stopped))
        self.generalization_ = estimate(
            np.array(full).reshape(-1, self.n_splits_),
            n_folds_evaluated=len(all_folds),
            n_folds_saved=self.n_folds_saved_,
            seed=split_seed,
            sample_bbc=_sample_bbc(
                candidates,
                splits,
                y,
                record_scorer,
                self.estimator,
                race_metric,
                split_seed,
                n_rows=_num_samples(X),
                score_params=routed.scorer.score,
            ),
        )
        if self.outer_cv is not None:
            self._add_nested(self.generalization_, X, y, params)
        warn_if_optimistic(self.generalization_)
        warn_if_many_duplicates(candidates)
        if self.verbose:
            g = self.generalization_
            pruning = ""
            if iterative is not None:
                total = len(candidates) * self.n_splits_ * iterative.n_steps
                pruning = (
                    f"; pruning and racing saved {self.n_steps_saved_} of {total} training "
                    f"steps ({self.n_steps_saved_ / total:.0%})"
                )
            print(
                f"[SearchCV] {len(candidates)} configurations, {len(all_folds)} fits; "
                f"{self.n_folds_saved_} fold fits skipped (raced out, pruned or duplicate)"
                f"{pruning}. Best CV "
                f"{g.best_cv_score:.4g}, corrected {g.corrected_score:.4g} ({g.method})."
            )
        return self

    def _refit(
        self, X: Any, y: Any, fit_params: dict[str, Any], iterative: IterativeFit | None
    ) -> None:
        # Parameters are cloned too: they may be estimators (searching over pipeline steps).
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False)
        )
        began = time.perf_counter()
        if iterative is not None:
            refit_iteratively(iterative, self.best_estimator_, X, y, fit_params)
        elif y is not None:
            self.best_estimator_.fit(X, y, **fit_params)
        else:
            self.best_estimator_.fit(X, **fit_params)
        self.refit_time_ = time.perf_counter() - began
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    def _add_nested(self, gen: Generalization, X: Any, y: Any, params: dict[str, Any]) -> None:
        from ._nested import nested_cv_score

        params = dict(params)
        groups = params.pop("groups", None)
        nested = nested_cv_score(self, X, y, cv=self.outer_cv, groups=groups, **params)
        gen.nested_cv_score = nested.mean
        gen.nested_cv_std = nested.std
        gen.nested_cv_scores = [float(s) for s in nested.scores]


def _fit_kwargs(**kwargs: Any) -> dict[str, Any]:
    accepted = signature(_fit_and_score).parameters
    if "score_params" not in accepted:  # scikit-learn < 1.4
        kwargs.pop("score_params")
    kwargs.update(verbose=0, return_n_test_samples=True, return_times=True)
    return kwargs


def _default_sampler(converted: Any, seed: int | None) -> Any:
    """The AutoSampler, with a quasi-random start sized to the space.

    A search over a few hyperparameters runs tens of configurations, each costing k fits; ten
    space-filling points before the Gaussian process takes over would spend a third of such a
    budget. 2d + 1 points (at least 3, at most 10) pin down the GP's length scales on d
    parameters, as is usual in Bayesian optimization.
    """
    from ..samplers import AutoSampler

    n_params = len(converted.decoders)
    return AutoSampler(seed=seed, n_startup_trials=min(10, max(3, 2 * n_params + 1)))


def _fit_score_record(
    estimator: Any, X: Any, y: Any, *, record_scorer: Any, fingerprint: bool = False, **kwargs: Any
) -> dict[str, Any]:
    """``_fit_and_score``, plus the fold's test predictions when BBC-CV will need them, and a
    fingerprint of the fitted model when duplicates are looked for.

    Both are taken here, in the worker, so that only arrays travel back and no fitted model
    outlives its fold.
    """
    if record_scorer is None and not fingerprint:
        return _fit_and_score(estimator, X, y, **kwargs)
    # One metric, scored once: record while it scores instead of predicting a second time
    # (on cheap models the second pass was a sixth of a configuration's time).
    single_pass = (
        record_scorer is not None
        and not kwargs.get("return_train_score")
        and not hasattr(kwargs["scorer"], "_scorers")
    )
    recording = ScoreAndRecord(record_scorer) if single_pass else None
    scorer = recording if recording is not None else kwargs["scorer"]
    result = _fit_and_score(estimator, X, y, return_estimator=True, **{**kwargs, "scorer": scorer})
    fitted = result.pop("estimator")
    if result["fit_error"] is not None:
        return result
    test = kwargs["test"]
    X_test = _safe_indexing(X, test)
    outputs = None
    if recording is not None:
        outputs = recording.outputs
    elif record_scorer is not None:
        y_test = None if y is None else _safe_indexing(y, test)
        score_params = _check_method_params(
            X, params=kwargs.get("score_params") or {}, indices=test
        )
        try:
            outputs = record_predictions(record_scorer, fitted, X_test, y_test, **score_params)
        except Exception:  # the estimate falls back to folds; the search itself goes on
            outputs = None
    if outputs is not None:
        result["oof"] = outputs
    if fingerprint:
        key = fold_fingerprint(fitted, X_test, outputs, result["test_scores"])
        if key:
            result["fingerprint"] = key
    return result


def _recording_scorer(
    scorers: Any, refit_metric: Any, estimator: Any, splits: list[Any], n_rows: int
) -> Any:
    """The scorer whose out-of-fold predictions BBC-CV bootstraps, or None when it cannot.

    Per-row bootstrapping needs every row predicted exactly once (KFold-like splits, not
    ShuffleSplit or repeated CV) and a scorer whose predictions can be captured and whose score
    is a mean over rows (``_bbc.averages_over_rows``): for any other, pooled rows measure
    another quantity than the mean of the fold scores. None also spares the recording.
    """
    tested = np.concatenate([np.asarray(test) for _, test in splits])
    if len(tested) != n_rows or not np.array_equal(np.sort(tested), np.arange(n_rows)):
        return None
    scorer = scorers
    if hasattr(scorers, "_scorers"):
        if not isinstance(refit_metric, str) or refit_metric not in scorers._scorers:
            return None
        scorer = scorers._scorers[refit_metric]
    return replayable_scorer(scorer, estimator)


def _sample_bbc(
    candidates: list[Candidate],
    splits: list[Any],
    y: Any,
    scorer: Any,
    estimator: Any,
    metric: str,
    seed: int,
    *,
    n_rows: int,
    score_params: Any = None,
) -> float | None:
    """Per-row BBC-CV over the configurations that finished every fold (None: not possible).

    ``n_rows`` is the number of rows of X: the test folds cover them all (checked when the
    recording scorer was chosen), but a training set may skip some (purged or embargoed
    K-fold), so one split's train and test sizes need not add up to it.
    """
    if scorer is None or y is None:
        return None
    try:
        complete = [
            c
            for c in candidates
            if c.state == "COMPLETE"
            and all("oof" in c.folds.get(k, {}) for k in range(len(splits)))
        ]
        if len(complete) < 2:
            # Nothing was selected: the CV score itself is the estimate (``estimate``).
            return None
        means = [float(np.mean(c.scores("test_scores", metric))) for c in complete]
        order = np.argsort(-np.nan_to_num(np.asarray(means, float), nan=-np.inf), kind="stable")
        outputs = [
            assemble(
                [
                    (np.asarray(splits[k][1]), complete[i].folds[k]["oof"])
                    for k in range(len(splits))
                ],
                n_rows,
            )
            for i in order
        ]
        y_arr = np.asarray(y)
        classes = np.unique(y_arr) if is_classifier(estimator) else None
        # Compared with the mean of the fold scores, the bootstrap must weigh rows as that mean
        # does: unweighted, unequal folds made a "selection optimism" out of fold sizes alone.
        score_params = fold_balanced_params(
            score_params, [np.asarray(test) for _, test in splits], n_rows
        )
        if score_params is None:
            return None
        value = bbc_cv_predictions(
            outputs,
            y_arr,
            scorer,
            tags=estimator.__sklearn_tags__(),
            classes=classes,
            seed=seed,
            score_params=score_params,
        )
    except Exception:  # an estimate, not the search: fall back to the fold-level one
        return None
    return value if math.isfinite(value) else None


def _check_refit_choice(index: int, results: dict[str, Any], n_splits: int) -> None:
    """Refuse a ``refit`` callable's choice of a row that was not cross-validated on every fold.

    Such a row (raced out, pruned, stopped as a duplicate or failed) has a mean over its first
    folds only, which may be easy ones: refitting it would select on a score no full row can be
    compared with. Completing its folds behind the callable's back would change the
    ``cv_results_`` it chose from, so the choice is the caller's to make again.
    """
    done = int(results["n_folds_evaluated"][index])
    if done >= n_splits:
        return
    raise ValueError(
        f"The refit callable chose row {index} of cv_results_ ({results['params'][index]}), "
        f"which was evaluated on {done} of {n_splits} folds only (state "
        f"{results['state'][index]}): its mean covers those folds alone. Choose among the rows "
        f"with cv_results_['n_folds_evaluated'] == {n_splits} (every fold run), e.g. "
        "np.where(r['n_folds_evaluated'] == r['n_folds_evaluated'].max(), "
        "r['mean_test_score'], -np.inf), or pass racing=False (and no pruner) to run every "
        "configuration on every fold."
    )


class _Aborted(Exception):
    """Raised at the next step of every running configuration once one has raised."""


class _Runner:
    """Asks the study for configurations, runs their folds in order and races them."""

    def __init__(
        self,
        *,
        search: SearchCV,
        converted: Any,
        racing: FoldRacing | None,
        base: Any,
        X: Any,
        y: Any,
        splits: list[tuple[np.ndarray, np.ndarray]],
        fit_kwargs: dict[str, Any],
        metric: str,
        iterative: IterativeFit | None = None,
        record_scorer: Any = None,
    ) -> None:
        self.search = search
        self.record_scorer = record_scorer
        self.study = search.study_
        self.converted = converted
        self.racing = racing
        self.base = base
        self.X, self.y = X, y
        self.splits = splits
        self.fit_kwargs = fit_kwargs
        self.metric = metric
        self.stop_on_failure = not isinstance(search.error_score, str) and math.isnan(
            float(search.error_score)
        )
        self.incumbent: np.ndarray | None = None
        # Fold scores of every configuration scored on every fold: the early screen's spread.
        self.finished: list[np.ndarray] = []
        # Model fingerprints on the first `twin_folds` folds of each configuration scored on
        # every fold -> its trial number and CV mean. One fold is not enough: a max_depth the
        # first fold's tree never reaches can matter on the next (seen: the grid's best stopped
        # as a "duplicate" of a worse configuration).
        self.look_for_duplicates = racing is not None and racing.stop_duplicates
        self.twin_folds = min(racing.min_folds, len(splits)) if racing is not None else 0
        self.fingerprints: dict[tuple[str, ...], tuple[int, float]] = {}
        self.iterative = iterative
        # Pruning mode only: the study, the incumbent and the candidates' states are shared by
        # the configuration threads; one lock around every touch keeps them consistent.
        self.lock = threading.RLock()
        self.abort = threading.Event()

    def _score(self, result: dict[str, Any]) -> float:
        value = result["test_scores"]
        if isinstance(value, dict):
            value = value.get(self.metric, next(iter(value.values())))
        return float(value)

    def run(self, budget: float, points: list[dict[str, Any]] | None) -> list[Candidate]:
        """Evaluate up to ``budget`` configurations (``math.inf``: until the timeout)."""
        if self.iterative is not None:
            return self._run_stepwise(budget, points)

        batch_size = max(1, int(effective_n_jobs(self.search.n_jobs)))
        deadline = None if self.search.timeout is None else time.monotonic() + self.search.timeout
        candidates: list[Candidate] = []
        points = list(points) if points is not None else None
        with Parallel(n_jobs=self.search.n_jobs) as parallel:
            # The first batch always runs: a fitted search needs at least one configuration.
            while len(candidates) < budget and (
                not candidates or deadline is None or time.monotonic() < deadline
            ):
                batch: list[tuple[Any, Candidate]] = []
                # The asks are inside the try: a Ctrl-C while the sampler proposes the batch's
                # second configuration left the first one asked, never told, RUNNING for good.
                try:
                    self._ask(int(min(batch_size, budget - len(candidates))), points, batch)
                    if not batch:
                        break
                    if deadline is None:
                        self._race(parallel, batch)
                    else:
                        self._race_until(parallel, batch, deadline, batch_size)
                except BaseException as exc:
                    self._fail_running(batch, exc)
                    raise
                candidates.extend(cand for _, cand in batch)
        return candidates

    def _ask(
        self, n: int, points: list[dict[str, Any]] | None, into: list[tuple[Any, Candidate]]
    ) -> None:
        """Ask up to ``n`` trials, appending each to ``into`` as soon as the study created it,
        so that the caller can settle every asked trial whatever interrupts the rest."""
        for _ in range(n):
            if points is not None:
                if not points:
                    break
                self.study.enqueue_trial(points.pop(0))
            try:
                trial = self.study.ask(self.converted.space)
            except GridExhausted:
                break
            cand = Candidate({}, len(self.splits), trial_number=trial.number)
            into.append((trial, cand))
            cand.params = self.converted.decode(trial.params)

    def _fail_running(self, asked: list[tuple[Any, Candidate]], exc: BaseException) -> None:
        """Tell the study that every asked trial still running failed with ``exc``; a trial
        left RUNNING would look in progress, and hold its lease, for as long as the study
        lives."""
        reason = stopped_reason(exc, "the search")
        for trial, cand in asked:
            if cand.state != "RUNNING":
                continue
            cand.state = "FAIL"
            try:
                self.study.tell(
                    trial, state=TrialState.FAIL, fail_reason=reason, skip_if_finished=True
                )
            except Exception:  # the storage may be what failed: the first error matters
                pass

    def _race(self, parallel: Parallel, batch: list[tuple[Any, Candidate]]) -> None:
        n_splits = len(self.splits)
        alive = list(batch)
        done = 0
        while alive and done < n_splits:
            if self.racing is None or self.incumbent is None:
                upto = n_splits
            elif self.racing.early_screen:
                upto = done + 1
            else:
                upto = max(done + 1, min(self.racing.min_folds, n_splits))
            tasks = [(trial, cand, k) for trial, cand in alive for k in range(done, upto)]
            self._run_folds(parallel, tasks)
            done = upto
            alive = [(t, c) for t, c in alive if not self._stopped(t, c, done)]
        for trial, cand in alive:
            self._finish(trial, cand)

    def _run_folds(self, parallel: Parallel, tasks: list[tuple[Any, Candidate, int]]) -> None:
        """Fit and score fold ``k`` of each task's configuration, in parallel, and record it."""
        outs = parallel(
            delayed(_fit_score_record)(
                clone(self.base),
                self.X,
                self.y,
                train=self.splits[k][0],
                test=self.splits[k][1],
                parameters=cand.params,
                record_scorer=self.record_scorer,
                fingerprint=k < self.twin_folds and self.look_for_duplicates,
                **self.fit_kwargs,
            )
            for _, cand, k in tasks
        )
        for (trial, cand, k), out in zip(tasks, outs):
            cand.folds[k] = out
            trial.report(self._score(out), k)

    def _race_until(
        self,
        parallel: Parallel,
        batch: list[tuple[Any, Candidate]],
        deadline: float,
        workers: int,
    ) -> None:
        """``_race`` against the clock: folds run in rounds of about ``workers`` fits, and past
        the deadline every configuration stops at its next fold boundary but the one the search
        needs finished.

        ``_race`` ran every fold of a batch in one go, so two configurations' full CV outlasted
        a 10 s timeout by 33 s (QA). Until one configuration has run every fold (nothing to
        select yet), the first one alive must finish and its folds go first, so it is done
        early and the others stop once the time is up; after that nothing must finish.
        """
        n_splits = len(self.splits)
        alive = list(batch)
        while alive:
            must = alive[0][1] if self.incumbent is None else None
            if time.monotonic() >= deadline:
                for trial, cand in alive:
                    if cand is not must:
                        self._out_of_time(trial, cand)
                alive = [(t, c) for t, c in alive if c is must]
                if not alive:
                    break
            # The first configuration's folds go first (it alone must finish), then the next
            # one's, so that about `workers` fits run in each round.
            tasks: list[tuple[Any, Candidate, int]] = []
            for trial, cand in alive:
                done = len(cand.folds)
                step = n_splits
                if self.racing is not None and self.incumbent is not None:
                    # Racing decides after every fold with the early screen, as in _race;
                    # without it, nothing is decided before min_folds.
                    step = 1 if self.racing.early_screen else max(1, self.racing.min_folds - done)
                room = workers - len(tasks)
                tasks.extend(
                    (trial, cand, k) for k in range(done, min(n_splits, done + step, done + room))
                )
                if len(tasks) >= workers:
                    break
            # A worker left idle by racing's one fold at a time takes a configuration's next
            # fold: free in wall time (a lone racer ran half as fast as a batch without it).
            ahead = True
            while len(tasks) < workers and ahead:
                ahead = False
                for trial, cand in alive:
                    k = len(cand.folds) + sum(c is cand for _, c, _ in tasks)
                    if k < n_splits and len(tasks) < workers:
                        tasks.append((trial, cand, k))
                        ahead = True
            self._run_folds(parallel, tasks)
            still = []
            for trial, cand in alive:
                if cand.folds and self._stopped(trial, cand, len(cand.folds)):
                    continue
                if cand.complete:
                    self._finish(trial, cand)
                    continue
                still.append((trial, cand))
            alive = still

    def _out_of_time(self, trial: Any, cand: Candidate) -> None:
        """Stop a configuration the timeout caught between folds, as racing stops one."""
        cand.state = "PRUNED"
        reason = f"time budget ran out (timeout={self.search.timeout}s)"
        trial.set_user_attr("stopped", reason)
        scores = [self._score(cand.folds[k]) for k in range(len(cand.folds))]
        if scores and math.isfinite(float(np.mean(scores))):
            self.study.tell(trial, float(np.mean(scores)), state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.PRUNED)
        if self.search.verbose > 1:
            print(
                f"[SearchCV] trial {trial.number} stopped after {len(cand.folds)}/"
                f"{len(self.splits)} folds: {reason}: {cand.params}"
            )

    def _stopped(self, trial: Any, cand: Candidate, done: int) -> bool:
        scores = np.array([self._score(cand.folds[k]) for k in range(done)])
        failed = [r for r in cand.folds.values() if r["fit_error"] is not None]
        if failed and self.stop_on_failure:
            cand.state = "FAIL"
            reason = error_summary(failed[0]["fit_error"])
            self.study.tell(trial, state=TrialState.FAIL, fail_reason=reason)
            return True
        if cand.complete or self.racing is None or self.incumbent is None:
            return False
        match = self.fingerprints.get(self._twin_key(cand)) if done >= self.twin_folds else None
        if match is not None:
            # The same model: the study learns the twin's full CV score at these parameters
            # (its first-fold score alone would read as a worse point next to an equal one).
            cand.state = "DUPLICATE"
            twin, twin_score = match
            cand.duplicate_of = twin
            trial.set_user_attr("duplicate_of", twin)
            self.study.tell(trial, twin_score)
            if self.search.verbose > 1:
                print(
                    f"[SearchCV] trial {trial.number} stopped after {done}/{len(self.splits)} "
                    f"folds: the same model as trial {twin}: {cand.params}"
                )
            return True
        resolution = score_resolution(
            [*self.finished, scores], [len(test) for _, test in self.splits]
        )
        if self.racing.should_stop(scores, self.incumbent, fold_spread(self.finished), resolution):
            cand.state = "PRUNED"
            self.study.tell(trial, float(scores.mean()), state=TrialState.PRUNED)
            if self.search.verbose > 1:
                print(
                    f"[SearchCV] trial {trial.number} raced out after {done}/"
                    f"{len(self.splits)} folds: {cand.params}"
                )
            return True
        return False

    def _twin_key(self, cand: Candidate) -> tuple[str, ...]:
        """The model fingerprints of the first ``twin_folds`` folds; empty unless all exist."""
        key = tuple(cand.folds.get(k, {}).get("fingerprint", "") for k in range(self.twin_folds))
        return key if key and all(key) else ()

    def _finish(self, trial: Any, cand: Candidate) -> None:
        scores = np.array([self._score(cand.folds[k]) for k in range(len(self.splits))])
        mean = float(scores.mean())
        if not math.isfinite(mean):
            cand.state = "FAIL"
            self.study.tell(trial, state=TrialState.FAIL, fail_reason="non-finite CV score")
            return
        cand.state = "COMPLETE"
        self.study.tell(trial, mean)
        self.finished.append(scores)
        key = self._twin_key(cand)
        if key:
            self.fingerprints.setdefault(key, (trial.number, mean))
        if self.incumbent is None or mean > float(self.incumbent.mean()):
            self.incumbent = scores
        if self.search.verbose > 1:
            print(f"[SearchCV] trial {trial.number}: {mean:.4g} {cand.params}")

    # -- pruning over iterations ---------------------------------------------------------------
    # Why threads and not joblib's processes: the pruner lives in this process and must be
    # asked after every training step, with the other configurations' reports up to date. So
    # each configuration runs its folds in order inside one thread (n_jobs threads), and a new
    # configuration starts as soon as one ends (pruned ones end early). scikit-learn's heavy
    # loops (SGD epochs, tree building, HistGradientBoosting, BLAS) release the GIL, so the
    # threads do run in parallel.
    def _run_stepwise(self, budget: float, points: list[dict[str, Any]] | None) -> list[Candidate]:
        n_workers = max(1, int(effective_n_jobs(self.search.n_jobs)))
        deadline = None if self.search.timeout is None else time.monotonic() + self.search.timeout
        points = list(points) if points is not None else None
        config = get_config()  # thread-local in scikit-learn: hand it to the workers
        asked: list[tuple[Any, Candidate]] = []
        running: dict[Future[None], Candidate] = {}
        pool = ThreadPoolExecutor(n_workers, "SearchCV") if n_workers > 1 else None
        exhausted = False
        try:
            while True:
                # The first configuration always runs: a fitted search needs one.
                while (
                    not exhausted
                    and len(running) < n_workers
                    and len(asked) < budget
                    and (not asked or deadline is None or time.monotonic() < deadline)
                ):
                    n_asked = len(asked)
                    with self.lock:
                        self._ask(1, points, asked)
                    if len(asked) == n_asked:
                        exhausted = True
                        break
                    if pool is None:
                        self._evaluate(*asked[-1])
                    else:
                        running[pool.submit(self._evaluate, *asked[-1], config)] = asked[-1][1]
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    del running[future]
                    future.result()
        except BaseException as exc:
            self.abort.set()
            wait(running)  # each stops at its next step
            with self.lock:
                self._fail_running(asked, exc)
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return [cand for _, cand in asked]

    def _evaluate(self, trial: Any, cand: Candidate, config: dict[str, Any] | None = None) -> None:
        """All folds of one configuration, in order, each trained step by step."""
        if config is not None:
            with config_context(**config):
                self._evaluate(trial, cand)
            return
        assert self.iterative is not None
        n_steps = self.iterative.n_steps
        for k, (train, test) in enumerate(self.splits):

            def on_step(step: int, score: float, k: int = k) -> bool:
                return self._on_step(trial, k, step, score)

            outcome = fit_fold(
                self.iterative,
                clone(self.base),
                self.X,
                self.y,
                train=train,
                test=test,
                parameters=cand.params,
                on_step=on_step,
                fingerprint=k < self.twin_folds and self.look_for_duplicates,
            )
            cand.n_steps_trained += outcome.steps
            with self.lock:
                if outcome.result is None:
                    self._prune(trial, cand, k, outcome.steps)
                    return
                cand.folds[k] = outcome.result
                if outcome.result["fit_error"] is not None:
                    # Failed mid-fold: the fold's score (error_score) stands at its last step.
                    trial.report(self._score(outcome.result), (k + 1) * n_steps)
                if self._stopped(trial, cand, k + 1):
                    return
                if outcome.pruned:
                    self._prune(trial, cand, k, n_steps)
                    return
        with self.lock:
            self._finish(trial, cand)

    def _on_step(self, trial: Any, fold: int, step: int, score: float) -> bool:
        if self.abort.is_set():
            raise _Aborted
        assert self.iterative is not None
        n_steps = self.iterative.n_steps
        with self.lock:
            # The same global step for every configuration: same fold, same share of training.
            trial.report(score, fold * n_steps + step)
            # No pruning before a configuration has run every fold: the search must end with
            # a full CV score to select, and a pruner with nothing finished to compare with
            # (ThresholdPruner, say) could otherwise stop them all. At the very last step there
            # is nothing left to save.
            if self.incumbent is None or (fold == len(self.splits) - 1 and step == n_steps):
                return False
            return bool(trial.should_prune())

    def _prune(self, trial: Any, cand: Candidate, fold: int, step: int) -> None:
        cand.state = "PRUNED"
        self.study.tell(trial, state=TrialState.PRUNED)
        if self.search.verbose > 1:
            assert self.iterative is not None
            print(
                f"[SearchCV] trial {trial.number} pruned at fold {fold + 1}/{len(self.splits)}, "
                f"step {step}/{self.iterative.n_steps}: {cand.params}"
            )
