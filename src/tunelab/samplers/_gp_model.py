"""The Gaussian process behind GPSampler: kernel, output warping, hyperparameter fit, posterior.

Kernel: Matern-5/2 with one lengthscale per column (ARD). Continuous and grid columns enter
through their squared difference in the unit cube; categorical columns through a mismatch
indicator (a Hamming distance with its own lengthscale), so choices are never ordered.

Hyperparameters ``theta = [log lengthscales..., log signal variance, log(noise - MIN_NOISE)]``
are the MAP under weak priors, found by L-BFGS-B with the analytic gradient of the log
marginal likelihood. The lengthscale prior is log-normal with a median growing as sqrt(d)
(Hvarfner et al., 2024), which keeps high-dimensional fits from collapsing onto short,
overfitted lengthscales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_NOISE = 1e-6
_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2 * math.pi)
_LS_BOUNDS = (math.log(5e-3), math.log(1e2))
_SIGNAL_BOUNDS = (math.log(1e-2), math.log(1e2))
_NOISE_BOUNDS = (math.log(1e-10), math.log(2.0))
# Target magnitudes outside this band are rescaled before standardising (see _standardise).
_RESCALE_ABOVE = 1e100
_RESCALE_BELOW = 1e-100
# Median absolute deviation of a normal sample, in standard deviations: with it, Gaussian-like
# values reach the Yeo-Johnson fit on about the scale that standardising gave them.
_MAD_TO_SD = 1.4826
# Beyond this many robust deviations above the median a value is compressed into one more
# deviation (see _limit_far_values): no normal sample goes that far, a penalty value does.
_SOFT_LIMIT = 10.0


# -- kernel -------------------------------------------------------------------------------------
def matern52(s: np.ndarray) -> np.ndarray:
    """Matern-5/2 as a function of the squared scaled distance ``s = r**2``."""
    r = np.sqrt(s)
    return (1.0 + _SQRT5 * r + (5.0 / 3.0) * s) * np.exp(-_SQRT5 * r)


def matern52_ds(s: np.ndarray) -> np.ndarray:
    """d matern52 / d s; smooth at s = 0, which is why the kernel is written in terms of s."""
    r = np.sqrt(s)
    return -(5.0 / 6.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)


def pairwise_sq(A: np.ndarray, B: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Per-column squared distances, shape (d, len(A), len(B)); categoricals give 0 or 1."""
    diff = A.T[:, :, None] - B.T[:, None, :]
    out = diff * diff
    if is_cat.any():
        out[is_cat] = (diff[is_cat] != 0).astype(float)
    return out


# -- output warping -----------------------------------------------------------------------------
def warp_outputs(y: np.ndarray, method: str = "yeo-johnson") -> np.ndarray:
    """Map objective values (to minimise) to roughly standard-normal targets.

    Infinite values are clipped to the finite extremes. "yeo-johnson" softly limits values far
    above the rest (see _limit_far_values), standardises, fits a Yeo-Johnson power by maximum
    likelihood (lambda kept in [-2, 2]) and standardises again, so neither heavy tails nor a
    penalty value of any size (``1e10`` for an invalid configuration) flatten the rest of the
    surface; "rank" maps ranks to normal quantiles (immune to any tail, blind to magnitudes);
    "none" only standardises, and one huge value squeezes all others together.
    """
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    if not finite.any():
        return np.zeros_like(y)
    y = np.clip(y, y[finite].min(), y[finite].max())
    if method == "rank":
        from scipy.special import ndtri
        from scipy.stats import rankdata

        return ndtri((rankdata(y) - 0.5) / len(y))
    if method != "yeo-johnson" or len(y) < 3:
        return _standardise(y)
    y = _standardise(_limit_far_values(y))
    if np.ptp(y) > 0:
        from scipy.optimize import minimize_scalar

        res = minimize_scalar(
            lambda lam: -yeo_johnson_llf(lam, y), bounds=(-2.0, 2.0), method="bounded"
        )
        y = _standardise(yeo_johnson(y, float(res.x)))
    return y


def _limit_far_values(y: np.ndarray) -> np.ndarray:
    """``y`` itself, unless some values lie more than ``_SOFT_LIMIT`` robust standard
    deviations above the median: then ``y`` in those units (deviations from the median), with
    the far values compressed smoothly into one more deviation.

    Standardising first, as the warping did alone, let a penalty value set the scale: beside
    1e10 the ordinary losses all became -0.5 to 8 digits, and no power transform could separate
    them again (spread of 20 ordinary targets 2.9 without the penalty, 2e-8 with it, 0 with
    1e100), so the GP saw a flat surface. Here no value, however large, sits more than
    ``_SOFT_LIMIT + 1`` deviations above the median. The median and the median absolute
    deviation ignore up to half the values, and they are taken over the distinct values: one
    penalty (or the worst value failed trials get, or clipped infinities) repeated by most
    trials is one level of the surface, and counted per trial it would be the median itself.

    Only the upper side is limited: low values are the good ones, whose differences the model
    exists to resolve (Hartmann-6's few deep values sit far below a bulk near 0, and limiting
    them cost the sampler benchmark). Values within the limit are returned unchanged, so the
    targets of ordinary objectives are the standardised-then-warped ones bit for bit.
    """
    scaled = _rescaled(y)
    distinct = np.unique(scaled)
    centre = float(np.median(distinct))
    deviation = _MAD_TO_SD * float(np.median(np.abs(distinct - centre)))
    # Distinct values a few roundings apart are equal for the model, not a unit of spread.
    if not deviation > 1e-10 * abs(centre):
        return y
    with np.errstate(over="ignore"):  # infinite deviations are dealt with below
        z = (scaled - centre) / deviation
    excess = z - _SOFT_LIMIT
    far = excess > 0
    if not far.any():
        return y
    # 1 - 1/(1 + e) rather than e/(1 + e): an infinite excess (a deviation near the smallest
    # float) must give 1, not NaN. For the same reason -inf is kept finite below.
    z[far] = _SOFT_LIMIT + 1.0 - 1.0 / (1.0 + excess[far])
    return np.maximum(z, -np.finfo(float).max)


def yeo_johnson(y: np.ndarray, lam: float) -> np.ndarray:
    """The Yeo-Johnson power transform of ``y`` with power ``lam``.

    Written here rather than taken from scipy.stats because scipy's argument checking costs
    about 0.4 ms per call, and the warping's 1-d search calls it 25 times per proposal: more
    than half of a GP proposal's time on a small study.
    """
    out = np.empty_like(y)
    pos = y >= 0
    log_pos = np.log1p(y[pos])
    log_neg = np.log1p(-y[~pos])
    # expm1(l * log1p(y)) / l is ((y + 1)**l - 1) / l without the cancellation near l = 0.
    out[pos] = log_pos if abs(lam) < 1e-8 else np.expm1(lam * log_pos) / lam
    out[~pos] = (
        -log_neg if abs(lam - 2.0) < 1e-8 else -np.expm1((2.0 - lam) * log_neg) / (2.0 - lam)
    )
    return out


def yeo_johnson_llf(lam: float, y: np.ndarray) -> float:
    """Profile log-likelihood of ``lam`` for normally distributed transformed values."""
    variance = yeo_johnson(y, lam).var()
    if variance <= 0:
        return -math.inf
    jacobian = float((np.sign(y) * np.log1p(np.abs(y))).sum())
    return -0.5 * len(y) * math.log(variance) + (lam - 1.0) * jacobian


def _rescaled(y: np.ndarray) -> np.ndarray:
    """``y`` times a power of two that brings extreme magnitudes near 1.

    The variance squares the deviations, which overflows near 1e154 (and underflows near
    1e-162): the targets would all become 0 or NaN. Standardising (and _limit_far_values) is
    scale-free and scaling by a power of two is exact, so the result is what unbounded
    arithmetic would give (short of values under 1e-300 of the largest, which vanish in the
    mean anyway). Ordinary magnitudes are returned as they are, so their targets keep their bits.
    """
    scale = float(np.abs(y).max()) if len(y) else 0.0
    if scale > _RESCALE_ABOVE or 0.0 < scale < _RESCALE_BELOW:
        return np.ldexp(y, -int(np.frexp(scale)[1]))
    return y


def _standardise(y: np.ndarray) -> np.ndarray:
    y = _rescaled(y)
    sd = y.std()
    # Equal values have a std of rounding noise, not 0; standardised by it they would be
    # spread to +-1 as if they differed.
    return (y - y.mean()) / sd if sd > 1e-10 * np.abs(y).max() else np.zeros_like(y)


# -- priors -------------------------------------------------------------------------------------
def lengthscale_prior_loc(n_dims: int) -> float:
    return math.sqrt(2.0) + 0.5 * math.log(max(n_dims, 1))


def log_prior(theta: np.ndarray, n_dims: int) -> tuple[float, np.ndarray]:
    """Log prior density of ``theta`` and its gradient."""
    grad = np.zeros_like(theta)
    # log lengthscale ~ Normal(sqrt(2) + log(d)/2, sqrt(3))
    z = theta[:n_dims] - lengthscale_prior_loc(n_dims)
    lp = -0.5 * float(z @ z) / 3.0
    grad[:n_dims] = -z / 3.0
    # log signal variance ~ Normal(0, 1): the targets are standardised.
    lp += -0.5 * theta[n_dims] ** 2
    grad[n_dims] = -theta[n_dims]
    # noise variance ~ Gamma(1.1, rate 30): small but not pinned to zero.
    e = math.exp(theta[n_dims + 1])
    noise = MIN_NOISE + e
    lp += 0.1 * math.log(noise) - 30.0 * noise
    grad[n_dims + 1] = (0.1 / noise - 30.0) * e
    return lp, grad


def default_theta(n_dims: int) -> np.ndarray:
    return np.concatenate([np.full(n_dims, lengthscale_prior_loc(n_dims)), [0.0], [math.log(1e-2)]])


def theta_bounds(n_dims: int) -> list[tuple[float, float]]:
    return [_LS_BOUNDS] * n_dims + [_SIGNAL_BOUNDS, _NOISE_BOUNDS]


# -- marginal likelihood and fit ----------------------------------------------------------------
def neg_log_posterior(theta: np.ndarray, D2: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """-(log marginal likelihood + log prior) and its gradient; ``D2`` from pairwise_sq."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    d, n = D2.shape[0], len(y)
    inv_ls2 = np.exp(-2.0 * theta[:d])
    signal = math.exp(theta[d])
    noise_e = math.exp(theta[d + 1])
    S = np.tensordot(inv_ls2, D2, axes=1)
    Kf = signal * matern52(S)
    K = Kf + (MIN_NOISE + noise_e) * np.eye(n)
    try:
        L = cho_factor(K, lower=True, check_finite=False)
    except LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve(L, y, check_finite=False)
    nll = 0.5 * float(y @ alpha) + float(np.log(np.diag(L[0])).sum()) + 0.5 * n * _LOG_2PI
    # d nll / d theta_k = 0.5 * tr(W dK/dtheta_k) with W = K^-1 - alpha alpha^T.
    W = cho_solve(L, np.eye(n), check_finite=False) - np.outer(alpha, alpha)
    G = W * (signal * matern52_ds(S))
    grad = np.empty_like(theta)
    grad[:d] = -inv_ls2 * (D2.reshape(d, -1) @ G.ravel())
    grad[d] = 0.5 * float((W * Kf).sum())
    grad[d + 1] = 0.5 * noise_e * float(np.trace(W))
    lp, lp_grad = log_prior(theta, d)
    return nll - lp, grad - lp_grad


def fit_theta(
    X: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    theta0: np.ndarray | None = None,
    maxiter: int = 200,
    also_default: bool = False,
) -> np.ndarray:
    """MAP hyperparameters, started from ``theta0`` (the previous fit) when given, and also
    from the prior's centre when ``also_default`` (a warm start can stay in a local optimum
    that fewer observations favoured)."""
    from scipy.optimize import minimize

    d = X.shape[1]
    D2 = pairwise_sq(X, X, is_cat)
    bounds = theta_bounds(d)
    starts = []
    if theta0 is not None:
        starts.append(np.asarray(theta0, dtype=float))
    if theta0 is None or also_default:
        starts.append(default_theta(d))
    best_theta, best_f = starts[0], math.inf
    for start in starts:
        start = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        res = minimize(
            neg_log_posterior,
            start,
            args=(D2, y),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter},
        )
        if res.fun < best_f:
            best_theta, best_f = res.x, float(res.fun)
    return np.asarray(best_theta)


# -- posterior ----------------------------------------------------------------------------------
@dataclass
class GP:
    """A GP conditioned on ``(X, y)`` with fixed hyperparameters ``theta``."""

    X: np.ndarray
    y: np.ndarray
    is_cat: np.ndarray
    theta: np.ndarray
    n_choices: np.ndarray | None = None  # per categorical column; inferred from X if None

    def __post_init__(self) -> None:
        from scipy.linalg import cho_factor, cho_solve

        d = self.X.shape[1]
        self.inv_ls2 = np.exp(-2.0 * self.theta[:d])
        self.signal = math.exp(self.theta[d])
        self.noise = MIN_NOISE + math.exp(self.theta[d + 1])
        if self.n_choices is None:
            self.n_choices = np.zeros(d, dtype=int)
            if self.is_cat.any() and len(self.X):
                self.n_choices[self.is_cat] = self.X[:, self.is_cat].max(axis=0).astype(int) + 1
        self._n_codes = self.n_choices
        self._ZX = self._features(self.X)
        from scipy.linalg import LinAlgError

        K = self.signal * matern52(self._sq(self.X)) + self.noise * np.eye(len(self.y))
        jitter = 0.0
        while True:
            try:
                self._chol = cho_factor(K, lower=True, check_finite=False)
                break
            except LinAlgError:
                # Near-duplicate points with a tiny noise: add just enough to factorise.
                jitter = max(10 * jitter, 1e-8 * self.signal)
                if jitter > self.signal:
                    raise
                K[np.diag_indices_from(K)] += jitter
        self.alpha = cho_solve(self._chol, self.y, check_finite=False)

    def _features(self, A: np.ndarray) -> np.ndarray:
        # Scaled so that squared Euclidean distance between rows is the kernel's s: continuous
        # columns times 1/l, categoricals one-hot times 1/(l sqrt 2) (a mismatch adds 2 * 1/2).
        cols = [A[:, ~self.is_cat] * np.sqrt(self.inv_ls2[~self.is_cat])]
        for j in np.flatnonzero(self.is_cat):
            codes = np.round(A[:, j]).astype(int)
            onehot = np.zeros((len(A), int(self._n_codes[j])))
            onehot[np.arange(len(A)), codes] = math.sqrt(self.inv_ls2[j] / 2.0)
            cols.append(onehot)
        return np.hstack(cols)

    def _sq(self, A: np.ndarray) -> np.ndarray:
        from scipy.spatial.distance import cdist

        return cdist(self._features(A), self._ZX, "sqeuclidean")

    def condition_on(self, X_new: np.ndarray, y_new: np.ndarray) -> GP:
        """The same hyperparameters with extra observations (e.g. fantasies of running trials)."""
        return GP(
            np.vstack([self.X, X_new]),
            np.concatenate([self.y, y_new]),
            self.is_cat,
            self.theta,
            self.n_choices,
        )

    def posterior(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the latent function (without observation noise) at ``Xs``."""
        from scipy.linalg import solve_triangular

        Ks = self.signal * matern52(self._sq(Xs))
        mean = Ks @ self.alpha
        v = solve_triangular(self._chol[0], Ks.T, lower=True, check_finite=False)
        var = np.maximum(self.signal - (v * v).sum(axis=0), 1e-12)
        return mean, var

    def posterior_with_grad(
        self, Xs: np.ndarray, free: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients (m, n_free) in the columns flagged ``free``
        (continuous columns only: categorical ones have no gradient)."""
        from scipy.linalg import cho_solve

        S = self._sq(Xs)
        Ks = self.signal * matern52(S)
        mean = Ks @ self.alpha
        Q = cho_solve(self._chol, Ks.T, check_finite=False).T  # K^-1 k(x) per row
        var_raw = self.signal - (Ks * Q).sum(axis=1)
        var = np.maximum(var_raw, 1e-12)
        # dk_i/dx_j = signal * k'(s_i) * 2 (x_j - X_ij) / l_j^2
        dK_ds = self.signal * matern52_ds(S)  # (m, n)
        diff = Xs[:, None, free] - self.X[None, :, free]  # (m, n, f)
        dK = 2.0 * dK_ds[:, :, None] * diff * self.inv_ls2[free]
        dmean = np.einsum("mnf,n->mf", dK, self.alpha)
        dvar = -2.0 * np.einsum("mnf,mn->mf", dK, Q)
        dvar[var_raw <= 1e-12] = 0.0
        return mean, var, dmean, dvar
