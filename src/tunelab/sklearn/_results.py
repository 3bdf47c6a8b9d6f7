"""Build ``cv_results_`` with GridSearchCV's keys from fold-by-fold (possibly partial) results.

A raced configuration has scores only for the folds it ran; the others are NaN in
``split<k>_*`` and its mean and std cover the folds it ran. Ranking puts every configuration
that ran all folds ahead of every raced-out one, so rank 1 (and ``best_index_``) is always a
full cross-validation score. A configuration pruned inside a fold (pruning over
iterations) counts only the folds it finished, like a raced-out one.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.ma import MaskedArray


@dataclass
class Candidate:
    """One configuration as evaluated: its parameters and one result dict per fold run."""

    params: dict[str, Any]
    n_splits: int
    folds: dict[int, dict[str, Any]] = field(default_factory=dict)
    state: str = "RUNNING"
    trial_number: int = -1
    duplicate_of: int | None = None  # trial number of the configuration it repeats
    n_steps_trained: int = 0  # with pruning over iterations: steps trained, all folds together

    @property
    def complete(self) -> bool:
        return len(self.folds) == self.n_splits

    def scores(self, key: str, metric: str) -> np.ndarray:
        """Per-fold ``test_scores``/``train_scores`` (NaN where not run)."""
        out = np.full(self.n_splits, np.nan)
        for k, res in self.folds.items():
            value = res[key]
            out[k] = value[metric] if isinstance(value, Mapping) else value
        return out


def _masked_params(candidates: Sequence[Candidate]) -> dict[str, MaskedArray]:
    n = len(candidates)
    columns: dict[str, dict[int, Any]] = {}
    for i, cand in enumerate(candidates):
        for name, value in cand.params.items():
            columns.setdefault(f"param_{name}", {})[i] = value
    out = {}
    for key, column in columns.items():
        values = list(column.values())
        try:
            arr = np.array(values)
            dtype = arr.dtype if arr.dtype.kind != "U" and arr.ndim == 1 else object
        except ValueError:  # ragged sequences
            dtype = np.dtype(object)
        ma = MaskedArray(np.empty(n, dtype=dtype), mask=True)
        for i, value in column.items():
            ma[i] = value
        out[key] = ma
    return out


def _rank(means: np.ndarray, complete: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    # Failed (NaN) ranks with the worst, as in scikit-learn; raced-out rows come after all
    # full rows whatever their partial mean. Each group is ranked on its own means: shifting
    # one group above the other by an offset loses small differences to rounding when one
    # configuration's score is huge (a diverged model) and all of them when it is infinite.
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    complete = np.asarray(complete, bool)
    ranks = np.empty(len(means), dtype=np.int32)
    ranks[complete] = rankdata(-filled[complete], method="min")
    ranks[~complete] = rankdata(-filled[~complete], method="min") + int(complete.sum())
    return ranks


def build_cv_results(
    candidates: Sequence[Candidate],
    metrics: Sequence[str],
    return_train_score: bool,
    n_steps: int | None = None,
) -> dict[str, Any]:
    """GridSearchCV's keys plus ``n_folds_evaluated``, ``state``, ``trial_number`` and, when
    folds were trained in ``n_steps`` steps, ``n_steps_trained``."""
    n_splits = candidates[0].n_splits if candidates else 0
    run = np.array([[k in c.folds for k in range(n_splits)] for c in candidates], bool)
    complete = run.all(axis=1)
    results: dict[str, Any] = {}

    def store(name: str, matrix: np.ndarray, splits: bool, rank: bool) -> None:
        if splits:
            for k in range(n_splits):
                results[f"split{k}_{name}"] = matrix[:, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            counts = run.sum(axis=1)
            filled = np.where(run, matrix, 0.0)
            means = np.where(counts > 0, filled.sum(axis=1) / np.maximum(counts, 1), np.nan)
            sq = np.where(run, (matrix - means[:, None]) ** 2, 0.0)
            stds = np.where(counts > 0, np.sqrt(sq.sum(axis=1) / np.maximum(counts, 1)), np.nan)
        results[f"mean_{name}"] = means
        results[f"std_{name}"] = stds
        if name.startswith(("test_", "train_")) and np.any(~np.isfinite(means[complete])):
            warnings.warn(
                f"One or more of the {name.split('_')[0]} scores are non-finite: {means[complete]}",
                UserWarning,
                stacklevel=4,
            )
        if rank:
            results[f"rank_{name}"] = _rank(means, complete)

    def matrix(key: str, metric: str = "score") -> np.ndarray:
        if key in ("fit_time", "score_time"):
            out = np.full((len(candidates), n_splits), np.nan)
            for i, c in enumerate(candidates):
                for k, res in c.folds.items():
                    out[i, k] = res[key]
            return out
        return np.array([c.scores(key, metric) for c in candidates]).reshape(-1, n_splits)

    store("fit_time", matrix("fit_time"), splits=False, rank=False)
    store("score_time", matrix("score_time"), splits=False, rank=False)
    results.update(_masked_params(candidates))
    results["params"] = [c.params for c in candidates]
    for metric in metrics:
        store(f"test_{metric}", matrix("test_scores", metric), splits=True, rank=True)
        if return_train_score:
            store(f"train_{metric}", matrix("train_scores", metric), splits=True, rank=False)
    results["n_folds_evaluated"] = run.sum(axis=1).astype(np.int32)
    if n_steps is not None:
        results["n_steps_trained"] = np.array(
            [c.n_steps_trained for c in candidates], dtype=np.int32
        )
    results["state"] = np.array([c.state for c in candidates], dtype=object)
    results["trial_number"] = np.array([c.trial_number for c in candidates], dtype=np.int64)
    return results
