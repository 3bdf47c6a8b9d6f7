"""Do tunelab's TPE and Optuna's TPE propose alike when both see the same history?

    .venv/bin/python -m benchmarks.samplers.same_history --task ml-ridge-diabetes
    .venv/bin/python -m benchmarks.samplers.same_history --task branin --proposals 200

Histories are taken from tunelab TPE runs on the task (so they are as concentrated as TPE's own
histories get). For each history both libraries are given its trials and asked for the next
configuration ``--proposals`` times with different seeds; per parameter, a two-sample
Kolmogorov-Smirnov test compares the two sets of proposals (on the log scale for log ranges,
on choice indices for categoricals). A small p-value on a history means the two models differ
there. The benchmark's mean scores can then be told apart from the seeds' luck: if every
history's proposals agree, a gap in mean score between the two samplers comes from the runs'
random start, not from the model. By hand only, like the rest of benchmarks/.
"""

from __future__ import annotations

import argparse
import math
import warnings
from typing import Any

import numpy as np

from tunelab import Categorical, Distribution

from ._optimizers import _optuna_distribution
from ._tasks import Task, all_tasks


def _history(task: Task, n_trials: int, seed: int) -> list[tuple[dict[str, Any], float]]:
    import tunelab as tl

    study = tl.create_study(sampler=tl.samplers.TPESampler(seed=seed))
    out = []
    for _ in range(n_trials):
        trial = study.ask(task.space)
        value = task.objective(dict(trial.params))
        study.tell(trial, value)
        out.append((dict(trial.params), value))
    return out


def _tunelab_proposal(
    task: Task, history: list[tuple[dict[str, Any], float]], seed: int, joint: bool
) -> dict:
    import tunelab as tl

    study = tl.create_study(sampler=tl.samplers.TPESampler(seed=seed, multivariate=joint))
    for params, value in history:
        study.enqueue_trial(params)
        study.tell(study.ask(task.space), value)
    return dict(study.ask(task.space).params)


def _optuna_proposal(
    task: Task, history: list[tuple[dict[str, Any], float]], seed: int, joint: bool
) -> dict:
    import optuna

    dists = {n: _optuna_distribution(d) for n, d in task.space.items()}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=joint))
    for params, value in history:
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=dists, value=float(value))
        )
    return dict(study.ask(dists).params)


def _coordinate(distribution: Distribution, value: Any) -> float:
    if isinstance(distribution, Categorical):
        return float(distribution.index(value))
    return math.log(value) if getattr(distribution, "log", False) else float(value)


def _median(distribution: Distribution, coordinates: np.ndarray) -> str:
    middle = float(np.median(coordinates))
    if isinstance(distribution, Categorical):
        return f"choice {middle:g}"
    return f"{math.exp(middle) if getattr(distribution, 'log', False) else middle:.4g}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.samplers.same_history", description=__doc__
    )
    p.add_argument("--task", default="ml-ridge-diabetes")
    p.add_argument("--lengths", default="10,14,18,22,26,30", help="history lengths, one run each")
    p.add_argument("--proposals", type=int, default=400, help="proposals per library and history")
    p.add_argument("--history-seed", type=int, default=100)
    p.add_argument(
        "--multivariate",
        action="store_true",
        help="compare both libraries' joint models (default: both per parameter)",
    )
    args = p.parse_args(argv)

    import optuna
    from scipy.stats import ks_2samp

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    task = next((t for t in all_tasks() if t.name == args.task), None)
    if task is None:
        raise SystemExit(f"No task named {args.task!r}.")
    names = sorted(task.space)
    model = "joint" if args.multivariate else "per-parameter"
    print(f"task {task.name}; {model} models; {args.proposals} proposals per library and history")
    print("| history length | parameter | KS p-value | tunelab median | Optuna median |")
    print("|---|---|---|---|---|")
    for i, length in enumerate(int(s) for s in args.lengths.split(",")):
        history = _history(task, length, args.history_seed + i)
        seeds = range(args.proposals)
        ours = [_tunelab_proposal(task, history, s, args.multivariate) for s in seeds]
        theirs = [_optuna_proposal(task, history, s, args.multivariate) for s in seeds]
        for name in names:
            d = task.space[name]
            a = np.array([_coordinate(d, p[name]) for p in ours])
            b = np.array([_coordinate(d, p[name]) for p in theirs])
            print(
                f"| {length} | {name} | {ks_2samp(a, b).pvalue:.3f} | "
                f"{_median(d, a)} | {_median(d, b)} |"
            )


if __name__ == "__main__":
    main()
