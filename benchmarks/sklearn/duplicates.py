"""What stopping duplicate configurations saves, on the SearchCV benchmark's tasks (by hand).

    .venv/bin/python benchmarks/sklearn/duplicates.py       # 4 tasks x 8 seeds (~6 min)

Each task and seed of benchmarks/sklearn/run.py is searched twice by SearchCV with racing,
the same budget (the grid's size) and seed, once with ``FoldRacing(stop_duplicates=True)``
(off by default) and once without. Reported per task: configurations stopped as duplicates,
fits made, and the mean best CV score.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.sklearn.run import split_task, tasks  # noqa: E402

from tunelab.sklearn import FoldRacing, SearchCV  # noqa: E402


def search(task: dict, seed: int, budget: int, stop_duplicates: bool) -> tuple[int, int, float]:
    X_train, _, y_train, _, cv = split_task(task, seed)
    fitted = SearchCV(
        task["estimator"],
        task["tunelab"],
        n_trials=budget,
        cv=cv,
        racing=FoldRacing(stop_duplicates=stop_duplicates),
        random_state=seed,
    ).fit(X_train, y_train)
    res = fitted.cv_results_
    return (
        int((res["state"] == "DUPLICATE").sum()),
        int(res["n_folds_evaluated"].sum()),
        float(fitted.best_score_),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(
        "| task | configurations | duplicates stopped | fits with / without | mean best CV with / without |"
    )
    print("|---|---|---|---|---|")
    for task in tasks(quick=False):
        budget = int(np.prod([len(v) for v in task["grid"].values()]))
        runs = {
            flag: [search(task, seed, budget, flag) for seed in range(args.seeds)]
            for flag in (True, False)
        }
        dups = sum(r[0] for r in runs[True])
        fits = {flag: sum(r[1] for r in rows) for flag, rows in runs.items()}
        best = {flag: np.mean([r[2] for r in rows]) for flag, rows in runs.items()}
        print(
            f"| {task['name']} | {budget * args.seeds} | {dups} | {fits[True]} / {fits[False]} "
            f"({fits[True] / fits[False] - 1:+.0%}) | {best[True]:.4f} / {best[False]:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
