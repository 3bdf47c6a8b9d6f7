"""The fast estimate: how much of the target's variance each parameter's bins explain.

For each parameter the trials are grouped (one group per categorical choice or small integer
range, quantile bins otherwise; a conditional parameter is judged among the trials that have
it), and the between-group share of variance is corrected for the groups' own noise
(omega squared), so a parameter that does nothing scores about zero. No model is fitted: it
costs one pass over the trials, but it sees main effects only, not interactions.
"""

from __future__ import annotations

import numpy as np

from .._space import Categorical, Int
from ._design import Design

MAX_LEVELS = 16


def _groups(design: Design, k: int, n_bins: int) -> np.ndarray:
    col = design.X[:, k]
    dist = design.distributions[k]
    active = col >= 0
    if isinstance(dist, Categorical) or (isinstance(dist, Int) and dist.n_steps <= MAX_LEVELS):
        _, labels = np.unique(np.round(col, 9), return_inverse=True)
        return labels
    labels = np.zeros(len(col), dtype=int)
    if active.any():
        edges = np.quantile(col[active], np.linspace(0, 1, n_bins + 1)[1:-1])
        labels[active] = 1 + np.searchsorted(edges, col[active], side="right")
    return labels


def omega_squared(y: np.ndarray, labels: np.ndarray) -> float:
    n = len(y)
    groups = np.unique(labels)
    k = len(groups)
    if k < 2 or n <= k:
        return 0.0
    mean = y.mean()
    total = float(((y - mean) ** 2).sum())
    if total <= 0:
        return 0.0
    between = sum(
        float((labels == g).sum()) * (float(y[labels == g].mean()) - mean) ** 2 for g in groups
    )
    within_ms = (total - between) / (n - k)
    return max(0.0, (between - (k - 1) * within_ms) / (total + within_ms))


def ratio_scores(design: Design, n_bins: int | None) -> np.ndarray:
    n = len(design.y)
    bins = n_bins if n_bins is not None else int(min(10, max(2, round(np.sqrt(n / 4)))))
    y = design.y
    total = float(((y - y.mean()) ** 2).sum())
    scores = []
    for k in range(design.X.shape[1]):
        labels = _groups(design, k, bins)
        active = design.X[:, k] >= 0
        if active.all() or total <= 0:
            scores.append(omega_squared(y, labels))
            continue
        # A conditional parameter is judged among the trials that have it (whether it is set
        # is its parent's effect), scaled by the share of variance those trials hold.
        inner = y[active]
        share = float(((inner - inner.mean()) ** 2).sum()) / total
        scores.append(omega_squared(inner, labels[active]) * share)
    return np.array(scores)
