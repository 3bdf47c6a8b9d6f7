"""Run a job file: tune a scikit-learn estimator with cross-validation, then score the best
configuration once on a held-out test split the search never saw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._jobfile import JobFileError, JobSpec
from ._space import sample_space
from ._study import Study, create_study
from .exceptions import TrialPruned


@dataclass
class TuneResult:
    study: Study
    best_params: dict[str, Any]
    cv_score: float
    test_score: float
    scoring: str
    n_train: int
    n_test: int


def load_data(job: JobSpec) -> tuple[Any, np.ndarray, bool]:
    """Features, target, and whether the task is classification."""
    if job.dataset.builtin is not None:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{job.dataset.builtin}")()
        return bunch.data, bunch.target, job.dataset.builtin != "diabetes"
    import pandas as pd

    assert job.dataset.csv is not None and job.dataset.target is not None
    try:
        frame = pd.read_csv(job.dataset.csv)
    except (OSError, ValueError) as exc:
        raise JobFileError(
            f"{job.path}: dataset.csv: cannot read {job.dataset.csv} ({exc})"
        ) from None
    if job.dataset.target not in frame.columns:
        raise JobFileError(
            f"{job.path}: dataset.target: column {job.dataset.target!r} is not in {job.dataset.csv.name} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    frame = frame.dropna(subset=[job.dataset.target])
    y = frame.pop(job.dataset.target).to_numpy()
    classification = not np.issubdtype(y.dtype, np.floating) or len(np.unique(y)) <= 20
    return frame, y, classification


def _preprocessor(X: Any, scale: bool) -> Any:
    """Impute and encode table columns; scale numbers when asked (linear models, SVMs)."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    if not hasattr(X, "dtypes"):
        return (
            make_pipeline(*numeric)
            if scale or np.isnan(np.asarray(X, float)).any()
            else "passthrough"
        )
    return ColumnTransformer(
        [
            ("num", make_pipeline(*numeric), make_column_selector(dtype_include="number")),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                make_column_selector(dtype_exclude="number"),
            ),
        ]
    )


def build_pipeline(job: JobSpec, X: Any) -> Any:
    from sklearn.pipeline import Pipeline

    from ._jobfile import load_estimator_class

    cls = load_estimator_class(job.path, job.estimator)
    model = cls(**job.params)
    return Pipeline([("prep", _preprocessor(X, job.scale)), ("model", model)])


def make_objective(job: JobSpec, X: Any, y: np.ndarray, classification: bool) -> Any:
    """Cross-validate one configuration fold by fold, reporting each fold so a pruner can stop it."""
    from sklearn.base import clone
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import KFold, StratifiedKFold

    pipeline = build_pipeline(job, X)
    scorer = check_scoring(pipeline, scoring=job.scoring)
    splitter_cls = StratifiedKFold if classification else KFold
    folds = list(splitter_cls(job.cv, shuffle=True, random_state=job.seed).split(X, y))
    space = job.space

    def take(data: Any, index: np.ndarray) -> Any:
        return data.iloc[index] if hasattr(data, "iloc") else data[index]

    def objective(trial: Any) -> float:
        params = sample_space(trial, space)
        model = clone(pipeline).set_params(**{f"model__{k}": v for k, v in params.items()})
        scores = []
        for i, (train, test) in enumerate(folds):
            fitted = clone(model).fit(take(X, train), y[train])
            scores.append(float(scorer(fitted, take(X, test), y[test])))
            trial.report(float(np.mean(scores)), i)
            if trial.should_prune():
                raise TrialPruned()
        return float(np.mean(scores))

    return objective


def run_job(
    job: JobSpec, *, n_trials: int | None, timeout: float | None, show_progress_bar: bool
) -> TuneResult:
    from sklearn.base import clone
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import train_test_split

    from .samplers._registry import sampler_from_name

    X, y, classification = load_data(job)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=job.test_size, random_state=job.seed, stratify=y if classification else None
    )
    sampler = sampler_from_name(job.sampler, job.seed)
    study = create_study(
        study_name=job.study_name,
        storage=job.storage,
        direction="maximize",
        sampler=sampler,
        seed=job.seed if sampler is None else None,
        load_if_exists=True,
    )
    objective = make_objective(job, X_train, y_train, classification)
    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout,
        n_jobs=job.n_jobs,
        show_progress_bar=show_progress_bar,
    )
    best = study.best_trial
    final = clone(build_pipeline(job, X_train)).set_params(
        **{f"model__{k}": v for k, v in best.params.items()}
    )
    final.fit(X_train, y_train)
    scorer = check_scoring(final, scoring=job.scoring)
    test_score = float(scorer(final, X_test, y_test))
    return TuneResult(
        study=study,
        best_params=dict(best.params),
        cv_score=float(best.value),  # type: ignore[arg-type]
        test_score=test_score,
        scoring=job.scoring or ("accuracy" if classification else "r2"),
        n_train=len(y_train),
        n_test=len(y_test),
    )
