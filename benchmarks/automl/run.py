"""tunelab.automl against FLAML at equal time budgets, test score on a held-out split.

    .venv/bin/python benchmarks/automl/run.py --quick     # 10 s budget, 2 seeds (~5 min)
    .venv/bin/python benchmarks/automl/run.py             # 30 s and 120 s, 5 seeds (hours)
    .venv/bin/python benchmarks/automl/run.py --jobs 2 --budgets 30   # tunelab and FLAML side by side
    .venv/bin/python benchmarks/automl/run.py --report results/a.jsonl results/b.jsonl --write-docs

Needs ``pip install flaml`` (listed in benchmarks/requirements.txt). Both systems run with one
thread (n_jobs=1 and BLAS/OpenMP limited to one thread) on the same 75/25 split per seed, with
accuracy (classification) or r2 (regression) as the metric. Results go to
``benchmarks/automl/results/`` (one JSON line per fit, written as each fit ends, so a stopped run
keeps what it measured) and, with ``--write-docs``, to docs/benchmarks.md between the ``automl``
markers.

With ``--jobs 2`` the fits run in two worker processes, queued so that tunelab and FLAML fit the
same dataset, seed and budget at the same time, one core each: whatever else loads the machine then
slows both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- automl:start -->", "<!-- automl:end -->"


def _mixed_classification(seed: int = 0):
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(100 + seed)
    X, y = make_classification(
        2000, 16, n_informative=8, n_redundant=4, flip_y=0.08, random_state=100 + seed
    )
    frame = pd.DataFrame(X, columns=[f"n{i}" for i in range(X.shape[1])])
    # An informative categorical (binned informative feature) and two noise categoricals.
    frame["grade"] = pd.cut(frame["n0"], 5, labels=list("abcde")).astype(object)
    frame = frame.drop(columns="n0")
    frame["city"] = rng.choice([f"c{i}" for i in range(30)], size=len(frame))
    frame["color"] = rng.choice(["red", "green", "blue"], size=len(frame))
    for col in ("n1", "n2", "n5", "grade"):
        frame.loc[rng.random(len(frame)) < 0.12, col] = np.nan
    return frame, y, "classification"


def _mixed_regression(seed: int = 0):
    from sklearn.datasets import make_friedman1

    rng = np.random.default_rng(200 + seed)
    X, y = make_friedman1(1500, n_features=10, noise=1.0, random_state=200 + seed)
    frame = pd.DataFrame(X, columns=[f"n{i}" for i in range(X.shape[1])])
    kind = rng.choice(["low", "mid", "high", "none"], size=len(frame))
    y = y + pd.Series(kind).map({"low": -2.0, "mid": 0.0, "high": 2.0, "none": 0.5}).to_numpy()
    frame["kind"] = kind
    frame["store"] = rng.choice([f"s{i}" for i in range(12)], size=len(frame))
    for col in ("n0", "n3", "n7", "kind"):
        frame.loc[rng.random(len(frame)) < 0.1, col] = np.nan
    return frame, y, "regression"


def _bundled(name: str, task: str):
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=True)
    return X, np.asarray(y), task


DATASETS = {
    "breast_cancer": lambda: _bundled("breast_cancer", "classification"),
    "wine": lambda: _bundled("wine", "classification"),
    "digits": lambda: _bundled("digits", "classification"),
    "diabetes": lambda: _bundled("diabetes", "regression"),
    "mixed_clf (2000x18, 3 categorical, 12% missing)": _mixed_classification,
    "mixed_reg (1500x12, 2 categorical, 10% missing)": _mixed_regression,
}


def _score(task: str, y_true, y_pred) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    return float(
        accuracy_score(y_true, y_pred) if task == "classification" else r2_score(y_true, y_pred)
    )


def run_tunelab(X, y, task, budget, seed):
    from tunelab.automl import AutoClassifier, AutoRegressor

    cls = AutoClassifier if task == "classification" else AutoRegressor
    model = cls(time_budget=budget, random_state=seed, verbose=0)
    return model.fit(X, y), {"n_trials": model.n_trials_, "ensemble": model.ensemble_ is not None}


def run_flaml(X, y, task, budget, seed):
    from flaml import AutoML
    from threadpoolctl import threadpool_limits

    model = AutoML()
    with threadpool_limits(1):
        model.fit(
            X,
            y,
            task=task,
            time_budget=budget,
            metric="accuracy" if task == "classification" else "r2",
            seed=seed,
            n_jobs=1,
            verbose=0,
        )
    return model, {"best": model.best_estimator}


SYSTEMS = {"tunelab": run_tunelab, "flaml": run_flaml}


def _fit_one(job: tuple[str, int, float, str]) -> dict:
    name, seed, budget, system = job
    from sklearn.model_selection import train_test_split

    X, y, task = DATASETS[name]()
    strat = y if task == "classification" else None
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=strat)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = SYSTEMS[system](Xtr, ytr, task, budget, seed)
        fit_s = time.perf_counter() - t0
        test = _score(task, yte, model.predict(Xte))
    return dict(
        dataset=name,
        task=task,
        seed=seed,
        budget=budget,
        system=system,
        test_score=test,
        fit_seconds=fit_s,
        **{k: str(v) for k, v in info.items()},
    )


def _one_thread_everywhere() -> None:
    # Both systems get one core each; BLAS/OpenMP pools must not spill onto the other's core.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s budget, 2 seeds")
    parser.add_argument("--budgets", type=float, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--datasets", nargs="+", default=None, help="name prefixes")
    parser.add_argument("--jobs", type=int, default=1, help="fits at once (2: pairs side by side)")
    parser.add_argument(
        "--report", nargs="+", type=Path, default=None, help="only report these results files"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.report:
        rows = [
            json.loads(line) for f in args.report for line in f.read_text().splitlines() if line
        ]
        frame = pd.DataFrame(rows)
        command = " + ".join(str(f.name) for f in args.report)
        report = _report(
            frame, args.quick, float(frame.fit_seconds.sum()) / max(args.jobs, 1), command
        )
        print(report)
        if args.write_docs:
            _write_docs(report)
        return

    _one_thread_everywhere()
    budgets = args.budgets or ([10.0] if args.quick else [30.0, 120.0])
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    names = [
        n for n in DATASETS if not args.datasets or any(n.startswith(p) for p in args.datasets)
    ]
    jobs = [
        (name, seed, budget, system)
        for budget in budgets
        for name in names
        for seed in seeds
        for system in SYSTEMS
    ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = HERE / "results" / f"{'quick' if args.quick else 'full'}-{stamp}.jsonl"
    out.parent.mkdir(exist_ok=True)
    rows = []
    began = time.perf_counter()

    def record(row: dict) -> None:
        rows.append(row)
        with out.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        info = {k: v for k, v in row.items() if k in ("n_trials", "ensemble", "best")}
        print(
            f"{row['dataset'][:14]:14s} seed={row['seed']} budget={row['budget']:g} "
            f"{row['system']:8s} test={row['test_score']:.4f} fit={row['fit_seconds']:.1f}s {info}",
            flush=True,
        )

    if args.jobs <= 1:
        for job in jobs:
            record(_fit_one(job))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # spawn: each fit starts from a clean interpreter, as a user's script would.
        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
            for row in pool.map(_fit_one, jobs):
                record(row)
    elapsed = time.perf_counter() - began
    print(f"results: {out}")
    command = "benchmarks/automl/run.py" + (" --quick" if args.quick else "")
    report = _report(pd.DataFrame(rows), args.quick, elapsed, command)
    print(report)
    if args.write_docs:
        _write_docs(report)


def _report(frame: pd.DataFrame, quick: bool, elapsed: float, command: str) -> str:
    import flaml

    import sklearn

    table = frame.pivot_table(
        index=["dataset", "budget"], columns="system", values="test_score", aggfunc="mean"
    )
    fit = frame.pivot_table(index="budget", columns="system", values="fit_seconds", aggfunc="max")
    lines = [
        "## AutoML: tunelab.automl vs FLAML (issue 9)",
        "",
        f"{'QUICK RUN (to prove the harness; not a result)' if quick else 'Full run'}: "
        f"{datetime.now(UTC):%Y-%m-%d}, `{command}` "
        f"({elapsed / 60:.0f} min). Seeds {sorted(frame.seed.unique().tolist())}; "
        f"FLAML {flaml.__version__}, scikit-learn {sklearn.__version__}, Python {platform.python_version()}; "
        "both with one thread on a shared 2-core machine. Test score on a 25% held-out split "
        "(accuracy for classification, r2 for regression), mean over seeds.",
        "",
        "| dataset | budget (s) | tunelab | FLAML | difference |",
        "|---|---|---|---|---|",
    ]
    for (dataset, budget), row in table.iterrows():
        lines.append(
            f"| {dataset} | {budget:g} | {row['tunelab']:.4f} | {row['flaml']:.4f} | {row['tunelab'] - row['flaml']:+.4f} |"
        )
    for budget in sorted(frame.budget.unique()):
        sub = table.xs(budget, level="budget")
        wins = int((sub["tunelab"] > sub["flaml"] + 1e-9).sum())
        ties = int((abs(sub["tunelab"] - sub["flaml"]) <= 1e-9).sum())
        lines.append("")
        lines.append(
            f"Budget {budget:g} s: mean test score over datasets tunelab {sub['tunelab'].mean():.4f}, "
            f"FLAML {sub['flaml'].mean():.4f}; tunelab better on {wins}, tied on {ties} of {len(sub)} datasets. "
            f"Longest fit: tunelab {fit.loc[budget, 'tunelab']:.1f} s, FLAML {fit.loc[budget, 'flaml']:.1f} s."
        )
    lines += [
        "",
        "auto-sklearn and AutoGluon were not compared: see docs/automl.md (Benchmark).",
    ]
    return "\n".join(lines)


def _write_docs(report: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = f"{START}\n{report}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
