"""Sampler overhead of GPSampler (ms per ask+tell) on a 10-D mixed space.

    .venv/bin/python benchmarks/overhead_gp.py [--trials 300] [--sampler tunelab|optuna|both]
    .venv/bin/python benchmarks/overhead_gp.py --prefill 100 --trials 150 --sampler optuna

The objective is free, so the time is the sampler's (plus the in-memory storage). Times are
CPU seconds of this process unless ``--wall`` is given. With
``--sampler optuna`` the same loop runs with Optuna's GPSampler (needs torch) for comparison.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

BOUNDS = [(0, 100), (100, 300), (300, 1000)]
# CPU time of this process: on a shared machine wall time mostly measures the neighbours.
CLOCK = time.process_time


def objective(p: dict) -> float:
    x = [p[f"x{i}"] for i in range(5)]
    value = sum((xi - 0.3 * i) ** 2 for i, xi in enumerate(x))
    value += (math.log10(p["lr"]) + 3) ** 2 + (p["n"] - 7) ** 2 / 10 + (p["m"] - 40) ** 2 / 1e4
    value += {"a": 0.0, "b": 0.5, "c": 1.0}[p["kind"]] + (0.0 if p["flag"] else 0.3)
    return value


def run_tunelab(n_trials: int, seed: int, prefill: int = 0) -> list[float]:
    import tunelab as tl
    from tunelab.samplers._gp import GPSampler

    space = {f"x{i}": tl.Float(-2, 2) for i in range(5)}
    space.update(
        lr=tl.Float(1e-5, 1e-1, log=True),
        n=tl.Int(1, 20),
        m=tl.Int(1, 1000, log=True),
        kind=tl.Categorical(["a", "b", "c"]),
        flag=tl.Categorical([True, False]),
    )
    study = tl.create_study(sampler=tl.samplers.RandomSampler(seed=seed))
    for _ in range(prefill):
        trial = study.ask(space)
        study.tell(trial, objective(trial.params))
    study.sampler = GPSampler(seed=seed)
    times = [math.nan] * prefill
    for _ in range(n_trials - prefill):
        t0 = CLOCK()
        trial = study.ask(space)
        study.tell(trial, objective(trial.params))
        times.append(CLOCK() - t0)
        _progress(times)
    print(f"  best value {study.best_value:.4f}")
    return times


def run_optuna(n_trials: int, seed: int, prefill: int = 0) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = optuna.distributions
    space = {f"x{i}": d.FloatDistribution(-2, 2) for i in range(5)}
    space.update(
        lr=d.FloatDistribution(1e-5, 1e-1, log=True),
        n=d.IntDistribution(1, 20),
        m=d.IntDistribution(1, 1000, log=True),
        kind=d.CategoricalDistribution(["a", "b", "c"]),
        flag=d.CategoricalDistribution([True, False]),
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(prefill):
        trial = study.ask(space)
        study.tell(trial, objective(trial.params))
    study.sampler = optuna.samplers.GPSampler(seed=seed)
    times = [math.nan] * prefill
    for _ in range(n_trials - prefill):
        t0 = CLOCK()
        trial = study.ask(space)
        study.tell(trial, objective(trial.params))
        times.append(CLOCK() - t0)
        _progress(times)
    print(f"  best value {study.best_value:.4f}")
    return times


def _progress(times: list[float]) -> None:
    # A capped run (Optuna's GP is slow on a busy machine) still leaves its figures.
    if len(times) % 5 == 0 and not math.isnan(times[-5]):
        recent = 1000 * sum(times[-5:]) / 5
        print(f"  trials {len(times) - 5}-{len(times) - 1}: {recent:.1f} ms/trial", flush=True)


def report(name: str, times: list[float]) -> None:
    t = np.array(times) * 1000
    parts = [f"[{lo},{hi}): {t[lo:hi].mean():.1f} ms" for lo, hi in BOUNDS if len(t) > lo]
    print(f"{name}: " + ", ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", choices=["tunelab", "optuna", "both"], default="tunelab")
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="start from this many random trials and time only the GP trials after them",
    )
    parser.add_argument("--wall", action="store_true", help="measure wall time, not CPU time")
    args = parser.parse_args()
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter
    if args.sampler in ("tunelab", "both"):
        report("tunelab GPSampler", run_tunelab(args.trials, args.seed, args.prefill))
    if args.sampler in ("optuna", "both"):
        report("optuna GPSampler", run_optuna(args.trials, args.seed, args.prefill))


if __name__ == "__main__":
    main()
