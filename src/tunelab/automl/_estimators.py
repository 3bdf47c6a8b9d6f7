"""AutoClassifier and AutoRegressor: the whole search behind one scikit-learn estimator."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from .._validation import fail, is_int, is_real
from ..exceptions import InvalidParameterError
from ._ensemble import Ensemble, greedy_selection
from ._metric import check_metric_fits, metric_problem, resolve_metric, score_predictions
from ._preprocess import ColumnTyper, to_frame
from ._search import (
    Candidate,
    SearchData,
    SearchFailedError,
    SearchResult,
    predict_block,
    ranked,
    run_search,
    threads,
)
from ._zoo import (
    CLASSIFICATION,
    REGRESSION,
    build_pipeline,
    build_space,
    choose_families,
    default_configurations,
    fit_pipeline,
)

# Hold out this share of the rows for the generalization estimate once there are enough of
# them for the estimate to mean something.
HOLDOUT_FRACTION = 0.15
HOLDOUT_MIN_ROWS = 500
# Candidates ensemble selection draws from (by CV score).
ENSEMBLE_POOL = 15
# Part of the budget kept back for what follows the search besides refits (selection, timing
# noise); the search stops this much earlier.
SLACK_FRACTION = 0.04
SLACK_MIN_SECONDS = 0.15

_clock = time.perf_counter


class _AutoBase(BaseEstimator):
    _task: str

    def __init__(
        self,
        time_budget: float = 60,
        metric: str | Callable[..., float] | None = None,
        cv: int | Any = 5,
        n_jobs: int | None = None,
        ensemble_size: int = 25,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        max_trials: int | None = None,
        storage: Any = None,
        study_name: str | None = None,
        random_state: int | None = None,
        verbose: int = 1,
    ) -> None:
        self.time_budget = time_budget
        self.metric = metric
        self.cv = cv
        self.n_jobs = n_jobs
        self.ensemble_size = ensemble_size
        self.include = include
        self.exclude = exclude
        self.max_trials = max_trials
        self.storage = storage
        self.study_name = study_name
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = True  # a time budget makes the number of trials vary
        return tags

    # -- checks ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        owner = type(self).__name__
        if (
            not is_real(self.time_budget)
            or not math.isfinite(self.time_budget)
            or self.time_budget <= 0
        ):
            raise fail("time_budget", owner, "a positive number of seconds", self.time_budget)
        if is_int(self.cv):
            if self.cv < 2:
                raise fail("cv", owner, "an int >= 2 or a scikit-learn splitter", self.cv)
        elif not (hasattr(self.cv, "split") and hasattr(self.cv, "get_n_splits")):
            raise fail("cv", owner, "an int >= 2 or a scikit-learn splitter", self.cv)
        if self.n_jobs is not None and (not is_int(self.n_jobs) or self.n_jobs == 0):
            raise fail("n_jobs", owner, "a non-zero int or None", self.n_jobs)
        if not is_int(self.ensemble_size) or self.ensemble_size < 0:
            raise fail("ensemble_size", owner, "a non-negative int", self.ensemble_size)
        if self.max_trials is not None and (not is_int(self.max_trials) or self.max_trials < 1):
            raise fail("max_trials", owner, "a positive int or None", self.max_trials)
        if not is_int(self.verbose) or self.verbose < 0:
            raise fail("verbose", owner, "a non-negative int", self.verbose)
        if self.random_state is not None and (
            not isinstance(self.random_state, Integral) or self.random_state < 0
        ):
            raise fail("random_state", owner, "a non-negative int or None", self.random_state)

    def _check_X(self, X: Any, reset: bool) -> Any:
        import pandas as pd
        from sklearn.utils.validation import check_array, validate_data

        if isinstance(X, pd.DataFrame):
            checked = X
            if len({isinstance(c, str) for c in X.columns}) > 1:
                # scikit-learn refuses mixed str/int labels; the pipelines read columns by
                # position, so the labels, as text, only name and check the columns.
                checked = X.set_axis([str(c) for c in X.columns], axis=1)
            validate_data(self, checked, reset=reset, skip_check_array=True)
            if X.shape[0] < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}); need >= 1.")
            # Arrays are checked by check_array; a frame's infinities would fail every pipeline
            # one by one until the budget is spent (seen: 152 failed pipelines, then the error).
            numeric = X.select_dtypes("number")
            infinite = [
                str(c)
                for c in numeric.columns
                if np.isinf(numeric[c].to_numpy(dtype=float, na_value=np.nan)).any()
            ]
            _refuse_infinity(infinite)
            return X.reset_index(drop=True)
        raw = np.asarray(X) if not hasattr(X, "tocsr") else None
        if raw is not None and raw.ndim == 2 and raw.dtype.kind == "f":
            # check_array would say only "Input contains infinity": name the columns, as above.
            _refuse_infinity([str(i) for i in np.flatnonzero(np.isinf(raw).any(axis=0))])
        arr = check_array(X, dtype=None, ensure_all_finite="allow-nan", ensure_min_samples=1)
        validate_data(self, arr, reset=reset, skip_check_array=True)
        if arr.dtype.kind in "fiub":
            arr = arr.astype(float)
        return to_frame(arr)

    def _check_weight_per_fold(
        self,
        weight: np.ndarray,
        train_idx: np.ndarray,
        hold_idx: np.ndarray | None,
        splits: list[tuple[np.ndarray, np.ndarray]],
    ) -> None:
        # A fold whose rows all weigh 0 fails every pipeline ("Sample weights must contain at
        # least one non-zero number") until the budget is spent; say which fold up front.
        inner = weight[train_idx]
        for k, (train, test) in enumerate(splits):
            for part, rows in (("training", train), ("test", test)):
                if not np.any(inner[rows] > 0):
                    raise ValueError(
                        f"sample_weight of {type(self).__name__}.fit is 0 on every row of CV "
                        f"fold {k}'s {part} part ({len(rows)} rows), so nothing can be fitted "
                        "or scored there; spread the weights, or pass a cv splitter whose "
                        "folds all hold weighted rows."
                    )
        if hold_idx is not None and not np.any(weight[hold_idx] > 0):
            raise ValueError(
                f"sample_weight of {type(self).__name__}.fit is 0 on every row of the "
                f"{len(hold_idx)}-row holdout set aside for generalization_; spread the weights "
                "over the rows."
            )

    def _check_weight(self, sample_weight: Any, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        from sklearn.utils.validation import _check_sample_weight

        # Refuses negative weights and all-zero weights with scikit-learn's own messages.
        return _check_sample_weight(
            sample_weight, np.empty((n, 0)), dtype=np.float64, ensure_non_negative=True
        )

    # -- fit -------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> _AutoBase:
        """Search for ``time_budget`` seconds (refit included); ``progress``, if given, is
        called after every trial with a dict (``n_trials``, ``outcome``, ``best_score``, ...).

        ``sample_weight`` weights every model fit, every fold score, ensemble selection and the
        holdout score; models that take no weights (k-nearest neighbours) are left out."""
        start = _clock()
        self._check_params()
        owner = type(self).__name__
        frame = self._check_X(X, reset=True)
        y_arr, y_codes = self._check_y(y, len(frame))
        weight = self._check_weight(sample_weight, len(frame))
        scorer, metric_name = resolve_metric(self.metric, self._task, owner)
        classes = self._classes_or_none()
        check_metric_fits(scorer, metric_name, self._task, y_arr, classes, owner, weight)
        self.metric_ = metric_name
        self.scorer_ = scorer
        end = start + self.time_budget - max(SLACK_MIN_SECONDS, SLACK_FRACTION * self.time_budget)

        def problem(rows: np.ndarray, weighted: bool = False) -> str | None:
            # Whether the metric can score these rows at all (roc_auc needs both classes,
            # neg_log_loss every class): checked on every fold before the budget is spent.
            # Weights are left to _check_weight_per_fold (its message names them) until the
            # final check.
            w = None if weight is None or not weighted else weight[rows]
            return metric_problem(scorer, self._task, y_arr[rows], classes, w)

        train_idx, hold_idx = self._holdout_split(y_codes)
        self._holdout_note = None
        if hold_idx is not None and problem(hold_idx) is not None:
            # A class too rare to reach the holdout: no holdout, rather than a failed fit.
            self._holdout_note = (
                f"none ({metric_name!r} cannot be scored on a {HOLDOUT_FRACTION:.0%} holdout of "
                "this target: a class is too rare)"
            )
            train_idx, hold_idx = np.arange(len(y_arr)), None
        X_train = frame.iloc[train_idx].reset_index(drop=True)
        X_hold = None if hold_idx is None else frame.iloc[hold_idx].reset_index(drop=True)
        splits = self._splits(X_train, y_codes[train_idx], lambda rows: problem(train_idx[rows]))
        if weight is not None:
            self._check_weight_per_fold(weight, train_idx, hold_idx, splits)
        self._check_folds_score(
            splits, y_codes[train_idx], lambda rows: problem(train_idx[rows], True), metric_name
        )
        typer = ColumnTyper().fit(frame)
        families = choose_families(
            self.include, self.exclude, len(train_idx), self._task, owner, weight is not None
        )
        has_cat = bool(typer.categorical_)
        space = build_space(families, has_cat)
        study = self._study(metric_name)
        data = SearchData(
            X=X_train,
            y=y_arr[train_idx],
            y_codes=y_codes[train_idx],
            classes=self._classes_or_none(),
            task=self._task,
            scorer=scorer,
            splits=splits,
            X_holdout=X_hold,
            n_features=frame.shape[1],
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            refit_rows=len(frame),
            sample_weight=None if weight is None else weight[train_idx],
        )
        result = run_search(
            data,
            study,
            space,
            end,
            self.max_trials,
            progress,
            _clock,
            defaults=default_configurations(families, has_cat),
        )
        self.study_ = study
        self.n_trials_ = result.n_trials
        if not result.candidates:
            self._no_candidate(result)
        if result.cut_short is not None:
            self._warn_cut_short(result.cut_short)
        order = ranked(result.candidates)
        members, weights, oof_single, oof_ensemble = self._select(order, data)
        # The ensemble is used only if it beats the best single pipeline out of fold and its
        # members' refits fit in what is left of the budget.
        remaining = start + self.time_budget - _clock()
        refit_cost = sum(m.refit_estimate(data.growth) for m in members)
        use_ensemble = (
            len(members) > 1 and oof_ensemble > oof_single and refit_cost <= remaining * 0.9
        )
        if not use_ensemble:
            members, weights = [order[0]], [1.0]
        self.leaderboard_ = self._leaderboard(order, members if use_ensemble else [], weights)
        self._refit(frame, y_arr, weight, members, weights, use_ensemble)
        self.cv_score_ = oof_ensemble if use_ensemble else oof_single
        self.generalization_ = self._generalization(
            members, weights, y_arr, weight, hold_idx, oof_single, oof_ensemble, use_ensemble
        )
        self.fit_time_ = _clock() - start
        if self.verbose:
            self._report(result)
        return self

    def _holdout_split(self, y_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        n = len(y_codes)
        idx = np.arange(n)
        if n < HOLDOUT_MIN_ROWS:
            return idx, None
        from sklearn.model_selection import train_test_split

        stratify = y_codes if self._task == CLASSIFICATION else None
        if stratify is not None and np.bincount(y_codes).min() < 2:
            stratify = None
        train, hold = train_test_split(
            idx, test_size=HOLDOUT_FRACTION, random_state=self.random_state, stratify=stratify
        )
        return np.sort(train), np.sort(hold)

    def _splits(
        self,
        X: Any,
        y_codes: np.ndarray,
        problem: Callable[[np.ndarray], str | None] | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The CV folds; ``problem(test_rows)`` says why the metric cannot score a fold."""
        from sklearn.model_selection import KFold, StratifiedKFold

        owner = type(self).__name__
        n = len(y_codes)
        classification = self._task == CLASSIFICATION
        counts = np.bincount(y_codes, minlength=self._n_classes) if classification else None

        def stratified(n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
            splitter = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The least populated class")
                return list(splitter.split(X, y_codes))

        if not is_int(self.cv):
            splits = [(np.asarray(a), np.asarray(b)) for a, b in self.cv.split(X, y_codes)]
        elif counts is not None:
            # StratifiedKFold refuses more folds than the largest class has rows.
            n_splits = min(int(self.cv), n, int(counts.max()))
            if n_splits < 2:
                raise ValueError(
                    f"{owner} needs a class with at least 2 rows for 2-fold stratified CV; got "
                    f"{n} rows with class counts {counts.tolist()}."
                )
            # A class rarer than the folds only misses from some of them; predictions keep a
            # column for every class, so such folds still score with most metrics.
            splits = stratified(n_splits)
            fewer = min(int(self.cv), int(counts.min()))
            if problem is not None and fewer >= 2 and fewer < n_splits:
                if any(problem(test) is not None for _, test in splits):
                    # roc_auc, neg_log_loss, ...: every class in every fold, so no more folds
                    # than the smallest class has rows (all pipelines failed otherwise).
                    splits = stratified(fewer)
        else:
            # Two test rows per fold at least: r2 and other scores are undefined on one row, and
            # every pipeline failed on such folds until the budget was spent.
            n_splits = min(int(self.cv), n // 2)
            if n_splits < 2:
                raise ValueError(
                    f"{owner} needs at least 4 rows for 2-fold CV (2 test rows per fold); "
                    f"got n_samples={n}."
                )
            splitter = KFold(n_splits, shuffle=True, random_state=self.random_state)
            splits = list(splitter.split(X, y_codes))
        if self._task == CLASSIFICATION:
            for train, _ in splits:
                if len(np.unique(y_codes[train])) < 2:
                    raise ValueError(
                        f"{owner} needs at least 2 classes in every CV training fold, and with "
                        f"{n} rows (class counts {np.bincount(y_codes).tolist()}) and "
                        f"cv={self.cv!r} some fold has one; give more rows or fewer folds."
                    )
        return splits

    def _check_folds_score(
        self,
        splits: list[tuple[np.ndarray, np.ndarray]],
        y_codes: np.ndarray,
        problem: Callable[[np.ndarray], str | None],
        metric_name: str,
    ) -> None:
        """Refuse, before the search, folds the metric cannot score (every pipeline failed on
        them until the budget was spent)."""
        for k, (_, test) in enumerate(splits):
            reason = problem(test)
            if reason is None:
                continue
            rare = ""
            if self._task == CLASSIFICATION:
                counts = np.bincount(y_codes, minlength=self._n_classes)
                absent = np.setdiff1d(np.arange(self._n_classes), y_codes[test])
                if len(absent):
                    c = int(absent[np.argmin(counts[absent])])
                    label = self.classes_[c]
                    label = label.item() if isinstance(label, np.generic) else label
                    rare = (
                        f"; the fold lacks class {label!r}, which has {counts[c]} row(s) (class "
                        f"counts {counts.tolist()}): give more rows of it, fewer folds, or a "
                        "metric that scores any fold, such as 'accuracy' or 'balanced_accuracy'"
                    )
            raise ValueError(
                f"{type(self).__name__} cannot score the metric {metric_name!r} on CV fold {k} "
                f"({len(test)} test rows; cv={self.cv!r}): {reason.rstrip('.')}{rare}."
            )

    def _warn_cut_short(self, cut: dict[str, Any]) -> None:
        # Issued here: the search loop silences the warnings of its hundreds of fits.
        hint = "" if cut["model"] == "linear" else ", or include 'linear' (the cheapest model)"
        warnings.warn(
            f"{type(self).__name__}: time_budget={self.time_budget}s is too small for one "
            f"cross-validation of the first pipeline ({cut['model']!r}: {cut['fold_time']:.2f}s "
            f"a fold), so it was scored on {cut['folds']} of its {cut['n_splits']} folds and "
            f"refitted; its CV score covers those folds only. Give a larger time_budget{hint}.",
            UserWarning,
            stacklevel=3,
        )

    def _study(self, metric_name: str) -> Any:
        import tunelab
        from tunelab import samplers

        from .._metric_record import record_metric

        # A model-based sampler from tunelab.samplers when this tunelab has one; otherwise the
        # study's default sampler. Either is seeded by random_state.
        sampler = None
        for name in ("AutoSampler", "TPESampler"):
            cls = getattr(samplers, name, None)
            if cls is not None:
                sampler = cls(seed=self.random_state)
                break
        study = tunelab.create_study(
            study_name=self.study_name,
            storage=self.storage,
            direction="maximize",
            sampler=sampler,
            seed=None if sampler is not None else self.random_state,
            load_if_exists=self.study_name is not None,
        )
        record_metric(study, metric_name, owner=type(self).__name__)
        return study

    def _select(
        self, ranked: list[Candidate], data: SearchData
    ) -> tuple[list[Candidate], list[float], float, float]:
        def oof_score(pred: np.ndarray, rows: np.ndarray | None = None) -> float:
            if rows is None:
                return score_predictions(
                    data.scorer, data.task, data.y, pred, data.K, data.sample_weight, data.classes
                )
            # Only the rows of the folds it ran have out-of-fold predictions.
            weight = data.weights(rows)
            return score_predictions(
                data.scorer, data.task, data.y[rows], pred[rows], data.K, weight, data.classes
            )

        single = oof_score(ranked[0].oof, ranked[0].rows)
        # Ensemble selection pools every row's out-of-fold prediction: only full CV runs.
        pool = [c for c in ranked[:ENSEMBLE_POOL] if not c.partial]
        if self.ensemble_size < 2 or len(pool) < 2:
            return [ranked[0]], [1.0], single, single
        counts, ens = greedy_selection([c.oof for c in pool], oof_score, self.ensemble_size)
        members = [pool[i] for i in counts]
        return members, [float(counts[i]) for i in counts], single, ens

    def _leaderboard(
        self, ranked: list[Candidate], members: list[Candidate], weights: list[float]
    ) -> Any:
        import pandas as pd

        total = sum(weights) if members else 1.0
        weight_of = {m.number: w / total for m, w in zip(members, weights)}
        rows = [
            {
                "trial": c.number,
                "model": c.params["model"],
                "pipeline": c.description,
                "cv_score": c.cv_score,
                "cv_std": c.cv_std,
                "fit_time": c.fit_time,
                "ensemble_weight": weight_of.get(c.number, 0.0),
            }
            for c in ranked
        ]
        return pd.DataFrame(rows)

    def _build(self, params: dict[str, Any], n_rows: int) -> Any:
        return build_pipeline(
            params, self._task, self.n_features_in_, n_rows, self.random_state, self.n_jobs
        )

    def _refit(
        self,
        frame: Any,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        members: list[Candidate],
        weights: list[float],
        use_ensemble: bool,
    ) -> None:
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(threads(self.n_jobs)):
            warnings.simplefilter("ignore")
            fitted = [
                fit_pipeline(self._build(m.params, len(frame)), frame, y, sample_weight)
                for m in members
            ]
        self.best_pipeline_ = fitted[0] if not use_ensemble else None
        self.ensemble_ = None
        if use_ensemble:
            self.ensemble_ = Ensemble(fitted, weights, self._classes_or_none())
            # Refitting the leader as well would cost budget; it is nearly always a member.
            best = max(range(len(members)), key=lambda i: members[i].cv_score)
            self.best_pipeline_ = fitted[best]

    def _generalization(
        self,
        members: list[Candidate],
        weights: list[float],
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        hold_idx: np.ndarray | None,
        oof_single: float,
        oof_ensemble: float,
        use_ensemble: bool,
    ) -> dict[str, Any]:
        cv = oof_ensemble if use_ensemble else oof_single
        report: dict[str, Any] = {
            "metric": self.metric_,
            "cv_score": cv,
            "cv_score_best_single": oof_single,
            "holdout_score": None,
            "gap": None,
            "n_holdout": 0,
            "method": self._holdout_note or f"none (fewer than {HOLDOUT_MIN_ROWS} rows)",
        }
        if hold_idx is None or any(m.holdout is None for m in members):
            return report
        w = np.asarray(weights, float) / float(np.sum(weights))
        pred = sum(wi * m.holdout for wi, m in zip(w, members))
        hold = score_predictions(
            self.scorer_,
            self._task,
            y[hold_idx],
            pred,
            self._n_classes,
            None if sample_weight is None else sample_weight[hold_idx],
            self._classes_or_none(),
        )
        report.update(
            holdout_score=hold,
            gap=cv - hold,
            n_holdout=len(hold_idx),
            method=(
                f"holdout: {HOLDOUT_FRACTION:.0%} of the rows set aside before the search, "
                "scored with the chosen pipeline(s) averaged over their CV fold models"
            ),
        )
        return report

    def _no_candidate(self, result: SearchResult) -> None:
        if result.failures:
            groups = "; ".join(f"{n}x {reason}" for reason, n in result.failures.most_common(3))
            raise SearchFailedError(
                f"All {result.n_failed} evaluated pipelines failed ({groups}). Check the data, "
                "or restrict the models with 'include'."
            )
        raise SearchFailedError(
            f"No pipeline finished cross-validation within time_budget={self.time_budget}s "
            f"({result.n_trials} started). Give a larger time_budget or fewer cv folds."
        )

    def _report(self, result: SearchResult) -> None:
        # Every pipeline in exactly one part, so the parts add up to the total; the ones the
        # budget cut short were left out and the line did not add up.
        budget = result.n_skipped + result.n_stopped
        cut = result.cut_short
        short = "" if cut is None else f" (1 on {cut['folds']} of {cut['n_splits']} folds)"
        print(
            f"{type(self).__name__}: {result.n_trials} pipelines in {self.fit_time_:.1f}s "
            f"({len(result.candidates)} complete{short}, {result.n_raced} raced out, "
            f"{result.n_failed} failed, {budget} cut by the time budget); "
            f"CV {self.metric_} = {self.cv_score_:.4f} "
            f"({'ensemble of ' + str(len(self.ensemble_.members)) if self.ensemble_ else 'single'})",
            file=sys.stderr,
        )

    # -- predict ---------------------------------------------------------------------------
    def _predict_raw(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "best_pipeline_")
        frame = self._check_X(X, reset=False)
        if self.ensemble_ is not None:
            return self.ensemble_._average(frame)
        return predict_block(self.best_pipeline_, frame, self._classes_or_none())

    def _metric_score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "scorer_")
        if sample_weight is None:
            return float(self.scorer_(self, X, y))
        return float(self.scorer_(self, X, y, sample_weight=sample_weight))


class AutoClassifier(ClassifierMixin, _AutoBase):
    """Searches preprocessing and models for ``time_budget`` seconds (final refit included) and
    predicts with the best pipeline, or with an ensemble of the best ones when that scores
    better out of fold. ``metric`` is any scikit-learn scorer name (default ``"accuracy"``).

    Fitted attributes: ``classes_``, ``leaderboard_``, ``best_pipeline_``, ``ensemble_`` (None
    when one pipeline is used), ``generalization_``, ``cv_score_``, ``metric_``, ``study_``,
    ``n_trials_``, ``fit_time_``.
    """

    _task = CLASSIFICATION

    def _check_y(self, y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        y_arr = column_or_1d(
            np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy(), warn=True
        )
        if len(y_arr) != n:
            raise ValueError(f"X has {n} rows but y has {len(y_arr)}; they must match.")
        _refuse_missing_target(y, y_arr, type(self).__name__)
        check_classification_targets(y_arr)
        self.classes_, y_codes = np.unique(y_arr, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got 1 class "
                f"({self.classes_[0]!r})."
            )
        return y_arr, y_codes

    @property
    def _n_classes(self) -> int:
        return len(self.classes_)

    def _classes_or_none(self) -> np.ndarray | None:
        return self.classes_

    # ClassifierMixin precedes _AutoBase in the MRO (scikit-learn needs mixins first), so its
    # accuracy-only score would win without this override.
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The fitted metric (``metric_``) on ``X, y``; larger is better."""
        return self._metric_score(X, y, sample_weight)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._predict_raw(X)

    def predict(self, X: Any) -> np.ndarray:
        proba = self._predict_raw(X)
        return self.classes_[np.argmax(proba, axis=1)]


class AutoRegressor(RegressorMixin, _AutoBase):
    """The regression twin of :class:`AutoClassifier`; ``metric`` defaults to ``"r2"``."""

    _task = REGRESSION

    def _check_y(self, y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.utils.validation import column_or_1d

        y_arr = column_or_1d(
            np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy(), warn=True
        )
        if len(y_arr) != n:
            raise ValueError(f"X has {n} rows but y has {len(y_arr)}; they must match.")
        _refuse_missing_target(y, y_arr, type(self).__name__)
        try:
            y_arr = y_arr.astype(float)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"{type(self).__name__} needs a numeric target; y has values like {y_arr[0]!r}. "
                "Use AutoClassifier for class labels."
            ) from None
        if not np.all(np.isfinite(y_arr)):
            raise ValueError(
                f"{type(self).__name__}: y{_named(y)} contains infinity; drop those rows first."
            )
        return y_arr, y_arr

    @property
    def _n_classes(self) -> int:
        return 0

    def _classes_or_none(self) -> np.ndarray | None:
        return None

    # RegressorMixin precedes _AutoBase in the MRO, so its r2-only score would win otherwise.
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The fitted metric (``metric_``) on ``X, y``; larger is better."""
        return self._metric_score(X, y, sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        return self._predict_raw(X)


def _named(y: Any) -> str:
    name = getattr(y, "name", None)
    return "" if name is None else f" (column {name!r})"


def _refuse_missing_target(y: Any, y_arr: np.ndarray, owner: str) -> None:
    """A missing label failed deep in scikit-learn: "Unknown label type: unknown" for text
    labels, a cast warning and "Input y contains NaN" for numbers."""
    import pandas as pd

    # pd.isna covers None, NaN, pd.NA and NaT in object arrays, which np.isnan cannot read.
    missing = np.flatnonzero(pd.isna(y_arr))
    if len(missing):
        rows = ", ".join(map(str, missing[:5].tolist())) + (", ..." if len(missing) > 5 else "")
        raise ValueError(
            f"{owner}: y{_named(y)} is missing in {len(missing)} of {len(y_arr)} rows "
            f"(positions {rows}); a row without a target can be neither fitted nor scored, so "
            "drop those rows from X and y first."
        )


def _refuse_infinity(columns: list[str]) -> None:
    if columns:
        raise ValueError(
            f"Input X contains infinity in column(s) {', '.join(columns[:5])}; replace it with "
            "NaN (missing values are imputed) or drop those rows."
        )
