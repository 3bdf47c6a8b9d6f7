"""What a trial.report + trial.should_prune pair costs an objective, by executor and storage.

The objective does nothing else, so this is the per-call overhead: the driver answers each call
of a worker (see docs/scaling.md). Prints pairs per second, best of ``--repeat`` runs.

usage: .venv/bin/python benchmarks/call_cost.py [--steps 1000] [--trials 10] [--dask]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import tunelab as tl


def objective_for(steps: int):
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(steps):
            trial.report(x + 1.0 / (step + 1), step)
            trial.should_prune()  # ignored: every trial runs every step
        return x

    return objective


def seconds(storage: str | None, trials: int, steps: int, **how) -> float:
    study = tl.create_study(storage=storage, pruner=tl.pruners.NopPruner(), seed=0)
    started = time.perf_counter()
    study.optimize(objective_for(steps), n_trials=trials, **how)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="also a 2-worker LocalCluster")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        databases = iter(range(10**6))

        def sqlite() -> str:
            return f"sqlite:///{Path(tmp) / f'{next(databases)}.db'}"

        cases = [
            ("memory n_jobs=1", lambda: seconds(None, args.trials, args.steps, n_jobs=1)),
            ("memory n_jobs=2", lambda: seconds(None, args.trials, args.steps, n_jobs=2)),
            ("sqlite n_jobs=1", lambda: seconds(sqlite(), args.trials, args.steps, n_jobs=1)),
            ("sqlite n_jobs=2", lambda: seconds(sqlite(), args.trials, args.steps, n_jobs=2)),
        ]
        client = None
        if args.dask:
            from distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
            client = Client(cluster)
            executor = tl.DaskExecutor(client)
            cases.append(
                (
                    "memory Dask, 2 workers",
                    lambda: seconds(None, args.trials, args.steps, executor=executor),
                )
            )
        pairs = args.steps * args.trials
        print(f"steps={args.steps} trials={args.trials}: report+should_prune pairs per second")
        for label, run in cases:
            best = min(run() for _ in range(args.repeat))
            print(f"  {label:24s} {pairs / best:9.0f} pairs/s  ({best:.2f} s)")
        if client is not None:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
