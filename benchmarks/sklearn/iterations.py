"""SearchCV with fold racing only vs fold racing + pruning over iterations (run by hand).

    .venv/bin/python benchmarks/sklearn/iterations.py --quick   # a few minutes on 2 cores
    .venv/bin/python benchmarks/sklearn/iterations.py           # more trials, more data

Protocol: each task holds out 25% as a test set. Both searches get the same budget of
configurations, the same shuffled 5-fold splits and the same seeded RandomSampler, so they
propose the very same configurations and differ only in how early they stop them. The models
are set up so that both modes train the same amount: the SGD pipeline fits exactly
``n_steps`` epochs (``max_iter=n_steps, tol=None``), as ``n_steps`` ``partial_fit`` passes do,
and HistGradientBoosting grows ``max_iter`` trees either at once or in ``n_steps`` warm starts.

Columns: best CV and held-out test score of the refitted best configuration; "same best" says
whether the pruning run selected the configuration the racing-only run selected; "fold fits"
counts fold trainings in full-fold units (a fold pruned after 3 of 10 steps counts 0.3);
"saved" is the share of the full-CV training budget (configurations x folds) not trained.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: on a shared 2-core machine oversubscription dominates timings.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time
import warnings
from typing import Any

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tunelab import Categorical, Float, Int
from tunelab.pruners import MedianPruner, PercentilePruner, SuccessiveHalvingPruner
from tunelab.samplers import RandomSampler
from tunelab.sklearn import OptimismWarning, SearchCV

PRUNERS = {
    "default": lambda n_steps: True,
    "median": lambda n_steps: MedianPruner(),
    "percentile75": lambda n_steps: PercentilePruner(
        75.0, n_startup_trials=3, n_warmup_steps=n_steps // 2
    ),
    "asha": lambda n_steps: SuccessiveHalvingPruner(),
}


def tasks(quick: bool, n_steps: int) -> list[dict[str, Any]]:
    X_digits, y_digits = load_digits(return_X_y=True)
    X_syn, y_syn = make_classification(
        n_samples=1200 if quick else 4000,
        n_features=20,
        n_informative=8,
        flip_y=0.05,
        random_state=0,
    )
    return [
        dict(
            name="sgd/digits",
            data=(X_digits, y_digits),
            estimator=make_pipeline(
                StandardScaler(), SGDClassifier(max_iter=n_steps, tol=None, random_state=0)
            ),
            space={
                "sgdclassifier__alpha": Float(1e-6, 1.0, log=True),
                "sgdclassifier__eta0": Float(1e-5, 1.0, log=True),
                "sgdclassifier__learning_rate": Categorical(["constant", "invscaling"]),
                "sgdclassifier__loss": Categorical(["hinge", "log_loss", "modified_huber"]),
            },
        ),
        dict(
            name="hgb/synthetic",
            data=(X_syn, y_syn),
            estimator=HistGradientBoostingClassifier(
                max_iter=60 if quick else 150, early_stopping=False, random_state=0
            ),
            space={
                "learning_rate": Float(1e-3, 1.0, log=True),
                "max_leaf_nodes": Int(4, 64, log=True),
                "min_samples_leaf": Int(5, 100, log=True),
                "l2_regularization": Float(1e-4, 10.0, log=True),
            },
        ),
    ]


def run_one(task: dict[str, Any], seed: int, pruner: Any, args: argparse.Namespace) -> dict:
    X, y = task["data"]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    search = SearchCV(
        task["estimator"],
        task["space"],
        n_trials=args.trials,
        cv=5,
        sampler=RandomSampler(seed=seed),
        pruner=pruner,
        n_steps=args.steps,
        random_state=seed,
        n_jobs=args.n_jobs,
    )
    began = time.perf_counter()
    search.fit(X_tr, y_tr)
    seconds = time.perf_counter() - began
    res = search.cv_results_
    if "n_steps_trained" in res:
        fold_fits = float(np.sum(res["n_steps_trained"])) / args.steps
    else:
        fold_fits = float(np.sum(res["n_folds_evaluated"]))
    return dict(
        best_cv=search.best_score_,
        test=search.score(X_te, y_te),
        best=search.best_index_,
        fold_fits=fold_fits,
        saved=1.0 - fold_fits / (len(res["params"]) * search.n_splits_),
        seconds=seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and budget")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--task", default=None, help="run only the task of this name")
    parser.add_argument("--trials", type=int, default=None, help="configurations per search")
    parser.add_argument("--steps", type=int, default=10, help="SearchCV n_steps")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--pruner",
        default="default",
        help=f"comma-separated, from {', '.join(PRUNERS)} (default: SearchCV's pruner=True)",
    )
    args = parser.parse_args()
    pruners = args.pruner.split(",")
    for name in pruners:
        if name not in PRUNERS:
            parser.error(f"unknown pruner {name!r}; choose from {', '.join(PRUNERS)}")
    if args.trials is None:
        args.trials = 16 if args.quick else 40
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=OptimismWarning)

    print(
        f"{args.seeds} seeds, {args.trials} configurations, 5 folds, n_steps={args.steps}, "
        f"pruner={args.pruner}, n_jobs={args.n_jobs}\n"
    )
    print("| task | seed | method | best CV | test | same best | fold fits | saved | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    methods = {"racing": None} | {
        ("racing + pruning" if name == "default" else f"racing + {name}"): name for name in pruners
    }
    for task in tasks(args.quick, args.steps):
        if args.task is not None and task["name"] != args.task:
            continue
        totals: dict[str, list[dict]] = {method: [] for method in methods}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            plain = run_one(task, seed, None, args)
            for method, name in methods.items():
                row = (
                    plain if name is None else run_one(task, seed, PRUNERS[name](args.steps), args)
                )
                same = "" if row is plain else ("yes" if row["best"] == plain["best"] else "no")
                row["same"] = same
                totals[method].append(row)
                print(
                    f"| {task['name']} | {seed} | {method} | {row['best_cv']:.4f} | "
                    f"{row['test']:.4f} | {same} | {row['fold_fits']:.1f} | "
                    f"{row['saved']:.0%} | {row['seconds']:.1f} |",
                    flush=True,
                )
        for method, rows in totals.items():
            mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "same"}
            same = sum(r["same"] == "yes" for r in rows)
            print(
                f"| {task['name']} | mean | {method} | {mean['best_cv']:.4f} | "
                f"{mean['test']:.4f} | {f'{same}/{len(rows)}' if method != 'racing' else ''} | "
                f"{mean['fold_fits']:.1f} | {mean['saved']:.0%} | {mean['seconds']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
