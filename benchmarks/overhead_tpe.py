"""Per-trial overhead of tunelab's TPESampler against Optuna's, on a 10-parameter mixed space.

Each trial is one ask, ten suggestions and one tell with a trivial objective, so the time is
the sampler's and the study's bookkeeping. Reported: mean and median milliseconds per trial
over the window [start, stop) of trial numbers (default [300, 1000)).

    .venv/bin/python benchmarks/overhead_tpe.py [--trials 1000] [--start 300] [--multivariate]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any


def suggest_all(trial: Any) -> float:
    x1 = trial.suggest_float("x1", -5.0, 5.0)
    x2 = trial.suggest_float("x2", 0.0, 1.0)
    x3 = trial.suggest_float("x3", -1.0, 1.0, step=0.1)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    c = trial.suggest_float("c", 1e-3, 1e3, log=True)
    n = trial.suggest_int("n", 1, 20)
    m = trial.suggest_int("m", 1, 1024, log=True)
    k = trial.suggest_int("k", 0, 100, step=5)
    kind = trial.suggest_categorical("kind", ["a", "b", "c", "d"])
    flag = trial.suggest_categorical("flag", [True, False])
    return x1 * x1 + x2 + abs(x3) + lr + c / 1e3 + n + m / 100 + k / 10 + (kind == "a") + flag


def timed(
    ask: Callable[[], Any], tell: Callable[[Any, float], None], n: int
) -> list[tuple[float, float]]:
    """(wall, cpu) seconds of each ask+tell; CPU time is the figure to trust on a busy machine."""
    times = []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        trial = ask()
        tell(trial, suggest_all(trial))
        times.append((time.perf_counter() - w0, time.process_time() - c0))
    return times


def run_tunelab(n: int, multivariate: bool, seed: int) -> list[tuple[float, float]]:
    import tunelab
    from tunelab.samplers._tpe import TPESampler

    study = tunelab.create_study(sampler=TPESampler(seed=seed, multivariate=multivariate))
    return timed(study.ask, study.tell, n)


def run_optuna(n: int, multivariate: bool, seed: int) -> list[tuple[float, float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
    study = optuna.create_study(sampler=sampler)
    return timed(study.ask, study.tell, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--start", type=int, default=300)
    parser.add_argument("--multivariate", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["tunelab", "optuna"], default=None)
    args = parser.parse_args()
    runners = {"tunelab": run_tunelab, "optuna": run_optuna}
    for name, run in runners.items():
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        times = run(args.trials, args.multivariate, args.seed)[args.start :]
        wall = [1000 * w for w, _ in times]
        cpu = [1000 * c for _, c in times]
        print(
            f"{name:8s} multivariate={args.multivariate} trials [{args.start},{args.trials}): "
            f"CPU mean {statistics.fmean(cpu):.2f} ms, median {statistics.median(cpu):.2f} ms; "
            f"wall mean {statistics.fmean(wall):.2f} ms, median {statistics.median(wall):.2f} ms "
            f"per ask+tell (total run {time.perf_counter() - t0:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
