"""SearchCV: a drop-in for GridSearchCV / RandomizedSearchCV backed by a tunelab study.

Why subclass ``BaseSearchCV`` but override ``fit``: the base class brings the delegation that
users rely on (``predict``, ``predict_proba``, ``score``, ``classes_``, tags, metadata
routing, the multi-metric ``refit`` rules) and keeps ``isinstance(s, BaseSearchCV)`` true for
tools that look for it. Its ``_run_search(evaluate_candidates)`` hook, however, scores each
candidate on every fold before returning, which is exactly what fold racing must not do, and
a study proposes one configuration at a time from what it has seen. So ``fit`` is our own:
ask the study, run folds in order, race, tell the study, and build ``cv_results_`` with the
same keys as GridSearchCV.
"""

from __future__ import annotations

import math
import time
from inspect import signature
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import _fit_and_score
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, indexable

from .._frozen import TrialState
from .._study import create_study
from ..exceptions import GridExhausted
from ._checks import check_init_params, make_cv, seeds
from ._failures import error_summary, report_fit_failures
from ._generalization import Generalization, estimate, warn_if_optimistic
from ._racing import FoldRacing, resolve_racing
from ._results import Candidate, build_cv_results
from ._space import check_param_names, convert_space

# RandomizedSearchCV's n_iter default, for spaces that cannot be enumerated.
DEFAULT_N_TRIALS = 10


class SearchCV(BaseSearchCV):
    """Hyperparameter search with cross-validation, fold racing and honest estimates.

    Parameters follow GridSearchCV/RandomizedSearchCV. ``param_space`` maps parameter names
    (``clf__C`` for pipeline steps) to lists of values, tunelab distributions, bounded scipy
    frozen distributions or conditional dicts; a list of such dicts works like a list of grids.
    ``n_trials=None`` evaluates every point of an all-list space (like GridSearchCV) and 10
    sampled configurations otherwise. An int ``cv`` gives shuffled (Stratified)KFold seeded by
    ``random_state``; pass a splitter for other splits. ``racing`` (True, False or a
    :class:`FoldRacing`) stops configurations that are clearly worse than the incumbent on the
    folds seen so far. ``n_jobs`` runs that many configurations at once, their folds in
    parallel through joblib. ``outer_cv`` adds a nested CV estimate to ``generalization_``.
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

        self.study_ = create_study(
            study_name=self.study_name,
            storage=self.storage,
            direction="maximize",
            sampler=self.sampler,
            seed=study_seed if self.sampler is None else None,
            load_if_exists=True,
        )
        points = None
        if converted.finite and self.sampler is None:
            points = converted.enumerate()
            if self.n_trials is not None and self.n_trials < len(points):
                order = np.random.default_rng(split_seed).permutation(len(points))
                points = [points[i] for i in order[: self.n_trials]]
        budget = self.n_trials or (len(points) if points is not None else DEFAULT_N_TRIALS)

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
            metric=refit_metric if isinstance(refit_metric, str) else "score",
        )
        candidates = runner.run(budget, points)
        all_folds = [res for c in candidates for res in c.folds.values()]
        report_fit_failures(all_folds, len(candidates))

        first = next(r["test_scores"] for r in all_folds if r["fit_error"] is None)
        self.multimetric_ = isinstance(first, dict)
        metrics = list(first) if self.multimetric_ else ["score"]
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        results = build_cv_results(candidates, metrics, self.return_train_score)

        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric, results))
            if not callable(self.refit):
                self.best_score_ = float(results[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self._refit(X, y, routed.estimator.fit)
        self.scorer_ = scorers._scorers if hasattr(scorers, "_scorers") else scorers
        self.cv_results_ = results

        race_metric = runner.metric if runner.metric in metrics else metrics[0]
        full = [c.scores("test_scores", race_metric) for c in candidates if c.state == "COMPLETE"]
        self.n_folds_saved_ = int(
            sum(self.n_splits_ - len(c.folds) for c in candidates if c.state == "PRUNED")
        )
        self.generalization_ = estimate(
            np.array(full).reshape(-1, self.n_splits_),
            n_folds_evaluated=len(all_folds),
            n_folds_saved=self.n_folds_saved_,
            seed=split_seed,
        )
        if self.outer_cv is not None:
            self._add_nested(self.generalization_, X, y, params)
        warn_if_optimistic(self.generalization_)
        if self.verbose:
            g = self.generalization_
            print(
                f"[SearchCV] {len(candidates)} configurations, {len(all_folds)} fits; racing "
                f"saved {self.n_folds_saved_} fold fits. Best CV {g.best_cv_score:.4g}, "
                f"corrected {g.corrected_score:.4g} ({g.method})."
            )
        return self

    def _refit(self, X: Any, y: Any, fit_params: dict[str, Any]) -> None:
        # Parameters are cloned too: they may be estimators (searching over pipeline steps).
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False)
        )
        began = time.perf_counter()
        if y is not None:
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
    ) -> None:
        self.search = search
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

    def _score(self, result: dict[str, Any]) -> float:
        value = result["test_scores"]
        if isinstance(value, dict):
            value = value.get(self.metric, next(iter(value.values())))
        return float(value)

    def run(self, budget: int, points: list[dict[str, Any]] | None) -> list[Candidate]:
        from joblib import effective_n_jobs

        batch_size = max(1, int(effective_n_jobs(self.search.n_jobs)))
        deadline = None if self.search.timeout is None else time.monotonic() + self.search.timeout
        candidates: list[Candidate] = []
        points = list(points) if points is not None else None
        with Parallel(n_jobs=self.search.n_jobs) as parallel:
            # The first batch always runs: a fitted search needs at least one configuration.
            while len(candidates) < budget and (
                not candidates or deadline is None or time.monotonic() < deadline
            ):
                batch = self._ask(min(batch_size, budget - len(candidates)), points)
                if not batch:
                    break
                try:
                    self._race(parallel, batch)
                except BaseException:
                    for trial, cand in batch:
                        if cand.state == "RUNNING":
                            cand.state = "FAIL"
                            self.study.tell(trial, state=TrialState.FAIL, fail_reason="aborted")
                    raise
                candidates.extend(cand for _, cand in batch)
        return candidates

    def _ask(self, n: int, points: list[dict[str, Any]] | None) -> list[tuple[Any, Candidate]]:
        batch = []
        for _ in range(n):
            if points is not None:
                if not points:
                    break
                self.study.enqueue_trial(points.pop(0))
            try:
                trial = self.study.ask(self.converted.space)
            except GridExhausted:
                break
            params = self.converted.decode(trial.params)
            batch.append((trial, Candidate(params, len(self.splits), trial_number=trial.number)))
        return batch

    def _race(self, parallel: Parallel, batch: list[tuple[Any, Candidate]]) -> None:
        n_splits = len(self.splits)
        alive = list(batch)
        done = 0
        while alive and done < n_splits:
            if self.racing is None or self.incumbent is None:
                upto = n_splits
            else:
                upto = max(done + 1, min(self.racing.min_folds, n_splits))
            tasks = [(trial, cand, k) for trial, cand in alive for k in range(done, upto)]
            outs = parallel(
                delayed(_fit_and_score)(
                    clone(self.base),
                    self.X,
                    self.y,
                    train=self.splits[k][0],
                    test=self.splits[k][1],
                    parameters=cand.params,
                    **self.fit_kwargs,
                )
                for _, cand, k in tasks
            )
            for (trial, cand, k), out in zip(tasks, outs):
                cand.folds[k] = out
                trial.report(self._score(out), k)
            done = upto
            alive = [(t, c) for t, c in alive if not self._stopped(t, c, done)]
        for trial, cand in alive:
            self._finish(trial, cand)

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
        if self.racing.should_stop(scores, self.incumbent):
            cand.state = "PRUNED"
            self.study.tell(trial, float(scores.mean()), state=TrialState.PRUNED)
            if self.search.verbose > 1:
                print(
                    f"[SearchCV] trial {trial.number} raced out after {done}/"
                    f"{len(self.splits)} folds: {cand.params}"
                )
            return True
        return False

    def _finish(self, trial: Any, cand: Candidate) -> None:
        scores = np.array([self._score(cand.folds[k]) for k in range(len(self.splits))])
        mean = float(scores.mean())
        if not math.isfinite(mean):
            cand.state = "FAIL"
            self.study.tell(trial, state=TrialState.FAIL, fail_reason="non-finite CV score")
            return
        cand.state = "COMPLETE"
        self.study.tell(trial, mean)
        if self.incumbent is None or mean > float(self.incumbent.mean()):
            self.incumbent = scores
        if self.search.verbose > 1:
            print(f"[SearchCV] trial {trial.number}: {mean:.4g} {cand.params}")
