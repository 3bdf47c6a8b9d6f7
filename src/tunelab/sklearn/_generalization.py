"""How good is the chosen configuration, honestly?

The best mean CV score is optimistic: it is the maximum of many noisy estimates. The
corrections work on what the search already has, without fitting anything more:

* BBC-CV (Tsamardinos et al., 2018) over rows (``_bbc.py``): bootstrap the rows' out-of-fold
  predictions, pick the winner in bag, score it out of bag. The primary estimate whenever the
  splits predict every row once, the scorer's predictions can be captured and its score is a
  mean over rows (accuracy, MSE, log loss, ...): only then do pooled rows, each weighted by one
  over its fold's size, measure the quantity the fold scores average.
* BBC-CV over folds, the same on the score matrix (configurations x folds): the fallback (R²,
  AUC, average precision, F1, custom scorers, ...), and kept beside the per-row estimate as
  ``fold_corrected_score``.
* Tibshirani & Tibshirani (2009): the optimism is the mean, over folds, of how much the
  per-fold best beats the overall winner on that fold.

With a single configuration nothing was selected: every estimate is the CV score itself.

Nested CV (an outer loop around the whole search) is the reference, at K times the cost.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


class OptimismWarning(UserWarning):
    """The best CV score is noticeably optimistic: report the corrected estimate instead."""


@dataclass
class Generalization:
    """What :attr:`SearchCV.generalization_` holds (all scores: higher is better)."""

    best_cv_score: float
    corrected_score: float
    optimism: float
    method: str
    tt_corrected_score: float
    best_cv_std_error: float
    n_configurations: int
    n_folds_evaluated: int
    n_folds_saved: int
    fold_corrected_score: float | None = None
    nested_cv_score: float | None = None
    nested_cv_std: float | None = None
    nested_cv_scores: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __getitem__(self, key: str) -> Any:  # dict-style access for notebooks
        return getattr(self, key)


def bbc_cv(scores: np.ndarray, n_bootstrap: int = 500, seed: int = 0) -> float:
    """Fold-level bootstrap bias-corrected CV estimate of the selected configuration's score.

    ``scores`` is (n_configurations, n_folds) with every entry finite.
    """
    n_configs, n_folds = scores.shape
    if n_configs == 1 or n_folds < 2:
        return float(scores.mean(axis=1).max())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_folds, size=(n_bootstrap, n_folds))
    in_bag = np.zeros((n_bootstrap, n_folds))
    np.add.at(in_bag, (np.arange(n_bootstrap)[:, None], idx), 1.0)
    oob = in_bag == 0
    keep = oob.any(axis=1)
    in_bag, oob = in_bag[keep], oob[keep]
    # Weighted in-bag means per (bootstrap, configuration): duplicates count as often drawn.
    in_means = (in_bag @ scores.T) / n_folds
    winners = in_means.argmax(axis=1)
    win_scores = scores[winners]  # (n_kept, n_folds)
    estimates = (win_scores * oob).sum(axis=1) / oob.sum(axis=1)
    return float(estimates.mean())


def tibshirani_optimism(scores: np.ndarray) -> float:
    """Mean over folds of (best score on that fold) minus (the overall winner's score there)."""
    winner = int(scores.mean(axis=1).argmax())
    return float(np.mean(scores.max(axis=0) - scores[winner]))


def estimate(
    scores: np.ndarray,
    *,
    n_folds_evaluated: int,
    n_folds_saved: int,
    seed: int = 0,
    sample_bbc: float | None = None,
) -> Generalization:
    """Corrected estimates from the full-fold score matrix (rows with NaN are dropped);
    ``sample_bbc``, the per-row BBC-CV estimate when the search could make one, comes first,
    unless a single configuration finished: then nothing was selected and the corrected score
    is the best CV score exactly (a bootstrap of rows would only add its own noise)."""
    scores = np.asarray(scores, float)
    finite = scores[np.all(np.isfinite(scores), axis=1)] if scores.size else scores
    if finite.shape[0] == 0:
        nan = math.nan
        return Generalization(nan, nan, nan, "none", nan, nan, 0, n_folds_evaluated, n_folds_saved)
    means = finite.mean(axis=1)
    best = int(means.argmax())
    n_folds = finite.shape[1]
    se = float(finite[best].std(ddof=1) / math.sqrt(n_folds)) if n_folds > 1 else math.nan
    by_folds = bbc_cv(finite, seed=seed)
    if finite.shape[0] == 1:
        sample_bbc = None
    corrected = by_folds if sample_bbc is None else sample_bbc
    tt = float(means[best]) - tibshirani_optimism(finite)
    return Generalization(
        best_cv_score=float(means[best]),
        corrected_score=corrected,
        optimism=float(means[best]) - corrected,
        method="BBC-CV over folds" if sample_bbc is None else "BBC-CV over out-of-fold predictions",
        fold_corrected_score=by_folds,
        tt_corrected_score=tt,
        best_cv_std_error=se,
        n_configurations=int(finite.shape[0]),
        n_folds_evaluated=n_folds_evaluated,
        n_folds_saved=n_folds_saved,
    )


# Optimism within two standard errors of the best score is what picking among a few
# configurations of similar quality always costs, and is within the score's own noise:
# warning on it fired on most small searches, so the warning stopped meaning anything.
OPTIMISM_WARNING_STANDARD_ERRORS = 2.0


def warn_if_optimistic(gen: Generalization, stacklevel: int = 3) -> None:
    """Warn when selection alone inflates the CV score by more than twice its standard error.

    Not inside :func:`nested_cv_score`'s inner searches: there the outer folds measure the
    inflation already (``nested_cv_score`` silences the warning around them).
    """
    if not (math.isfinite(gen.optimism) and math.isfinite(gen.best_cv_std_error)):
        return
    limit = OPTIMISM_WARNING_STANDARD_ERRORS * gen.best_cv_std_error
    if gen.optimism > max(limit, 1e-12):
        warnings.warn(
            f"The best CV score {gen.best_cv_score:.4g} is optimistic: picking the best of "
            f"{gen.n_configurations} configurations inflates it by about {gen.optimism:.3g} "
            f"(more than twice its standard error {gen.best_cv_std_error:.3g}). Expect about "
            f"{gen.corrected_score:.4g} on new data (generalization_.corrected_score), or "
            "measure it with tunelab.sklearn.nested_cv_score.",
            OptimismWarning,
            stacklevel=stacklevel,
        )
