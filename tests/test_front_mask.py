import math

import numpy as np
import pytest

import tunelab as tl
from tunelab._pareto import front_mask, hypervolume_2d, rank_fronts


def _by_definition(points):
    def dominates(b, a):
        return all(x <= y for x, y in zip(b, a)) and any(x < y for x, y in zip(b, a))

    return [not any(dominates(b, a) for b in points) for a in points]


@pytest.mark.parametrize("seed", range(20))
def test_front_matches_the_definition_with_ties_and_infinities(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        n, m = int(rng.integers(0, 30)), int(rng.integers(1, 4))
        points = rng.integers(0, 4, size=(n, m)).astype(float)  # many ties
        if n:
            points[rng.integers(0, n)] = -math.inf
            points[rng.integers(0, n), 0] = math.inf
        assert front_mask(points).tolist() == _by_definition(points.tolist())


def test_best_trials_of_a_large_front():
    study = tl.create_study(directions=["minimize", "maximize"])
    for x in np.linspace(0, 1, 3000):
        study.tell(study.ask(), [x, x])
    study.tell(study.ask(), [0.5, 0.1])
    assert len(study.best_trials) == 3000
    assert study.trials[-1] not in study.best_trials


def test_rank_fronts_orders_by_front_then_crowding():
    values = np.array([[1.0, 5.0], [2.0, 2.0], [5.0, 1.0], [3.0, 3.0], [6.0, 6.0], [2.5, 2.5]])
    order = rank_fronts(values, n_needed=6)
    assert set(order[:4]) == {0, 1, 2, 5}
    assert list(order[4:]) == [3, 4]
    # On the first front the two extremes (infinite crowding distance) come first.
    assert set(order[:2]) == {0, 2}


def test_hypervolume_2d_matches_a_grid_count():
    rng = np.random.default_rng(0)
    points = rng.random((15, 2))
    grid = (np.arange(400) + 0.5) / 400 * 1.2
    xs, ys = np.meshgrid(grid, grid)
    dominated = np.zeros_like(xs, dtype=bool)
    for x, y in points:
        dominated |= (xs >= x) & (ys >= y)
    inside = (xs <= 1.2) & (ys <= 1.2)
    expected = (dominated & inside).mean() * 1.2 * 1.2
    assert hypervolume_2d(points, (1.2, 1.2)) == pytest.approx(expected, rel=0.01)
    assert hypervolume_2d([(2.0, 0.0), (0.0, 2.0)], (1.0, 1.0)) == 0.0
    assert hypervolume_2d([], (1.0, 1.0)) == 0.0
