"""Functional ANOVA of a random-forest surrogate (Hutter, Hoos & Leyton-Brown, ICML 2014).

A regression tree is piecewise constant on boxes, so the marginal of one or two parameters
(the prediction averaged over all others) is exact and cheap: it is constant between the tree's
split points, and each cell's value is a volume-weighted sum over the leaves that cover it.
Variances are measured under the design's per-column measure (see ``_design``).

A parameter's score is its Shapley effect truncated at pairs (Owen, 2014): its main-effect
variance plus half of each pairwise interaction it takes part in, as a share of the tree's
total variance, averaged over trees. Splitting interactions keeps a parameter that only matters
together with another one from scoring zero, which plain main effects would do.
"""

from __future__ import annotations

import numpy as np

from ._design import Design


def leaf_boxes(tree: object, n_dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower corners, upper corners and predictions of the leaves of a fitted sklearn tree."""
    t = tree.tree_  # type: ignore[attr-defined]
    left, right = t.children_left, t.children_right
    lows, highs, values = [], [], []
    stack = [(0, np.full(n_dims, -1.0), np.full(n_dims, 1.0))]
    while stack:
        node, lo, hi = stack.pop()
        if left[node] == -1:
            lows.append(lo)
            highs.append(hi)
            values.append(float(t.value[node].ravel()[0]))
            continue
        dim, cut = int(t.feature[node]), float(t.threshold[node])
        hi_left, lo_right = hi.copy(), lo.copy()
        hi_left[dim] = min(hi[dim], cut)
        lo_right[dim] = max(lo[dim], cut)
        stack.append((left[node], lo, hi_left))
        stack.append((right[node], lo_right, hi))
    return np.array(lows), np.array(highs), np.array(values)


def _cells(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split points of one column and the (leaf x cell) matrix of which leaf covers which cell."""
    cuts = np.unique(np.concatenate([lo, hi, [-1.0, 1.0]]))
    a, b = cuts[:-1], cuts[1:]
    cover = (lo[:, None] <= a[None, :]) & (hi[:, None] >= b[None, :])
    return cuts, cover.astype(float)


def tree_shares(
    design: Design, lo: np.ndarray, hi: np.ndarray, v: np.ndarray, interactions: bool
) -> np.ndarray | None:
    """Each column's share of one tree's variance; None when the tree is constant."""
    d = lo.shape[1]
    widths = np.stack([design.measure(k, lo[:, k], hi[:, k]) for k in range(d)], axis=1)
    vol = widths.prod(axis=1)
    mean = float(vol @ v)
    total = float(vol @ (v - mean) ** 2)
    if total <= 1e-14 * max(1.0, mean * mean):
        return None
    safe = np.where(widths > 0, widths, 1.0)
    weighted = v * vol
    cells, lengths, main, score = [], [], np.zeros(d), np.zeros(d)
    for i in range(d):
        cuts, cover = _cells(lo[:, i], hi[:, i])
        length = design.measure(i, cuts[:-1], cuts[1:])
        marginal = cover.T @ (weighted / safe[:, i])
        main[i] = float(length @ (marginal - mean) ** 2)
        presence = _presence_effect(cuts, length, marginal, mean)
        score[i] += main[i] - presence
        # The tree may tell "set or not" apart on the child's column rather than its parent's
        # (one split there, where the parent's middle choice would take two): that variance
        # is the parent's. Dropped, the parent of a child set on a middle choice scored 0.
        parents = design.parents[i] if design.parents else ()
        for parent in parents:
            score[parent] += presence / len(parents)
        cells.append(cover)
        lengths.append(length)
    if interactions:
        for i in range(d):
            for j in range(i + 1, d):
                u = weighted / (safe[:, i] * safe[:, j])
                joint = (cells[i] * u[:, None]).T @ cells[j]
                mass = np.outer(lengths[i], lengths[j])
                pair = float((mass * (joint - mean) ** 2).sum()) - main[i] - main[j]
                pair = max(pair, 0.0)
                score[i] += pair / 2
                score[j] += pair / 2
    return score / total


def _presence_effect(
    cuts: np.ndarray, length: np.ndarray, marginal: np.ndarray, mean: float
) -> float:
    """The part of a conditional column's main effect that only says whether it is set.

    Whether a conditional parameter is set is decided by its parent, whose own column already
    carries that variance (or is credited it, when the tree split on the child's column
    instead); crediting it to the child too would rank every child as high as its parent. This
    is the between-region term of the main effect (set vs. absent)."""
    absent = cuts[1:] <= 0.0
    mass_absent, mass_set = float(length[absent].sum()), float(length[~absent].sum())
    if mass_absent <= 0 or mass_set <= 0:
        return 0.0
    mean_absent = float(length[absent] @ marginal[absent]) / mass_absent
    mean_set = float(length[~absent] @ marginal[~absent]) / mass_set
    return mass_absent * (mean_absent - mean) ** 2 + mass_set * (mean_set - mean) ** 2


def fanova_scores(
    design: Design,
    n_trees: int,
    max_depth: int | None,
    min_samples_leaf: int,
    seed: int | None,
    interactions: bool,
) -> np.ndarray:
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(
        n_estimators=n_trees,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        random_state=seed,
    )
    forest.fit(design.X, design.y)
    d = design.X.shape[1]
    shares = []
    for tree in forest.estimators_:
        lo, hi, v = leaf_boxes(tree, d)
        s = tree_shares(design, lo, hi, v, interactions)
        if s is not None:
            shares.append(s)
    return np.mean(shares, axis=0) if shares else np.zeros(d)
