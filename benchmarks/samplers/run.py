"""Run every optimizer on every task with several seeds and write the table to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.samplers.run --seeds 5 --budget 100 --ml-budget 60
    .venv/bin/python -m benchmarks.samplers.run --quick
    .venv/bin/python -m benchmarks.samplers.run --overhead --overhead-max 300

By hand only (never in CI): the full run takes hours on 2 cores.
"""

from __future__ import annotations

import os

# One thread per model fit: on a shared 2-core machine OpenMP oversubscription made histogram
# gradient boosting 20x slower, which would measure the machine, not the optimizers.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import fnmatch  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from . import _overhead, _report, _scoring  # noqa: E402
from ._optimizers import RANDOM_BASELINE, Optimizer, all_optimizers  # noqa: E402
from ._tasks import QUICK_TASKS, Task, all_tasks  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BEST_KNOWN = HERE / "best_known.json"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.samplers.run", description=__doc__)
    p.add_argument("--seeds", type=int, default=None, help="seeds per (optimizer, task); 5")
    p.add_argument("--seed-base", type=int, default=0, help="first seed (seeds are consecutive)")
    p.add_argument("--budget", type=int, default=None, help="trials per synthetic run; 100")
    p.add_argument("--ml-budget", type=int, default=None, help="trials per ML run; 60")
    p.add_argument("--quick", action="store_true", help="a subset that runs in a few minutes")
    p.add_argument("--tasks", default="", help="comma-separated task names or globs (ml-svm-*)")
    p.add_argument("--optimizers", default="", help="comma-separated substrings of names")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    p.add_argument("--overhead", action="store_true", help="measure ms per ask+tell instead")
    p.add_argument("--overhead-max", type=int, default=1000, help="trials per overhead run")
    p.add_argument(
        "--overhead-timeout", type=float, default=600.0, help="seconds per sampler, at most"
    )
    p.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--no-write", action="store_true", help="print the markdown only")
    args = p.parse_args(argv)
    quick = {"seeds": 2, "budget": 20, "ml_budget": 12}
    full = {"seeds": 5, "budget": 100, "ml_budget": 60}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def _select_tasks(args: argparse.Namespace) -> list[Task]:
    tasks = all_tasks()
    patterns = [s.strip() for s in args.tasks.split(",") if s.strip()]
    if not patterns and args.quick:
        patterns = list(QUICK_TASKS)
    if patterns:
        tasks = [t for t in tasks if any(fnmatch.fnmatch(t.name, pat) for pat in patterns)]
    if not tasks:
        raise SystemExit(f"No task matches {args.tasks!r}.")
    return tasks


def _select_optimizers(args: argparse.Namespace) -> tuple[list[Optimizer], dict[str, str]]:
    wanted = [s.strip().lower() for s in args.optimizers.split(",") if s.strip()]
    chosen, skipped = [], {}
    for opt in all_optimizers():
        if (
            wanted
            and opt.name != RANDOM_BASELINE
            and not any(w in opt.name.lower() for w in wanted)
        ):
            continue
        ok, note = opt.available()
        if ok:
            chosen.append(opt)
        else:
            skipped[opt.name] = note
    if RANDOM_BASELINE not in {o.name for o in chosen}:
        raise SystemExit("The random baseline (tunelab RandomSampler) is needed for the scores.")
    return chosen, skipped


def _command() -> str:
    return " ".join([".venv/bin/python -m benchmarks.samplers.run", *sys.argv[1:]])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_run(opt_name: str, task_name: str, budget: int, seed: int) -> tuple[list[float], float]:
    """Runs in a worker process when --jobs > 1: rebuilds the optimizer and task by name."""
    opt = next(o for o in all_optimizers() if o.name == opt_name)
    task = next(t for t in all_tasks() if t.name == task_name)
    trace = opt.run(task, budget, seed)
    return trace.values, trace.overhead_s


def _side_by_side(args: argparse.Namespace) -> None:
    tasks = _select_tasks(args)
    optimizers, skipped = _select_optimizers(args)
    seeds = list(range(args.seed_base, args.seed_base + args.seeds))
    budget = {t.name: args.ml_budget if t.kind == "ml" else args.budget for t in tasks}
    units = [(o, t, s) for t in tasks for o in optimizers for s in seeds]
    _log(
        f"{len(optimizers)} optimizers x {len(tasks)} tasks x {len(seeds)} seeds = {len(units)} runs"
        + (f"; skipped: {', '.join(skipped)}" if skipped else "")
    )
    results: dict[str, dict[str, list[list[float]]]] = {o.name: {} for o in optimizers}
    overhead: dict[str, list[float]] = {o.name: [] for o in optimizers}
    failed: dict[str, str] = {}
    started = time.perf_counter()

    def record(o: Optimizer, t: Task, values: list[float], spent: float) -> None:
        results[o.name].setdefault(t.name, []).append(values)
        overhead[o.name].append(1000 * spent / max(1, len(values)))

    done = 0
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = {
                pool.submit(_one_run, o.name, t.name, budget[t.name], s): (o, t, s)
                for o, t, s in units
            }
            for fut in as_completed(futures):
                o, t, s = futures[fut]
                done += 1
                try:
                    values, spent = fut.result()
                    record(o, t, values, spent)
                except Exception as exc:  # one broken anchor must not lose the whole run
                    failed[f"{o.name} on {t.name}"] = f"{type(exc).__name__}: {exc}"[:160]
                _log(f"[{done}/{len(units)}] {o.name} / {t.name} / seed {s}")
    else:
        for o, t, s in units:
            done += 1
            try:
                trace = o.run(t, budget[t.name], s)
                record(o, t, trace.values, trace.overhead_s)
            except Exception as exc:
                failed[f"{o.name} on {t.name}"] = f"{type(exc).__name__}: {exc}"[:160]
            _log(
                f"[{done}/{len(units)}] {time.perf_counter() - started:7.1f}s "
                f"{o.name} / {t.name} / seed {s}"
            )
    # A run that failed on some seed would bias that optimizer's mean: drop the (optimizer,
    # task) pair entirely, and say so.
    for key in failed:
        name, task = key.split(" on ", 1)
        results.get(name, {}).pop(task, None)
    elapsed = time.perf_counter() - started

    best_known = json.loads(BEST_KNOWN.read_text()) if BEST_KNOWN.exists() else {}
    known = {t.name: t.f_opt for t in tasks}
    f_opt = _scoring.f_opt_per_task(results, known, best_known)
    for t in tasks:
        if t.f_opt is None and t.name in f_opt:
            best_known[t.name] = min(f_opt[t.name], best_known.get(t.name, np.inf))
    summaries, per_task, saturated = _scoring.summarize(results, RANDOM_BASELINE, f_opt, budget)

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    raw = {
        "timestamp": stamp,
        "command": _command(),
        "seeds": seeds,
        "budget": budget,
        "f_opt": f_opt,
        "environment": _report.environment(),
        "skipped": skipped,
        "failed": failed,
        "results": results,
        "ms_per_trial": {k: float(np.mean(v)) if v else None for k, v in overhead.items()},
    }
    markdown = _scores_markdown(
        args,
        tasks,
        seeds,
        summaries,
        per_task,
        saturated,
        overhead,
        optimizers,
        skipped,
        failed,
        raw,
        elapsed,
    )
    if args.no_write:
        print(markdown)
        return
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / f"{stamp}{'-quick' if args.quick else ''}.json").write_text(
        json.dumps(raw, indent=1)
    )
    BEST_KNOWN.write_text(json.dumps(dict(sorted(best_known.items())), indent=1) + "\n")
    _report.write_block(Path(args.output), "scores", markdown)
    print(markdown)
    _log(f"Wrote {args.output} and {results_dir}/{stamp}.json in {elapsed:.0f}s")


def _scores_markdown(
    args,
    tasks,
    seeds,
    summaries,
    per_task,
    saturated,
    overhead,
    optimizers,  # type: ignore[no-untyped-def]
    skipped,
    failed,
    raw,
    elapsed,
) -> str:
    kind = (
        "QUICK RUN (a subset, to prove the harness works; not a result)"
        if args.quick
        else "Full run"
    )
    order = sorted(summaries, key=lambda n: (-np.nan_to_num(summaries[n].score_full, nan=-1e9), n))
    notes = {o.name: o.note for o in optimizers}
    rows = [
        [
            name,
            _report.fmt(summaries[name].score_full),
            _report.fmt(summaries[name].score_half),
            _report.fmt(summaries[name].mean_rank, 2),
            _report.fmt(float(np.mean(overhead[name])) if overhead[name] else None, 1),
            notes.get(name, ""),
        ]
        for name in order
    ]
    parts = [
        f"### {kind}: {raw['timestamp']}",
        "",
        f"Command: `{raw['command']}` "
        f"({elapsed / 60:.1f} min). Seeds {seeds}; budgets: synthetic {args.budget} trials, "
        f"ML {args.ml_budget} trials; {len(tasks)} tasks: {', '.join(t.name for t in tasks)}.",
        "",
        _report.table(
            ["optimizer", "mean score @full", "mean score @half", "mean rank", "ms/trial", "notes"],
            rows,
        ),
        "",
    ]
    if saturated:
        parts += [
            f"Left out of the scores (random search reached f_opt): {', '.join(saturated)}.",
            "",
        ]
    if skipped:
        parts += ["Not run (did not import here):", ""]
        parts += [f"- {name}: {why}" for name, why in skipped.items()]
        parts.append("")
    if failed:
        parts += ["Failed (their task dropped for that optimizer):", ""]
        parts += [f"- {key}: {why}" for key, why in failed.items()]
        parts.append("")
    task_names = [t.name for t in tasks if t.name not in saturated]
    per_rows = [[name] + [_report.fmt(per_task[name].get(t)) for t in task_names] for name in order]
    parts += [
        "<details><summary>Mean score per task at the full budget</summary>",
        "",
        _report.table(["optimizer"] + task_names, per_rows),
        "",
        "</details>",
        "",
        "Environment: " + "; ".join(f"{k}: {v}" for k, v in raw["environment"].items()) + ".",
    ]
    return "\n".join(parts)


def _overhead_run(args: argparse.Namespace) -> None:
    wanted = [s.strip().lower() for s in args.optimizers.split(",") if s.strip()]
    rows, skipped = [], {}
    started = time.perf_counter()
    for name, build in _overhead.contenders():
        if wanted and not any(w in name.lower() for w in wanted):
            continue
        try:
            loop = build()
        except Exception as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            continue
        t0 = time.perf_counter()
        times = loop(args.overhead_max, args.overhead_timeout)
        spent = time.perf_counter() - t0
        means = _overhead.window_means(times, args.overhead_max)
        stopped = "" if len(times) >= args.overhead_max else f"stopped at {len(times)} (time cap)"
        rows.append([name, *means, f"{spent:.0f}", stopped])
        _log(f"{name}: {len(times)} trials in {spent:.1f}s")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    windows = [f"ms/trial [{lo},{hi})" for lo, hi in _overhead.WINDOWS]
    env = _report.environment()
    parts = [
        f"### Overhead: {stamp}",
        "",
        f"Command: `{_command()}` ({(time.perf_counter() - started) / 60:.1f} min). "
        f"Milliseconds per ask + tell on a 10-dimensional mixed space (4 floats, 2 log floats, "
        f"1 stepped float, 1 int, 1 log int, 1 categorical) with a trivial objective, seed 0, "
        f"up to {args.overhead_max} trials, at most {args.overhead_timeout:.0f}s per sampler "
        "(— = window not reached; a run stopped by the time cap shows the trials it reached).",
        "",
        _report.table(["sampler", *windows, "total s", "note"], rows),
        "",
    ]
    if skipped:
        parts += ["Not run:", ""] + [f"- {n}: {why}" for n, why in skipped.items()] + [""]
    parts.append("Environment: " + "; ".join(f"{k}: {v}" for k, v in env.items()) + ".")
    markdown = "\n".join(parts)
    if not args.no_write:
        _report.write_block(Path(args.output), "overhead", markdown)
    print(markdown)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.overhead:
        _overhead_run(args)
    else:
        _side_by_side(args)


if __name__ == "__main__":
    main()
