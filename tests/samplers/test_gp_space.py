import numpy as np

import tunelab as tl
from tunelab.samplers._gp_space import encode_space

NAMES = ["f", "lr", "q", "n", "m", "k"]
DISTS = [
    tl.Float(-5, 5),
    tl.Float(1e-5, 1e-1, log=True),
    tl.Float(0, 1, step=0.25),
    tl.Int(1, 10),
    tl.Int(1, 1000, log=True),
    tl.Categorical(["a", "b", "c"]),
]
SPACE = encode_space(NAMES, DISTS)


def test_encode_decode_round_trip_and_categorical_index():
    params = {"f": 1.5, "lr": 1e-3, "q": 0.75, "n": 4, "m": 37, "k": "c"}
    row = SPACE.encode(params)
    assert row[-1] == 2.0 and ((row[:-1] >= 0) & (row[:-1] <= 1)).all()
    back = SPACE.decode(row)
    assert back["n"] == 4 and back["m"] == 37 and back["q"] == 0.75 and back["k"] == "c"
    assert abs(back["f"] - 1.5) < 1e-12 and abs(back["lr"] - 1e-3) < 1e-12


def test_snap_lands_on_values_the_space_can_take():
    X = SPACE.snap(np.random.default_rng(0).random((50, 6)) * [1, 1, 1, 1, 1, 3])
    for row in X:
        params = SPACE.decode(row)
        assert all(d.contains(params[n]) for n, d in zip(NAMES, DISTS))
        assert np.allclose(SPACE.encode(params), row)  # snapped points are cell centres


def test_neighbours_move_one_cell_or_one_choice():
    x = SPACE.encode({"f": 0.0, "lr": 1e-3, "q": 0.0, "n": 10, "m": 37, "k": "a"})
    moves = [SPACE.decode(y) for y in SPACE.neighbours(x)]
    assert {m["q"] for m in moves} == {0.0, 0.25}
    assert {m["n"] for m in moves} == {9, 10}  # n = 10 is the top: one neighbour only
    assert {m["m"] for m in moves} == {36, 37, 38}
    assert {m["k"] for m in moves} == {"a", "b", "c"}
    assert all(m["f"] == 0.0 for m in moves)
    assert len(moves) == 1 + 1 + 2 + 2


def test_random_points_are_feasible_and_cover_every_choice():
    X = SPACE.random_points(64, np.random.default_rng(1))
    assert X.shape == (64, 6)
    assert set(X[:, -1]) == {0.0, 1.0, 2.0}
    assert np.allclose(SPACE.snap(X), X)


def test_all_points_lists_a_discrete_space_once_each_within_the_limit():
    space = encode_space(["q", "n", "k"], [tl.Float(0, 1, step=0.25), tl.Int(1, 10), DISTS[-1]])
    X = space.all_points(150)
    assert X.shape == (150, 3) and len(np.unique(X, axis=0)) == 150
    assert np.array_equal(space.snap(X), X)
    assert {tuple(space.decode(row).values()) for row in X} == {
        (q, n, k) for q in (0, 0.25, 0.5, 0.75, 1) for n in range(1, 11) for k in "abc"
    }
    assert space.all_points(149) is None
    assert SPACE.all_points(10**9) is None  # a continuous column
