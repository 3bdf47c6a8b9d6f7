"""Log expected improvement and its optimisation over a mixed space.

EI underflows to exactly 0 far from the incumbent, which leaves a gradient optimiser with a flat
landscape; its logarithm stays finite and informative (Ament et al., 2023, "Unexpected
improvements to expected improvement"). Everything here minimises: improvement is
``best - f(x)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._gp_model import GP
from ._gp_space import EncodedSpace

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_HALF_LOG_PI_OVER_2 = 0.5 * math.log(math.pi / 2)
# Below this z the erfcx form loses digits to cancellation; the asymptotic series is exact
# to double precision there.
_ASYMPTOTIC_Z = -1e4
# Coordinates closer than this are the same point (snapping can move a value by an ulp).
_SAME_POINT = 1e-9
# Once the optimiser's best is a repeat, a fully discrete space of at most this many points is
# searched exhaustively for the best untried one: the untried points of a small space are few
# and need not be near the repeat (nor near anything the optimiser looked at), and scoring a
# few thousand points costs about as much as the optimiser itself.
_MAX_ENUMERATED = 4096


def log_h(z: np.ndarray) -> np.ndarray:
    """log(z * Phi(z) + phi(z)), the log of EI for a unit-variance posterior; stable for any z."""
    from scipy.special import erfcx, log_ndtr

    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(zu * np.exp(log_ndtr(zu)) + np.exp(-0.5 * zu * zu - _LOG_SQRT_2PI))
    middle = (z <= -1.0) & (z > _ASYMPTOTIC_Z)
    zm = z[middle]
    # h(z) = phi(z) * (1 - |z| * sqrt(pi/2) * erfcx(|z| / sqrt(2))), and the bracket is
    # log1p(-exp(.)) of a quantity close to 0 from below.
    inner = np.log(-zm * erfcx(-zm / math.sqrt(2))) + _HALF_LOG_PI_OVER_2
    out[middle] = -0.5 * zm * zm - _LOG_SQRT_2PI + np.log(-np.expm1(inner))
    lower = z <= _ASYMPTOTIC_Z
    zl = z[lower]
    # h(z) ~ phi(z) / z^2 * (1 - 3/z^2 + 15/z^4) as z -> -inf.
    out[lower] = (
        -0.5 * zl * zl - _LOG_SQRT_2PI - 2.0 * np.log(-zl) + np.log1p(-3.0 / zl**2 + 15.0 / zl**4)
    )
    return out


def dlog_h(z: np.ndarray, log_h_z: np.ndarray) -> np.ndarray:
    """d log_h / dz = Phi(z) / h(z), computed as a difference of logs."""
    from scipy.special import log_ndtr

    return np.exp(log_ndtr(z) - log_h_z)


def log_ei(
    gp: GP, Xs: np.ndarray, best: float, free: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """log EI at each row of ``Xs``; with ``free`` also its gradient in those columns."""
    if free is None:
        mean, var = gp.posterior(Xs)
        sd = np.sqrt(var)
        return np.log(sd) + log_h((best - mean) / sd), None
    mean, var, dmean, dvar = gp.posterior_with_grad(Xs, free)
    sd = np.sqrt(var)
    z = (best - mean) / sd
    lh = log_h(z)
    dsd = dvar / (2.0 * sd[:, None])
    dz = (-dmean - z[:, None] * dsd) / sd[:, None]
    grad = dsd / sd[:, None] + dlog_h(z, lh)[:, None] * dz
    return np.log(sd) + lh, grad


# An acquisition maps rows of the encoded space (and, given ``free``, the mask of columns to
# differentiate) to its values and their gradient in those columns; larger is better.
Acquisition = Callable[[np.ndarray, "np.ndarray | None"], tuple[np.ndarray, "np.ndarray | None"]]


def log_feasibility(
    gp: GP, Xs: np.ndarray, threshold: float, free: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """log P(c(x) <= threshold) under the GP of one constraint; with ``free`` its gradient."""
    from scipy.special import log_ndtr

    if free is None:
        mean, var = gp.posterior(Xs)
        return log_ndtr((threshold - mean) / np.sqrt(var)), None
    mean, var, dmean, dvar = gp.posterior_with_grad(Xs, free)
    sd = np.sqrt(var)
    u = (threshold - mean) / sd
    log_p = log_ndtr(u)
    # d log Phi(u) / du = phi(u) / Phi(u), as a difference of logs (Phi underflows first).
    ratio = np.exp(-0.5 * u * u - _LOG_SQRT_2PI - log_p)
    dsd = dvar / (2.0 * sd[:, None])
    du = (-dmean - u[:, None] * dsd) / sd[:, None]
    return log_p, ratio[:, None] * du


def constrained_log_ei(
    gp: GP, best: float | None, constraints: Sequence[tuple[GP, float]]
) -> Acquisition:
    """log EI times the probability that every constraint holds (Gardner et al., 2014), as a
    sum of logs; with no feasible observation yet (``best`` None), the feasibility alone."""

    def acquisition(Xs: np.ndarray, free: np.ndarray | None = None):
        if best is None:
            total, grad = (
                np.zeros(len(Xs)),
                None if free is None else np.zeros((len(Xs), int(free.sum()))),
            )
        else:
            total, grad = log_ei(gp, Xs, best, free)
        for cgp, threshold in constraints:
            value, dvalue = log_feasibility(cgp, Xs, threshold, free)
            total = total + value
            if grad is not None:
                grad = grad + dvalue
        return total, grad

    return acquisition


def optimize_log_ei(
    gp: GP, space: EncodedSpace, best: float, rng: np.random.Generator, **options: Any
) -> np.ndarray:
    """:func:`optimize_acquisition` of plain log EI."""
    return optimize_acquisition(
        lambda Xs, free=None: log_ei(gp, Xs, best, free), space, rng, **options
    )


def optimize_acquisition(
    acquisition: Acquisition,
    space: EncodedSpace,
    rng: np.random.Generator,
    *,
    incumbents: np.ndarray | None = None,
    avoid: np.ndarray | None = None,
    n_pool: int = 512,
    n_starts: int = 6,
    maxiter: int = 60,
) -> np.ndarray:
    """The point of ``space`` with the largest acquisition value that we can find.

    A scrambled Sobol pool (categoricals drawn uniformly) seeds L-BFGS-B on the non-categorical
    columns, run from the best pool points and from small perturbations of ``incumbents``. All
    starts go through one L-BFGS-B call on the sum of their values (their variables do not
    interact, so the sum's optimum is every start's optimum). The results are snapped to the
    grid and polished by a discrete local search that moves one grid cell or one categorical
    choice at a time.

    A point equal to a row of ``avoid`` (observed and pending points) is returned only when
    every point of the space is such a repeat: re-evaluating it teaches a deterministic
    objective nothing, and under noise a point a hair away teaches as much. When the best
    candidate is a repeat, a fully discrete space of at most ``_MAX_ENUMERATED`` points gives
    its best untried point. Otherwise small jitters and discrete moves around the repeat come
    first, so the search stays where the acquisition is high, and if all of those are repeats
    too, a fresh pool of untried points and a local search among untried points from its best.
    """
    from scipy.optimize import minimize

    def values_at(X: np.ndarray) -> np.ndarray:
        return acquisition(X, None)[0]

    pool = space.random_points(n_pool, rng)
    pool_values = values_at(pool)
    order = np.argsort(-pool_values)
    starts = [pool[order[:n_starts]]]
    if incumbents is not None and len(incumbents):
        jitter = rng.normal(0.0, 0.02, incumbents.shape)
        jitter[:, space.is_categorical] = 0.0
        starts.append(space.snap(incumbents + jitter))
    X0 = np.vstack(starts)
    free = ~space.is_categorical
    candidates = [pool[order[:n_starts]]]
    if free.any():
        fixed = X0.copy()
        n_free = int(free.sum())

        def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
            X = fixed.copy()
            X[:, free] = flat.reshape(-1, n_free)
            values, grad = acquisition(X, free)
            return -float(values.sum()), -grad.ravel()

        res = minimize(
            objective,
            X0[:, free].ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * X0[:, free].size,
            options={"maxiter": maxiter},
        )
        polished = fixed.copy()
        polished[:, free] = res.x.reshape(-1, n_free)
        candidates.append(space.snap(polished))
    X = np.vstack(candidates)
    values = values_at(X)
    top = np.argsort(-values)[: min(3, len(values))]
    found = [X, *(_local_search(values_at, space, X[i], values[i]) for i in top)]
    X = np.vstack(found)
    values = values_at(X)
    i = int(np.argmax(values))
    if avoid is None or not len(avoid) or not is_duplicate(X[i : i + 1], avoid)[0]:
        return X[i]
    grid = space.all_points(_MAX_ENUMERATED)
    if grid is not None:
        untried = _untried(space, grid, avoid)
        return untried[int(np.argmax(values_at(untried)))] if len(untried) else X[i]
    fresh = ~is_duplicate(X, avoid)
    nearby = np.vstack([_jitter(space, X[i], rng), space.neighbours(X[i])])
    X = np.vstack([X, nearby])
    values = np.concatenate([values, values_at(nearby)])
    fresh = np.concatenate([fresh, ~is_duplicate(nearby, avoid)])
    if not fresh.any():
        # A discrete space too large to enumerate, tried all around the best: the untried
        # points can be anywhere, so look for them over the whole space.
        pool = space.random_points(n_pool, rng)
        pool = pool[~is_duplicate(pool, avoid)]
        if len(pool):
            pool_values = values_at(pool)
            j = int(np.argmax(pool_values))
            x = _local_search(values_at, space, pool[j], pool_values[j], avoid=avoid)
            X = np.vstack([X, x])
            values = np.concatenate([values, values_at(x)])
            fresh = np.concatenate([fresh, [True]])
    if fresh.any():
        values = np.where(fresh, values, -np.inf)
    return X[int(np.argmax(values))]


def is_duplicate(X: np.ndarray, avoid: np.ndarray) -> np.ndarray:
    """Whether each row of ``X`` equals some row of ``avoid``."""
    if not len(X) or not len(avoid):
        return np.zeros(len(X), dtype=bool)
    # In blocks of rows: a pool against thousands of trials would otherwise build a boolean
    # array of hundreds of megabytes.
    step = max(1, 2**20 // avoid.size)
    return np.concatenate(
        [
            (np.abs(X[k : k + step, None, :] - avoid[None, :, :]) <= _SAME_POINT)
            .all(axis=2)
            .any(axis=1)
            for k in range(0, len(X), step)
        ]
    )


def _untried(space: EncodedSpace, grid: np.ndarray, avoid: np.ndarray) -> np.ndarray:
    """The rows of ``grid`` (every point of a discrete space) that no row of ``avoid`` repeats."""
    # Snapped, a tried point is bit for bit its grid point, so a set lookup replaces the
    # pairwise comparison (thousands of points against thousands of trials). Rows off the grid
    # (a value outside the current range) repeat nothing. Adding 0.0 turns -0.0 into 0.0,
    # whose bytes differ.
    snapped = space.snap(avoid)
    on_grid = (np.abs(snapped - avoid) <= _SAME_POINT).all(axis=1)
    tried = {row.tobytes() for row in snapped[on_grid] + 0.0}
    keys = grid + 0.0
    keep = np.fromiter((row.tobytes() not in tried for row in keys), dtype=bool, count=len(grid))
    return grid[keep]


def _jitter(space: EncodedSpace, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    scales = np.repeat([1e-4, 1e-3, 1e-2], 8)[:, None]
    out = x + rng.normal(0.0, 1.0, (len(scales), len(x))) * scales
    out[:, space.is_categorical] = x[space.is_categorical]
    return space.snap(out)


def _local_search(
    values_at: Callable[[np.ndarray], np.ndarray],
    space: EncodedSpace,
    x: np.ndarray,
    value: float,
    max_rounds: int = 10,
    avoid: np.ndarray | None = None,
) -> np.ndarray:
    """Hill-climb one discrete move at a time; with ``avoid``, only onto points not in it."""
    for _ in range(max_rounds):
        neighbours = space.neighbours(x)
        if avoid is not None and len(neighbours):
            neighbours = neighbours[~is_duplicate(neighbours, avoid)]
        if not len(neighbours):
            break
        values = values_at(neighbours)
        i = int(np.argmax(values))
        if values[i] <= value:
            break
        x, value = neighbours[i], float(values[i])
    return x[None, :]
