"""Synthetic test functions with known optima, plus variants with integer, categorical and
log-scaled dimensions (each variant keeps a known optimum)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunelab import Categorical, Float, Int

from ._tasks import Task

# -- the functions (minimized; x is a 1-D array) ---------------------------------------------------


def branin(x: np.ndarray) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10)


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> float:
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def ackley(x: np.ndarray) -> float:
    return float(
        -20 * np.exp(-0.2 * np.sqrt(np.mean(x**2)))
        - np.exp(np.mean(np.cos(2 * np.pi * x)))
        + 20
        + math.e
    )


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    head = np.sin(np.pi * w[0]) ** 2
    body = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    return float(head + body + tail)


def _styblinski_terms(x: np.ndarray) -> np.ndarray:
    return (x**4 - 16 * x**2 + 5 * x) / 2


def styblinski_tang(x: np.ndarray) -> float:
    return float(np.sum(_styblinski_terms(np.asarray(x, dtype=float))))


_ST_ARGMIN = -2.903534018185960  # the per-coordinate minimizer
_ST_MIN = float(_styblinski_terms(np.array([_ST_ARGMIN]))[0])

# -- objectives over named parameters (module-level functions, so they pickle) ----------------------


def _vector(params: dict[str, Any], n: int) -> np.ndarray:
    return np.array([float(params[f"x{i}"]) for i in range(n)])


def _branin_obj(p: dict[str, Any]) -> float:
    return branin(_vector(p, 2))


def _hartmann6_obj(p: dict[str, Any]) -> float:
    return hartmann6(_vector(p, 6))


def _hartmann6_log_obj(p: dict[str, Any]) -> float:
    # z in [1e-3, 1] on a log scale maps onto the unit interval: the log-aware view is Hartmann6.
    return hartmann6(np.array([(math.log10(p[f"z{i}"]) + 3) / 3 for i in range(6)]))


def _ackley5_obj(p: dict[str, Any]) -> float:
    return ackley(_vector(p, 5))


def _rosenbrock4_obj(p: dict[str, Any]) -> float:
    return rosenbrock(_vector(p, 4))


def _levy4_obj(p: dict[str, Any]) -> float:
    return levy(_vector(p, 4))


_LEVY_CAT_PENALTY = {"a": 0.0, "b": 0.3, "c": 1.0, "d": 3.0}


def _levy4_cat_obj(p: dict[str, Any]) -> float:
    # The fourth coordinate sits at its optimum (1); the choice adds a penalty instead.
    x = np.array([p["x0"], p["x1"], p["x2"], 1.0], dtype=float)
    return levy(x) + _LEVY_CAT_PENALTY[p["c"]]


def _styblinski4_obj(p: dict[str, Any]) -> float:
    return styblinski_tang(_vector(p, 4))


def _styblinski4_int_log_obj(p: dict[str, Any]) -> float:
    # x2 comes from a log-scaled z in [1e-3, 1e3]: log10(z) * 5 / 3 spans [-5, 5].
    x = [p["x0"], p["x1"], math.log10(p["z2"]) * 5 / 3, p["x3"]]
    return styblinski_tang(np.array(x, dtype=float))


# -- tasks ---------------------------------------------------------------------------------------


def _box(n: int, low: float, high: float, prefix: str = "x") -> dict[str, Float]:
    return {f"{prefix}{i}": Float(low, high) for i in range(n)}


def _styblinski_int_log_optimum() -> float:
    ints = np.arange(-5, 6, dtype=float)
    steps = np.arange(-5, 5.0001, 0.5)
    return 2 * _ST_MIN + float(_styblinski_terms(ints).min() + _styblinski_terms(steps).min())


def synthetic_tasks() -> list[Task]:
    wide = Float(-15.0, 30.0)  # Ackley's optimum at 0 sits off-centre, so no start is favoured
    return [
        Task(
            "branin", "synthetic", {"x0": Float(-5, 10), "x1": Float(0, 15)}, _branin_obj, 0.397887
        ),
        Task("hartmann6", "synthetic", _box(6, 0, 1), _hartmann6_obj, -3.322368),
        Task(
            "ackley5",
            "synthetic",
            {f"x{i}": wide for i in range(5)},
            _ackley5_obj,
            0.0,
            "domain [-15, 30]^5",
        ),
        Task("rosenbrock4", "synthetic", _box(4, -5, 10), _rosenbrock4_obj, 0.0),
        Task("levy4", "synthetic", _box(4, -10, 10), _levy4_obj, 0.0),
        Task("styblinski4", "synthetic", _box(4, -5, 5), _styblinski4_obj, 4 * _ST_MIN),
        Task(
            "rosenbrock4-mixed",
            "synthetic",
            {
                "x0": Float(-5, 10),
                "x1": Float(-5, 10),
                "x2": Int(-5, 10),
                "x3": Categorical([-2, -1, 0, 1, 2]),
            },
            _rosenbrock4_obj,
            0.0,
            "x2 integer, x3 categorical",
        ),
        Task(
            "styblinski4-int-log",
            "synthetic",
            {
                "x0": Float(-5, 5),
                "x1": Int(-5, 5),
                "z2": Float(1e-3, 1e3, log=True),
                "x3": Float(-5, 5, step=0.5),
            },
            _styblinski4_int_log_obj,
            _styblinski_int_log_optimum(),
            "x1 integer, z2 log-scaled, x3 stepped",
        ),
        Task(
            "hartmann6-log",
            "synthetic",
            {f"z{i}": Float(1e-3, 1.0, log=True) for i in range(6)},
            _hartmann6_log_obj,
            -3.322368,
            "all six dimensions log-scaled",
        ),
        Task(
            "levy4-cat",
            "synthetic",
            {**_box(3, -10, 10), "c": Categorical(list(_LEVY_CAT_PENALTY))},
            _levy4_cat_obj,
            0.0,
            "fourth dimension replaced by a 4-way categorical",
        ),
        Task(
            "ackley5-mixed",
            "synthetic",
            {
                **{f"x{i}": wide for i in range(3)},
                "x3": Int(-15, 30),
                "x4": Int(-15, 30),
            },
            _ackley5_obj,
            0.0,
            "x3, x4 integer",
        ),
    ]
