"""SearchCV against scikit-learn, Optuna and scikit-optimize searches (run by hand).

    .venv/bin/python benchmarks/sklearn/run.py --quick      # 1 seed, smaller data: the harness
    .venv/bin/python benchmarks/sklearn/run.py --jobs 2 --write-docs   # 5 seeds, full datasets

Grids are what a practitioner writes: half-decade (SVM) or hand-picked steps, 25 to 49 points.

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
import json
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
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
            # Half-decade steps, as in scikit-learn's "RBF SVM parameters" example.
            grid={
                "svc__C": list(np.logspace(-1, 2, 7)),
                "svc__gamma": list(np.logspace(-4, -1, 7)),
            },
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
            grid={
                "max_depth": [2, 4, 8, 16, None],
                "max_features": [0.1, 0.25, 0.5, 0.75, 1.0],
            },
            scipy={
                "max_depth": [2, 4, 8, 16, None],
                "max_features": stats.uniform(0.1, 0.9),
            },
            tunelab={
                "max_depth": Categorical([2, 4, 8, 16, None]),
                "max_features": Float(0.1, 1.0),
            },
            classifier=True,
        ),
        dict(
            name="hgb/wine",
            data=datasets.load_wine(return_X_y=True),
            limit=None,
            estimator=HistGradientBoostingClassifier(max_iter=30 if quick else 100, random_state=0),
            grid={
                "learning_rate": [0.03, 0.1, 0.3],
                "max_leaf_nodes": [4, 8, 16],
                "min_samples_leaf": [2, 5, 10],
            },
            scipy={
                "learning_rate": stats.loguniform(0.03, 0.3),
                "max_leaf_nodes": stats.randint(4, 17),
                "min_samples_leaf": stats.randint(2, 11),
            },
            tunelab={
                "learning_rate": Float(0.03, 0.3, log=True),
                "max_leaf_nodes": Int(4, 16, log=True),
                "min_samples_leaf": Int(2, 10, log=True),
            },
            classifier=True,
        ),
        dict(
            name="ridge/diabetes",
            data=datasets.load_diabetes(return_X_y=True),
            limit=None,
            estimator=Ridge(),
            grid={"alpha": list(np.logspace(-4, 4, 25))},
            scipy={"alpha": stats.loguniform(1e-4, 1e4)},
            tunelab={"alpha": Float(1e-4, 1e4, log=True)},
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


def split_task(task: dict[str, Any], seed: int) -> tuple[Any, Any, Any, Any, Any]:
    """The seed's held-out split and the 5-fold splitter every method shares:
    ``X_train, X_test, y_train, y_test, cv``."""
    X, y = task["data"]
    if task["limit"]:
        idx = np.random.default_rng(seed).choice(len(y), task["limit"], replace=False)
        X, y = X[idx], y[idx]
    strat = y if task["classifier"] else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=strat
    )
    splitter = StratifiedKFold if task["classifier"] else KFold
    return X_tr, X_te, y_tr, y_te, splitter(5, shuffle=True, random_state=seed)


def run_one(task: dict[str, Any], seed: int, quick: bool) -> list[dict[str, Any]]:
    X_tr, X_te, y_tr, y_te, cv = split_task(task, seed)
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
    rows.append(_anytime(task, est, cv, seed, X_tr, y_tr, X_te, y_te, rows))
    return rows


def _anytime(task, est, cv, seed, X_tr, y_tr, X_te, y_te, rows) -> dict[str, Any]:
    """tunelab at each anchor's wall-clock: one run as long as the slowest anchor, then, per
    anchor, the configuration with the best full CV score among those finished by the time that
    anchor took, refitted on the training part and scored on the test set."""
    from sklearn.base import clone

    anchor_seconds = {r["method"]: r["seconds"] for r in rows if r["method"] in ANCHORS}
    began = time.perf_counter()
    ours = SearchCV(
        est,
        task["tunelab"],
        n_trials=100_000,
        timeout=max(anchor_seconds.values()),
        cv=cv,
        random_state=seed,
    ).fit(X_tr, y_tr)
    seconds = time.perf_counter() - began
    res = ours.cv_results_
    start = min(t.datetime_start for t in ours.study_.trials if t.datetime_start is not None)
    finished = {
        t.number: (t.datetime_complete - start).total_seconds()
        for t in ours.study_.trials
        if t.datetime_complete is not None
    }
    at_time: dict[str, float] = {}
    refits: dict[int, float] = {}
    for anchor, limit in anchor_seconds.items():
        eligible = [
            i
            for i, number in enumerate(res["trial_number"])
            if res["state"][i] == "COMPLETE" and finished.get(int(number), np.inf) <= limit
        ]
        if not eligible:
            at_time[anchor] = float("nan")
            continue
        best = max(eligible, key=lambda i: res["mean_test_score"][i])
        if best not in refits:
            model = clone(est).set_params(**res["params"][best]).fit(X_tr, y_tr)
            refits[best] = float(model.score(X_te, y_te))
        at_time[anchor] = refits[best]
    return dict(
        method=ANYTIME,
        test=float(ours.score(X_te, y_te)),
        seconds=seconds,
        fits=int(np.sum(res["n_folds_evaluated"])),
        reach="-",
        at_time=at_time,
    )


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


def _run_seed(job: tuple[str, int, bool]) -> list[dict[str, Any]]:
    name, seed, quick = job
    warnings.simplefilter("ignore")
    task = next(t for t in tasks(quick) if t["name"] == name)
    return [dict(row, task=name, seed=seed) for row in run_one(task, seed, quick)]


ANCHORS = (
    "GridSearchCV",
    "RandomizedSearchCV",
    "HalvingRandomSearchCV",
    "OptunaSearchCV (TPE)",
    "BayesSearchCV (skopt)",
)
ANYTIME = "tunelab SearchCV (anytime)"
SAME_BUDGET = "tunelab SearchCV (racing)"


def report(rows: list[dict[str, Any]], seeds: list[int], command: str, minutes: float) -> str:
    lines = [
        f"Run {time.strftime('%Y-%m-%d')}: `{command}` ({minutes:.0f} min), seeds {seeds}, one "
        "BLAS thread per process on the shared 2-core machine. Columns: mean held-out test "
        "score and wall time over seeds; fits made; fits until a configuration's full CV score "
        "reached GridSearchCV's best CV score, per seed ('-': not within the budget); best CV "
        "score and its bias-corrected estimate.",
        "",
    ]
    summary: list[str] = []
    fifth: list[str] = []
    for name in dict.fromkeys(r["task"] for r in rows):
        by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            if r["task"] == name:
                by_method[r["method"]].append(r)
        grid_fits = by_method["GridSearchCV"][0]["fits"]
        lines += [
            f"#### {name} (grid: {grid_fits // 5} points, {grid_fits} fits; a fifth: "
            f"{grid_fits // 5} fits)",
            "",
            "| method | test score | seconds | fits | fits to reach grid's best CV | best CV -> corrected |",
            "|---|---|---|---|---|---|",
        ]
        mean_test = {}
        for method, rs in by_method.items():
            mean_test[method] = float(np.mean([r["test"] for r in rs]))
            corr = (
                f"{np.mean([r['best_cv'] for r in rs]):.4f} -> "
                f"{np.mean([r['corrected'] for r in rs]):.4f}"
                if "corrected" in rs[0]
                else ""
            )
            lines.append(
                f"| {method} | {mean_test[method]:.4f} | {np.mean([r['seconds'] for r in rs]):.1f} "
                f"| {np.mean([r['fits'] for r in rs]):.0f} | "
                f"{'/'.join(str(r['reach']) for r in rs)} | {corr} |"
            )
        lines.append("")
        anytime = by_method[ANYTIME]
        reach = [r["reach"] for r in by_method[SAME_BUDGET]]
        within = sum(isinstance(x, int) and x <= grid_fits // 5 for x in reach)
        matched = 0
        for anchor in ANCHORS:
            if anchor not in mean_test:
                continue
            ours_at = float(np.nanmean([r["at_time"][anchor] for r in anytime]))
            good = ours_at >= mean_test[anchor] - 1e-12
            matched += good
            summary.append(
                f"| {name} | {anchor} | {np.mean([r['seconds'] for r in by_method[anchor]]):.1f} "
                f"| {mean_test[anchor]:.4f} | {ours_at:.4f} | {'yes' if good else 'no'} "
                f"| {_paired(anytime, by_method[anchor], anchor)} |"
            )
        fifth.append(
            f"| {name} | {grid_fits // 5} | {'/'.join(map(str, reach))} | {within} of {len(reach)} |"
        )
    return "\n".join(
        lines
        + [
            "#### Target 1: test score at equal wall-clock",
            "",
            f"'{ANYTIME}' runs as long as the slowest anchor; at each anchor's mean time it is "
            "represented by the configuration with the best full CV score finished by then, "
            "refitted on the training part (mean test score over seeds).",
            "",
            "The last column pairs the runs seed by seed (same split, same folds): how many seeds "
            "tunelab's test score was higher / equal / lower, and the mean difference with a 95% "
            "t-interval over seeds; an interval that contains 0 means the run cannot tell the two "
            "apart.",
            "",
            "| task | anchor | anchor's seconds | anchor test | tunelab test at that time "
            "| at least as good | per seed: higher/equal/lower; mean difference [95% CI] |",
            "|---|---|---|---|---|---|---|",
            *summary,
            "",
            "#### Target 2: GridSearchCV's best CV score within a fifth of its fits",
            "",
            f"'{SAME_BUDGET}' with the grid's number of configurations as budget.",
            "",
            "| task | a fifth of the grid's fits | fits to reach, per seed | seeds within a fifth |",
            "|---|---|---|---|",
            *fifth,
        ]
    )


def _paired(anytime: list[dict[str, Any]], anchor_rows: list[dict[str, Any]], anchor: str) -> str:
    theirs = {r["seed"]: r["test"] for r in anchor_rows}
    diffs = np.array(
        [
            r["at_time"][anchor] - theirs[r["seed"]]
            for r in anytime
            if r["seed"] in theirs and np.isfinite(r["at_time"][anchor])
        ]
    )
    if diffs.size == 0:
        return "-"
    tol = 1e-12
    counts = f"{(diffs > tol).sum()}/{(np.abs(diffs) <= tol).sum()}/{(diffs < -tol).sum()}"
    if diffs.size < 2:
        return f"{counts}; {diffs.mean():+.4f}"
    half = stats.t.ppf(0.975, diffs.size - 1) * diffs.std(ddof=1) / np.sqrt(diffs.size)
    return f"{counts}; {diffs.mean():+.4f} [{diffs.mean() - half:+.4f}, {diffs.mean() + half:+.4f}]"


def _first_per_file(files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(f.read_text())[0] for f in files]


def _write_docs(text: str) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
    start, end = "<!-- sklearn:start -->", "<!-- sklearn:end -->"
    block = f"{start}\n## SearchCV (issue 5)\n\n{text}\n{end}"
    current = docs.read_text()
    if start in current:
        head, rest = current.split(start, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    docs.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, smaller data (~5 min)")
    parser.add_argument("--seeds", type=int, default=None, help="default 5 (1 with --quick)")
    parser.add_argument("--tasks", nargs="+", default=None, help="task names, e.g. svm/digits")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run in parallel processes")
    parser.add_argument(
        "--report", nargs="+", type=Path, default=None, help="only report these results files"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.report:
        rows = [row for f in args.report for row in json.loads(f.read_text())]
        seeds = sorted({r["seed"] for r in rows})
        command = " + ".join(r.get("command", "?") for r in _first_per_file(args.report))
        minutes = sum(r.get("minutes", 0.0) for r in _first_per_file(args.report))
        text = report(rows, seeds, command, minutes)
        print(text)
        if args.write_docs:
            _write_docs(text)
        return
    seeds = list(range(args.seeds or (1 if args.quick else 5)))
    names = [t["name"] for t in tasks(args.quick) if not args.tasks or t["name"] in args.tasks]
    jobs = [(name, seed, args.quick) for name in names for seed in seeds]
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            for part in pool.map(_run_seed, jobs):
                rows += part
                print(f"done {part[0]['task']} seed {part[0]['seed']}", flush=True)
    else:
        for job in jobs:
            rows += _run_seed(job)
    command = "benchmarks/sklearn/run.py " + " ".join(
        a for a in sys.argv[1:] if a != "--write-docs"
    )
    minutes = (time.perf_counter() - began) / 60
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    stamped = [dict(r, command=command.strip(), minutes=minutes) for r in rows]
    path = out / f"run-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(stamped, indent=1))
    print(f"results: {path}")
    text = report(rows, seeds, command.strip(), minutes)
    print(text)
    if args.write_docs:
        _write_docs(text)


if __name__ == "__main__":
    main()
