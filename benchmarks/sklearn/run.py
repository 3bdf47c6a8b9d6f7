"""SearchCV against scikit-learn, Optuna and scikit-optimize searches (run by hand).

    .venv/bin/python benchmarks/sklearn/run.py --quick      # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/sklearn/run.py              # more seeds, full datasets

Protocol: each task holds out 25% as a test set. Every method searches the training part with
the same shuffled 5-fold splitter and the same budget of configurations (the grid's size);
"time-matched" tunelab runs get RandomizedSearchCV's wall-clock as a timeout instead. We report
the held-out test score, wall time, fits made, and the fits needed before a configuration's
full CV score reached GridSearchCV's best CV score (same splits, so the scores are comparable;
"-" when never reached; halving searches score on subsets, so they are not counted).
Optional competitors (optuna-integration, scikit-optimize) are skipped when not installed.
"""

from __future__ import annotations

import os

# One BLAS thread per process: on a shared 2-core machine oversubscription dominates timings.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time
import warnings
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import Ridge
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn import datasets
from tunelab import Categorical, Float, Int
from tunelab.sklearn import SearchCV


def tasks(quick: bool) -> list[dict[str, Any]]:
    digits_n = 400 if quick else None
    return [
        dict(
            name="svm/digits",
            data=datasets.load_digits(return_X_y=True),
            limit=digits_n,
            estimator=make_pipeline(StandardScaler(), SVC()),
            grid={"svc__C": [0.1, 1, 10, 100], "svc__gamma": [1e-4, 1e-3, 1e-2, 1e-1]},
            scipy={
                "svc__C": stats.loguniform(0.1, 100),
                "svc__gamma": stats.loguniform(1e-4, 1e-1),
            },
            tunelab={
                "svc__C": Float(0.1, 100, log=True),
                "svc__gamma": Float(1e-4, 1e-1, log=True),
            },
            classifier=True,
        ),
        dict(
            name="rf/breast_cancer",
            data=datasets.load_breast_cancer(return_X_y=True),
            limit=None,
            estimator=RandomForestClassifier(n_estimators=30 if quick else 100, random_state=0),
            grid={"max_depth": [2, 4, 8, None], "max_features": [0.2, 0.5, 1.0]},
            scipy={"max_depth": [2, 4, 8, None], "max_features": stats.uniform(0.2, 0.8)},
            tunelab={"max_depth": Categorical([2, 4, 8, None]), "max_features": Float(0.2, 1.0)},
            classifier=True,
        ),
        dict(
            name="hgb/wine",
            data=datasets.load_wine(return_X_y=True),
            limit=None,
            estimator=HistGradientBoostingClassifier(max_iter=30 if quick else 100, random_state=0),
            grid={"learning_rate": [0.03, 0.1, 0.3], "max_leaf_nodes": [4, 8, 16]},
            scipy={
                "learning_rate": stats.loguniform(0.03, 0.3),
                "max_leaf_nodes": stats.randint(4, 17),
            },
            tunelab={"learning_rate": Float(0.03, 0.3, log=True), "max_leaf_nodes": Int(4, 16)},
            classifier=True,
        ),
        dict(
            name="ridge/diabetes",
            data=datasets.load_diabetes(return_X_y=True),
            limit=None,
            estimator=Ridge(),
            grid={"alpha": list(np.logspace(-3, 3, 13))},
            scipy={"alpha": stats.loguniform(1e-3, 1e3)},
            tunelab={"alpha": Float(1e-3, 1e3, log=True)},
            classifier=False,
        ),
    ]


def fits_to_reach(
    target: float, means: np.ndarray, fits_per_row: np.ndarray, full: np.ndarray
) -> Any:
    used = 0
    for mean, fits, is_full in zip(means, fits_per_row, full):
        used += int(fits)
        if is_full and mean >= target - 1e-12:
            return used
    return "-"


def run_one(task: dict[str, Any], seed: int, quick: bool) -> list[dict[str, Any]]:
    X, y = task["data"]
    if task["limit"]:
        idx = np.random.default_rng(seed).choice(len(y), task["limit"], replace=False)
        X, y = X[idx], y[idx]
    strat = y if task["classifier"] else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=strat
    )
    splitter = StratifiedKFold if task["classifier"] else KFold
    cv = splitter(5, shuffle=True, random_state=seed)
    n_grid = int(np.prod([len(v) for v in task["grid"].values()]))
    est = task["estimator"]
    rows = []

    def record(method: str, search: Any, seconds: float, means, fits, full) -> None:
        rows.append(
            dict(
                method=method,
                test=float(search.score(X_te, y_te)),
                seconds=seconds,
                fits=int(np.sum(fits)),
                reach=fits_to_reach(target, means, fits, full) if means is not None else "-",
            )
        )

    t = time.perf_counter()
    grid = GridSearchCV(est, task["grid"], cv=cv).fit(X_tr, y_tr)
    grid_time = time.perf_counter() - t
    target = grid.best_score_
    k = grid.n_splits_
    ones = np.ones(n_grid)
    record("GridSearchCV", grid, grid_time, grid.cv_results_["mean_test_score"], ones * k, ones > 0)

    t = time.perf_counter()
    rnd = RandomizedSearchCV(est, task["scipy"], n_iter=n_grid, cv=cv, random_state=seed).fit(
        X_tr, y_tr
    )
    rnd_time = time.perf_counter() - t
    record(
        "RandomizedSearchCV", rnd, rnd_time, rnd.cv_results_["mean_test_score"], ones * k, ones > 0
    )

    t = time.perf_counter()
    halving = HalvingRandomSearchCV(est, task["scipy"], cv=cv, random_state=seed).fit(X_tr, y_tr)
    record(
        "HalvingRandomSearchCV",
        halving,
        time.perf_counter() - t,
        None,
        np.array([len(halving.cv_results_["params"]) * k]),
        None,
    )

    for label, racing, timeout, n_trials in (
        ("tunelab SearchCV (racing)", True, None, n_grid),
        ("tunelab SearchCV (no racing)", False, None, n_grid),
        ("tunelab SearchCV (racing, time-matched)", True, rnd_time, 10_000),
    ):
        t = time.perf_counter()
        ours = SearchCV(
            est,
            task["tunelab"],
            n_trials=n_trials,
            timeout=timeout,
            cv=cv,
            racing=racing,
            random_state=seed,
        ).fit(X_tr, y_tr)
        res = ours.cv_results_
        record(
            label,
            ours,
            time.perf_counter() - t,
            res["mean_test_score"],
            res["n_folds_evaluated"],
            res["state"] == "COMPLETE",
        )
        rows[-1]["corrected"] = ours.generalization_.corrected_score
        rows[-1]["best_cv"] = ours.best_score_

    try:
        import optuna
        from optuna_integration import OptunaSearchCV

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        dists = _optuna_space(task["tunelab"])
        t = time.perf_counter()
        opt = OptunaSearchCV(est, dists, n_trials=n_grid, cv=cv, random_state=seed, verbose=0).fit(
            X_tr, y_tr
        )
        means = np.array([tr.user_attrs["mean_test_score"] for tr in opt.trials_])
        record(
            "OptunaSearchCV (TPE)",
            opt,
            time.perf_counter() - t,
            means,
            ones[: len(means)] * k,
            ones[: len(means)] > 0,
        )
    except ImportError:
        pass
    try:
        from skopt import BayesSearchCV
        from skopt.space import Categorical as SkCat
        from skopt.space import Integer, Real

        space = _skopt_space(task["tunelab"], SkCat, Integer, Real)
        t = time.perf_counter()
        bayes = BayesSearchCV(est, space, n_iter=n_grid, cv=cv, random_state=seed).fit(X_tr, y_tr)
        record(
            "BayesSearchCV (skopt)",
            bayes,
            time.perf_counter() - t,
            bayes.cv_results_["mean_test_score"],
            ones * k,
            ones > 0,
        )
    except ImportError:
        pass
    return rows


def _optuna_space(space: dict[str, Any]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, d in space.items():
        if isinstance(d, Float):
            out[name] = FloatDistribution(d.low, d.high, log=d.log)
        elif isinstance(d, Int):
            out[name] = IntDistribution(d.low, d.high, log=d.log)
        else:
            out[name] = CategoricalDistribution(list(d.choices))
    return out


def _skopt_space(space: dict[str, Any], cat: Any, integer: Any, real: Any) -> dict[str, Any]:
    out = {}
    for name, d in space.items():
        if isinstance(d, Float):
            out[name] = real(d.low, d.high, prior="log-uniform" if d.log else "uniform")
        elif isinstance(d, Int):
            out[name] = integer(d.low, d.high)
        else:
            out[name] = cat(list(d.choices))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, smaller data (~5 min)")
    args = parser.parse_args()
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    warnings.simplefilter("ignore")
    for task in tasks(args.quick):
        agg: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for seed in seeds:
            for row in run_one(task, seed, args.quick):
                agg[row["method"]].append(row)
        print(f"\n### {task['name']} ({len(seeds)} seeds)\n")
        print(
            "| method | test score | seconds | fits | fits to reach grid's best CV | best CV -> corrected |"
        )
        print("|---|---|---|---|---|---|")
        for method, rows in agg.items():
            test = np.mean([r["test"] for r in rows])
            secs = np.mean([r["seconds"] for r in rows])
            fits = np.mean([r["fits"] for r in rows])
            reach = [r["reach"] for r in rows]
            reach_txt = "/".join(str(r) for r in reach)
            corr = (
                f"{np.mean([r['best_cv'] for r in rows]):.4f} -> {np.mean([r['corrected'] for r in rows]):.4f}"
                if "corrected" in rows[0]
                else ""
            )
            print(f"| {method} | {test:.4f} | {secs:.1f} | {fits:.0f} | {reach_txt} | {corr} |")


if __name__ == "__main__":
    main()
