"""Fits tunelab's SearchCV needs to reach GridSearchCV's best CV score, per seed (run by hand).

    .venv/bin/python benchmarks/sklearn/reach.py ridge/diabetes,rf/breast_cancer --seeds 8

The same tasks, splits and budgets as benchmarks/sklearn/run.py, tunelab only: a quick check
of Target 2 ("-" = never reached) for a change to the search, without the anchors or timings
(ridge, 8 seeds: 14 s; all four tasks: about 25 minutes on 2 cores).
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
from benchmarks.sklearn.run import fits_to_reach, split_task, tasks  # noqa: E402

from tunelab.sklearn import SearchCV  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", help="comma-separated task names, e.g. ridge/diabetes")
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    wanted = args.tasks.split(",")
    warnings.simplefilter("ignore")
    within = 0
    for task in tasks(False):
        if task["name"] not in wanted:
            continue
        n_grid = int(np.prod([len(v) for v in task["grid"].values()]))
        reached = []
        for seed in range(args.seeds):
            X_tr, _, y_tr, _, cv = split_task(task, seed)
            grid = GridSearchCV(task["estimator"], task["grid"], cv=cv, n_jobs=2).fit(X_tr, y_tr)
            ours = SearchCV(
                task["estimator"], task["tunelab"], n_trials=n_grid, cv=cv, random_state=seed
            ).fit(X_tr, y_tr)
            res = ours.cv_results_
            reached.append(
                fits_to_reach(
                    grid.best_score_,
                    res["mean_test_score"],
                    res["n_folds_evaluated"],
                    res["state"] == "COMPLETE",
                )
            )
        # A fifth of the grid's fits: n_grid configurations x 5 folds / 5.
        ok = sum(1 for r in reached if r != "-" and r <= n_grid)
        within += ok
        print(
            f"{task['name']}: {'/'.join(map(str, reached))} ({ok} of {len(reached)} within {n_grid})"
        )
    print(f"within a fifth: {within}")


if __name__ == "__main__":
    main()
