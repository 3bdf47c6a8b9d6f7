"""Sampler overhead: milliseconds per ask + tell on a 10-dimensional mixed space with a trivial
objective, averaged over windows of the trial count (the cost of most model-based samplers grows
with the history)."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any

from tunelab import Categorical, Float, Int

from ._optimizers import _optuna_distribution, _tunelab_class

WINDOWS = ((0, 100), (100, 300), (300, 1000))

SPACE = {
    "x0": Float(-5, 5),
    "x1": Float(-5, 5),
    "x2": Float(-5, 5),
    "x3": Float(-5, 5),
    "lr": Float(1e-5, 1e-1, log=True),
    "reg": Float(1e-6, 1.0, log=True),
    "q": Float(0.0, 1.0, step=0.1),
    "n": Int(1, 100),
    "m": Int(1, 1000, log=True),
    "kind": Categorical(["a", "b", "c"]),
}


def _objective(p: dict[str, Any]) -> float:
    return (
        sum(p[f"x{i}"] ** 2 for i in range(4))
        + abs(math.log10(p["lr"]) + 3)
        + p["reg"]
        + p["q"]
        + p["n"] / 100
        + math.log(p["m"]) / 10
        + (p["kind"] != "b")
    )


def _tunelab_loop(class_name: str | None) -> Callable[[int, float], list[float]]:
    import tunelab as tl

    cls = None if class_name is None else _tunelab_class(class_name)[0]

    def loop(n_trials: int, timeout: float) -> list[float]:
        sampler = None if cls is None else cls(seed=0)
        study = tl.create_study(sampler=sampler, seed=0 if cls is None else None)
        times: list[float] = []
        start = time.perf_counter()
        for _ in range(n_trials):
            t0 = time.perf_counter()
            trial = study.ask(SPACE)
            t1 = time.perf_counter()
            value = _objective(trial.params)
            t2 = time.perf_counter()
            study.tell(trial, value)
            times.append((t1 - t0) + (time.perf_counter() - t2))
            if time.perf_counter() - start > timeout:
                break
        return times

    return loop


def _optuna_loop(make_sampler: Callable[[], Any]) -> Callable[[int, float], list[float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = {n: _optuna_distribution(d) for n, d in SPACE.items()}

    def loop(n_trials: int, timeout: float) -> list[float]:
        times: list[float] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=make_sampler())
            start = time.perf_counter()
            for _ in range(n_trials):
                t0 = time.perf_counter()
                trial = study.ask(dists)
                t1 = time.perf_counter()
                value = _objective(trial.params)
                t2 = time.perf_counter()
                study.tell(trial, value)
                times.append((t1 - t0) + (time.perf_counter() - t2))
                if time.perf_counter() - start > timeout:
                    break
        return times

    return loop


def contenders() -> list[tuple[str, Callable[[], Callable[[int, float], list[float]]]]]:
    def optuna_sampler(name: str, **kwargs: Any) -> Callable[[], Any]:
        def make() -> Any:
            import optuna

            if name == "GPSampler":
                import torch  # noqa: F401  # needed by Optuna's GP, checked up front

            return getattr(optuna.samplers, name)(seed=0, **kwargs)

        return make

    out: list[tuple[str, Callable[[], Callable[[int, float], list[float]]]]] = []
    for cls, label in (
        ("RandomSampler", "Random"),
        ("QMCSampler", "QMC"),
        ("TPESampler", "TPE"),
        ("GPSampler", "GP"),
        ("CmaEsSampler", "CMA-ES"),
        ("AutoSampler", "Auto"),
    ):
        out.append((f"tunelab {label}", lambda c=cls: _tunelab_loop(c)))
    out.append(("tunelab default", lambda: _tunelab_loop(None)))
    for cls, label, kwargs in (
        ("RandomSampler", "Random", {}),
        ("QMCSampler", "QMC", {}),
        ("TPESampler", "TPE", {}),
        ("TPESampler", "TPE (multivariate)", {"multivariate": True, "group": True}),
        ("GPSampler", "GP", {}),
        ("CmaEsSampler", "CMA-ES", {}),
    ):
        make = optuna_sampler(cls, **kwargs)

        def build(m: Callable[[], Any] = make) -> Callable[[int, float], list[float]]:
            m()  # fail here, not mid-measurement, when a dependency is missing
            return _optuna_loop(m)

        out.append((f"Optuna {label}", build))
    return out


def window_means(times: list[float], max_trials: int) -> list[str]:
    """Mean ms per trial in each window, with the trial count when a run stopped inside it."""
    out: list[str] = []
    for lo, hi in WINDOWS:
        hi = min(hi, max_trials)
        if lo >= hi or len(times) <= lo:
            out.append("—")
            continue
        part = times[lo:hi]
        mean = f"{1000 * sum(part) / len(part):.2f}"
        out.append(mean if len(part) == hi - lo else f"{mean} (first {len(part)})")
    return out
