"""Framework overhead per trial with a random sampler and a trivial objective, tunelab vs Optuna,
in memory and on SQLite (run by hand):

    .venv/bin/python benchmarks/core_overhead.py [--trials 1000] [--sqlite-trials 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import optuna

import tunelab as tl

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 10)
    k = trial.suggest_categorical("k", ["a", "b"])
    return x * x + n + len(k)


def per_trial_ms(make, n_trials: int) -> float:
    study = make()
    started = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    return (time.perf_counter() - started) / n_trials * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--sqlite-trials", type=int, default=300)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    rows = [
        (
            "memory",
            args.trials,
            lambda: tl.create_study(sampler=tl.samplers.RandomSampler(0)),
            lambda: optuna.create_study(sampler=optuna.samplers.RandomSampler(0)),
        ),
        (
            "SQLite",
            args.sqlite_trials,
            lambda: tl.create_study(
                storage=f"sqlite:///{os.path.join(folder, 't.db')}",
                sampler=tl.samplers.RandomSampler(0),
            ),
            lambda: optuna.create_study(
                storage=f"sqlite:///{os.path.join(folder, 'o.db')}",
                sampler=optuna.samplers.RandomSampler(0),
            ),
        ),
    ]
    print("| storage | trials | tunelab ms/trial | Optuna ms/trial | ratio |")
    print("|---|---|---|---|---|")
    for name, n, ours, theirs in rows:
        a, b = per_trial_ms(ours, n), per_trial_ms(theirs, n)
        print(f"| {name} | {n} | {a:.3f} | {b:.3f} | {b / a:.1f}x faster |")


if __name__ == "__main__":
    main()
