"""Fold racing replayed on GridSearchCV's own fold scores (run by hand).

    .venv/bin/python benchmarks/sklearn/racing_replay.py            # 4 tasks x 5 seeds (~4 min)

For each task and seed of benchmarks/sklearn/run.py, GridSearchCV scores every grid point on
the same 5 folds; the racing policies are then replayed on those fold scores in random
orders (the incumbent is the best configuration scored on every fold so far). Reported: the
share of the full grid's fits each policy runs, and how often the grid's best configuration
was raced out. Replays need no refitting, so policies compare on identical scores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.sklearn.run import split_task, tasks  # noqa: E402

from tunelab.sklearn import FoldRacing  # noqa: E402
from tunelab.sklearn._racing import fold_spread, score_resolution  # noqa: E402

POLICIES = {
    "no racing": None,
    "paired test from fold 3": FoldRacing(early_screen=False),
    "paired test + early screen (default)": FoldRacing(),
}


def grid_fold_scores(job: tuple[str, int]) -> tuple[np.ndarray, list[int]]:
    """The grid's fold scores (configurations x folds) and the folds' test sizes."""
    name, seed = job
    warnings.simplefilter("ignore")
    task = next(t for t in tasks(False) if t["name"] == name)
    X_tr, _, y_tr, _, cv = split_task(task, seed)
    grid = GridSearchCV(task["estimator"], task["grid"], cv=cv).fit(X_tr, y_tr)
    sizes = [len(test) for _, test in cv.split(X_tr, y_tr)]
    return np.array([grid.cv_results_[f"split{k}_test_score"] for k in range(5)]).T, sizes


def replay(
    scores: np.ndarray, sizes: list[int], order: np.ndarray, racing: FoldRacing | None
) -> tuple[int, float]:
    """Fits run and the mean CV score of the configuration finally selected, racing as SearchCV
    does (the same spread and score resolution)."""
    incumbent: np.ndarray | None = None
    finished: list[np.ndarray] = []
    fits = 0
    n_folds = scores.shape[1]
    for i in order:
        folds = scores[i]
        stopped = False
        for k in range(1, n_folds + 1):
            fits += 1
            if (
                incumbent is not None
                and racing is not None
                and k < n_folds
                and racing.should_stop(
                    folds[:k],
                    incumbent,
                    fold_spread(finished),
                    score_resolution([*finished, folds[:k]], sizes),
                )
            ):
                stopped = True
                break
        if not stopped:
            finished.append(folds)
            if incumbent is None or folds.mean() > incumbent.mean():
                incumbent = folds
    assert incumbent is not None
    return fits, float(incumbent.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=40, help="random orders per seed")
    args = parser.parse_args()
    names = [t["name"] for t in tasks(False)]
    jobs = [(name, seed) for name in names for seed in range(args.seeds)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        all_scores = dict(zip(jobs, pool.map(grid_fold_scores, jobs)))
    print("| task | policy | share of the grid's fits | grid's best raced out |")
    print("|---|---|---|---|")
    for name in names:
        for label, racing in POLICIES.items():
            shares, lost = [], 0
            for seed in range(args.seeds):
                scores, sizes = all_scores[(name, seed)]
                best = scores.mean(axis=1).max()
                for r in range(args.orders):
                    order = np.random.default_rng(r).permutation(len(scores))
                    fits, chosen = replay(scores, sizes, order, racing)
                    shares.append(fits / scores.size)
                    lost += chosen < best - 1e-12
            print(f"| {name} | {label} | {np.mean(shares):.0%} | {lost} of {len(shares)} |")


if __name__ == "__main__":
    main()
