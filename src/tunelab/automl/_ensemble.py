"""Ensemble selection (Caruana et al., 2004): greedy forward selection with replacement on
out-of-fold predictions, and the fitted ensemble that averages its members."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator


def greedy_selection(
    predictions: Sequence[np.ndarray],
    score: Callable[[np.ndarray], float],
    size: int,
) -> tuple[dict[int, int], float]:
    """Pick ``size`` times, with replacement, the candidate whose addition to the running
    average scores best; return the best prefix as {candidate index: count} and its score.

    Taking the best prefix, not the last one, means the result is never worse out of fold than
    the best single candidate, which is always the first pick."""
    total = np.zeros_like(predictions[0], dtype=float)
    picks: list[int] = []
    best_counts: dict[int, int] = {}
    best_score = -np.inf
    for step in range(1, size + 1):
        scores = [score((total + p) / step) for p in predictions]
        i = int(np.argmax(scores))
        picks.append(i)
        total += predictions[i]
        if scores[i] > best_score + 1e-12:
            best_score = scores[i]
            best_counts = dict(Counter(picks))
    return best_counts, best_score


class Ensemble(BaseEstimator):
    """Weighted average of fitted pipelines' probabilities (classification) or predictions."""

    def __init__(self, members: Any = None, weights: Any = None, classes: Any = None) -> None:
        self.members = members
        self.weights = weights
        self.classes = classes

    def _average(self, X: Any) -> np.ndarray:
        from ._search import predict_block

        w = np.asarray(self.weights, float)
        w = w / w.sum()
        return sum(wi * predict_block(m, X, self.classes) for wi, m in zip(w, self.members))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._average(X)

    def predict(self, X: Any) -> np.ndarray:
        avg = self._average(X)
        if self.classes is None:
            return avg
        return np.asarray(self.classes)[np.argmax(avg, axis=1)]
