"""Scale-out benchmark (run by hand): trials per minute with 1 and 2 workers, the driver's own
cost per trial, and the quality of a 4-worker run against a sequential one.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.scale.run [--trials 24] [--quality-seeds 5]

Writes a section of docs/benchmarks.md between <!-- scale:start --> and <!-- scale:end -->.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per trial, so workers are the parallelism
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import tunelab as tl  # noqa: E402
from benchmarks.samplers._synthetic import hartmann6  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


def cpu_objective(trial):  # a scikit-learn fit of about half a second
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    C = trial.suggest_float("C", 1e-2, 1e2, log=True)
    gamma = trial.suggest_float("gamma", 1e-4, 1e-2, log=True)
    return float(cross_val_score(SVC(C=C, gamma=gamma), X, y, cv=5).mean())


def _configurations(n: int) -> list[dict[str, float]]:
    # Every run evaluates the same configurations: an SVC's fit time depends on C and gamma, so
    # runs that drew different points would compare different amounts of work.
    rng = np.random.default_rng(0)
    return [
        {"C": float(10 ** rng.uniform(-2, 2)), "gamma": float(10 ** rng.uniform(-4, -2))}
        for _ in range(n)
    ]


def _tunelab_run(n_trials: int, **kwargs) -> tuple[float, float, float]:
    study = tl.create_study(direction="maximize", sampler=tl.samplers.RandomSampler(0))
    for params in _configurations(n_trials):
        study.enqueue_trial(params)
    cpu0, t0 = time.process_time(), time.perf_counter()
    study.optimize(cpu_objective, n_trials=n_trials, **kwargs)
    wall, driver_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    durations = [t.duration for t in study.trials if t.duration]
    return wall, driver_cpu, statistics.mean(durations)


def _optuna_run(n_trials: int, n_jobs: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    for params in _configurations(n_trials):
        study.enqueue_trial(params)
    t0 = time.perf_counter()
    study.optimize(cpu_objective, n_trials=n_trials, n_jobs=n_jobs)
    return time.perf_counter() - t0


def throughput(n_trials: int) -> list[str]:
    cpu_objective(tl.create_study().ask())  # warm imports and caches outside the timing
    rows = []
    wall1, cpu1, dur1 = _tunelab_run(n_trials)
    wall2, cpu2, dur2 = _tunelab_run(n_trials, n_jobs=2)
    rows.append(("tunelab, 1 worker (in process)", n_trials / wall1 * 60, 1.0, None))
    rows.append(
        (
            "tunelab, 2 worker processes",
            n_trials / wall2 * 60,
            wall1 / wall2,
            cpu2 / n_trials / dur2,
        )
    )
    try:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: cpu_objective(tl.create_study().ask()))  # warm the workers
            wall_d, cpu_d, dur_d = _tunelab_run(n_trials, executor=tl.DaskExecutor(client))
        rows.append(
            (
                "tunelab, Dask LocalCluster 2 workers",
                n_trials / wall_d * 60,
                wall1 / wall_d,
                cpu_d / n_trials / dur_d,
            )
        )
    except ImportError:
        rows.append(("tunelab, Dask (not installed)", float("nan"), float("nan"), None))
    o1 = _optuna_run(n_trials, 1)
    o2 = _optuna_run(n_trials, 2)
    rows.append(("Optuna, n_jobs=1", n_trials / o1 * 60, wall1 / o1, None))
    rows.append(("Optuna, n_jobs=2 (threads)", n_trials / o2 * 60, wall1 / o2, None))
    lines = [
        f"CPU-bound objective: SVC on digits, 5-fold CV (mean trial {dur1:.2f} s in process); the same "
        f"{n_trials} enqueued configurations in every run. 'Driver CPU' is the CPU time of the driver "
        "process (sampler, storage, the executor's own threads) per trial, over the trial's duration.",
        "",
        "| run | trials / minute | speed-up vs tunelab 1 worker | driver CPU per trial / trial time |",
        "|---|---|---|---|",
    ]
    for name, rate, speedup, driver in rows:
        share = "" if driver is None else f"{100 * driver:.2f} %"
        lines.append(f"| {name} | {rate:.1f} | {speedup:.2f}x | {share} |")
    lines.append(
        f"\nDriver CPU per trial in process (includes the objective): {cpu1 / n_trials:.3f} s."
    )
    return lines


def hartmann_objective(trial):
    x = np.array([trial.suggest_float(f"x{i}", 0, 1) for i in range(6)])
    time.sleep(0.02)  # let workers overlap the way real trials do
    return hartmann6(x)


def quality(seeds: int, n_trials: int) -> list[str]:
    sampler_cls = getattr(tl.samplers, "TPESampler", None) or getattr(
        tl.samplers, "GPSampler", None
    )
    if sampler_cls is None:
        return ["Quality comparison skipped: no model-based sampler in this tunelab."]
    f_opt = -3.32237
    rand = []
    for s in range(seeds):
        study = tl.create_study(sampler=tl.samplers.RandomSampler(s))
        study.optimize(hartmann_objective, n_trials=n_trials)
        rand.append(study.best_value)
    f_rand = statistics.median(rand)
    scores = {1: [], 4: []}
    for s in range(seeds):
        for n_jobs in (1, 4):
            study = tl.create_study(sampler=sampler_cls(seed=s))
            study.optimize(hartmann_objective, n_trials=n_trials, n_jobs=n_jobs)
            scores[n_jobs].append(100 * (f_rand - study.best_value) / (f_rand - f_opt))
    seq, par = statistics.mean(scores[1]), statistics.mean(scores[4])
    return [
        f"Quality at equal trials ({sampler_cls.__name__}, Hartmann6, {n_trials} trials, {seeds} seeds; "
        "normalized score 100 = optimum, 0 = median random search):",
        "",
        "| run | mean normalized score |",
        "|---|---|",
        f"| sequential | {seq:.1f} |",
        f"| 4 worker processes | {par:.1f} |",
        "",
        f"Difference: {seq - par:.1f} points (target: no worse than 10).",
    ]


def write_section(lines: list[str]) -> None:
    start, end = "<!-- scale:start -->", "<!-- scale:end -->"
    body = "\n".join(
        [
            start,
            "## Scale-out (issue 7)",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores), "
            f"tunelab {tl.__version__}, `python -m benchmarks.scale.run`.",
            "",
            *lines,
            end,
        ]
    )
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if start in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--quality-seeds", type=int, default=5)
    parser.add_argument("--quality-trials", type=int, default=60)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    lines = throughput(args.trials)
    print("\n".join(lines))
    if not args.skip_quality:
        lines += [""] + quality(args.quality_seeds, args.quality_trials)
    print("\n".join(lines))
    write_section(lines)


if __name__ == "__main__":
    main()
