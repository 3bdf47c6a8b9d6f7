import math

import numpy as np
import pytest
from scipy.stats import norm

import tunelab as tl
from tunelab.samplers._gp_acquisition import (
    constrained_log_ei,
    dlog_h,
    log_ei,
    log_feasibility,
    log_h,
    optimize_acquisition,
    optimize_log_ei,
)
from tunelab.samplers._gp_model import GP, MIN_NOISE
from tunelab.samplers._gp_space import encode_space


def _asymptotic(z):
    return (
        -0.5 * z * z
        - 0.5 * math.log(2 * math.pi)
        - 2 * math.log(-z)
        + math.log1p(-3 / z**2 + 15 / z**4)
    )


def test_log_h_matches_the_direct_formula_where_that_is_accurate():
    z = np.linspace(-6, 6, 49)
    assert np.allclose(log_h(z), np.log(z * norm.cdf(z) + norm.pdf(z)), rtol=1e-10)


@pytest.mark.parametrize("z", [-40.0, -300.0, -1e5])
def test_log_h_is_finite_and_asymptotic_far_below_the_incumbent(z):
    value = log_h(np.array([z]))[0]
    assert np.isfinite(value)
    assert value == pytest.approx(_asymptotic(z), rel=1e-12, abs=1e-6)
    with np.errstate(divide="ignore"):
        naive = np.log(z * norm.cdf(z) + norm.pdf(z))
    assert naive == -np.inf  # what log-EI is for: the direct formula underflows


def test_log_h_is_continuous_and_increasing_across_its_branches():
    z = np.concatenate([np.linspace(-1.01, -0.99, 201), np.linspace(-1e4 - 1, -1e4 + 1, 201)])
    z.sort()
    values = log_h(z)
    assert (np.diff(values) > 0).all()
    for edge in (-1.0, -1e4):
        below, above = log_h(np.array([edge - 1e-9, edge + 1e-9]))
        assert abs(above - below) < 1e-6 * max(1.0, abs(edge))


@pytest.mark.parametrize("z", [-50.0, -8.0, -1.5, -0.3, 0.0, 2.0, 7.0])
def test_dlog_h_matches_finite_differences(z):
    eps = 1e-6 * max(1.0, abs(z))
    numeric = (log_h(np.array([z + eps]))[0] - log_h(np.array([z - eps]))[0]) / (2 * eps)
    assert dlog_h(np.array([z]), log_h(np.array([z])))[0] == pytest.approx(numeric, rel=1e-5)


def _mixed_gp(seed=0):
    space = encode_space(
        ["a", "b", "k", "n"],
        [
            tl.Float(0, 1),
            tl.Float(1e-3, 1, log=True),
            tl.Categorical(["x", "y", "z"]),
            tl.Int(1, 9),
        ],
    )
    rng = np.random.default_rng(seed)
    X = space.random_points(20, rng, sobol=False)
    y = np.sin(5 * X[:, 0]) + (X[:, 1] - 0.4) ** 2 + 0.3 * X[:, 2] + X[:, 3]
    y = (y - y.mean()) / y.std()
    theta = np.array([*np.log([0.3, 0.4, 1.0, 0.5]), 0.0, math.log(1e-4 - MIN_NOISE)])
    return space, GP(X, y, space.is_categorical, theta, space.n_choices), float(y.min())


def test_log_ei_gradient_matches_finite_differences():
    space, gp, best = _mixed_gp()
    Xs = np.array([[0.13, 0.8, 2.0, 0.3], [0.9, 0.05, 0.0, 0.61], [0.5, 0.5, 1.0, 0.5]])
    free = ~space.is_categorical
    values, grad = log_ei(gp, Xs, best, free)
    assert np.allclose(values, log_ei(gp, Xs, best)[0])
    eps = 1e-6
    for j in np.flatnonzero(free):
        step = np.zeros(4)
        step[j] = eps
        numeric = (log_ei(gp, Xs + step, best)[0] - log_ei(gp, Xs - step, best)[0]) / (2 * eps)
        assert np.allclose(
            grad[:, list(np.flatnonzero(free)).index(j)], numeric, rtol=1e-4, atol=1e-6
        )


def test_log_ei_stays_finite_where_ei_underflows():
    space, gp, best = _mixed_gp()
    values, grad = log_ei(gp, gp.X[:3], best - 200.0, ~space.is_categorical)
    assert np.isfinite(values).all() and np.isfinite(grad).all()
    assert (values < -1000).all()


def test_optimizer_returns_a_feasible_point_at_least_as_good_as_a_dense_pool():
    space, gp, best = _mixed_gp(1)
    x = optimize_log_ei(gp, space, best, np.random.default_rng(0), incumbents=gp.X[:2])
    assert np.allclose(space.snap(x[None, :])[0], x)
    reference = space.random_points(4096, np.random.default_rng(99))
    ours = log_ei(gp, x[None, :], best)[0][0]
    assert ours >= log_ei(gp, reference, best)[0].max() - 1e-6


@pytest.mark.parametrize("threshold", [-2.0, 0.0, 1.5, 40.0])
def test_log_feasibility_and_constrained_gradient_match_finite_differences(threshold):
    space, gp, best = _mixed_gp()
    Xs = np.array([[0.13, 0.8, 2.0, 0.3], [0.9, 0.05, 0.0, 0.61], [0.5, 0.5, 1.0, 0.5]])
    free = ~space.is_categorical
    mean, var = gp.posterior(Xs)
    values, grad = log_feasibility(gp, Xs, threshold, free)
    assert np.allclose(values, norm.logcdf((threshold - mean) / np.sqrt(var)))
    acquisition = constrained_log_ei(gp, best, [(gp, threshold)])
    total, total_grad = acquisition(Xs, free)
    assert np.allclose(total, log_ei(gp, Xs, best)[0] + values)
    eps = 1e-6
    for k, j in enumerate(np.flatnonzero(free)):
        step = np.zeros(4)
        step[j] = eps
        numeric = (acquisition(Xs + step, None)[0] - acquisition(Xs - step, None)[0]) / (2 * eps)
        assert np.allclose(total_grad[:, k], numeric, rtol=1e-4, atol=1e-6)


def test_without_a_feasible_point_the_acquisition_is_the_feasibility_alone():
    space, gp, _ = _mixed_gp()
    Xs = gp.X[:4]
    only = constrained_log_ei(gp, None, [(gp, 0.0)])(Xs, ~space.is_categorical)
    expected = log_feasibility(gp, Xs, 0.0, ~space.is_categorical)
    assert np.allclose(only[0], expected[0]) and np.allclose(only[1], expected[1])


def _peaked_at(peak):
    """An acquisition falling with the number of columns that differ from ``peak``."""

    def acquisition(Xs, free=None):
        values = -(np.abs(Xs - peak) > 1e-9).sum(axis=1).astype(float)
        return values, None if free is None else np.zeros((len(Xs), int(free.sum())))

    return acquisition


def test_a_repeat_gives_way_to_the_untried_point_of_a_small_discrete_space():
    space = encode_space(["c", "a"], [tl.Categorical(["x", "y"]), tl.Int(0, 2)])
    grid = np.array([space.encode({"c": c, "a": a}) for c in "xy" for a in range(3)])
    peak = space.encode({"c": "y", "a": 0})
    last = space.encode({"c": "x", "a": 1})  # two moves from the peak, and scored lowest
    tried = grid[~np.isclose(grid, last).all(axis=1)]
    x = optimize_acquisition(_peaked_at(peak), space, np.random.default_rng(0), avoid=tried)
    assert np.allclose(x, last)
    # With every point tried, the best one is repeated.
    x = optimize_acquisition(_peaked_at(peak), space, np.random.default_rng(0), avoid=grid)
    assert np.allclose(x, peak)


def test_a_repeat_on_a_large_discrete_space_gives_way_to_a_point_far_from_it():
    # 20**3 = 8000 points, too many to enumerate; everything within two moves of the peak
    # (1141 points, the ones the optimiser looks at) has been tried.
    choices = tl.Categorical([str(i) for i in range(20)])
    space = encode_space(["p", "q", "r"], [choices] * 3)
    peak = np.zeros(3)
    X = space.random_points(8000, np.random.default_rng(0), sobol=False)
    X = np.unique(np.vstack([X, np.indices((20, 20, 20)).reshape(3, -1).T]), axis=0)
    tried = X[(X != peak).sum(axis=1) <= 2]
    assert len(tried) == 1141
    x = optimize_acquisition(_peaked_at(peak), space, np.random.default_rng(0), avoid=tried)
    assert (x != peak).sum() == 3
