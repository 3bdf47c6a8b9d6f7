"""Bayesmark-style normalized scores and per-task ranks.

score = 100 * (f_rand - best) / (f_rand - f_opt): 0 is as good as random search, 100 found the
optimum. f_rand is the median over seeds of random search's best value after the same number
of trials; f_opt is the known optimum or, failing that, the best value any run ever found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

# results[optimizer][task] = list over seeds of per-trial objective values
Results = Mapping[str, Mapping[str, Sequence[Sequence[float]]]]


def best_at(values: Sequence[float], n: int) -> float:
    return float(np.min(values[:n]))


@dataclass
class Summary:
    score_full: float
    score_half: float
    mean_rank: float
    n_scored: int  # (task, seed) pairs that entered the score


def f_opt_per_task(
    results: Results, known: Mapping[str, float | None], best_ever: Mapping[str, float]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for runs in results.values():
        for task, seeds in runs.items():
            found = min(float(np.min(v)) for v in seeds)
            candidates = [found, out.get(task, np.inf), best_ever.get(task, np.inf)]
            if known.get(task) is not None:
                candidates.append(known[task])  # type: ignore[arg-type]
            out[task] = float(min(candidates))
    return out


def summarize(
    results: Results, random_name: str, f_opt: Mapping[str, float], budget: Mapping[str, int]
) -> tuple[dict[str, Summary], dict[str, dict[str, float]], list[str]]:
    """Per optimizer summary, per task mean score at full budget, and the tasks left out of the
    score because random search already reached the optimum (nothing to normalize by)."""
    saturated: list[str] = []
    per_task: dict[str, dict[str, float]] = {name: {} for name in results}
    scores: dict[str, dict[str, list[float]]] = {name: {"full": [], "half": []} for name in results}
    tasks = sorted(results[random_name])
    for task in tasks:
        n_full = budget[task]
        n_half = max(1, n_full // 2)
        rand = results[random_name][task]
        f_rand = {n: float(np.median([best_at(v, n) for v in rand])) for n in (n_full, n_half)}
        if any(f_rand[n] - f_opt[task] <= 1e-12 * max(1.0, abs(f_opt[task])) for n in f_rand):
            saturated.append(task)
            continue
        for name, runs in results.items():
            if task not in runs:
                continue
            for label, n in (("full", n_full), ("half", n_half)):
                s = [
                    100 * (f_rand[n] - best_at(v, n)) / (f_rand[n] - f_opt[task])
                    for v in runs[task]
                ]
                scores[name][label].extend(s)
                if label == "full":
                    per_task[name][task] = float(np.mean(s))

    ranks: dict[str, list[float]] = {name: [] for name in results}
    for task in tasks:
        names = [n for n in results if task in results[n]]
        means = [np.mean([best_at(v, budget[task]) for v in results[n][task]]) for n in names]
        for n, r in zip(names, rankdata(means)):
            ranks[n].append(float(r))

    summaries = {
        name: Summary(
            score_full=float(np.mean(scores[name]["full"])) if scores[name]["full"] else np.nan,
            score_half=float(np.mean(scores[name]["half"])) if scores[name]["half"] else np.nan,
            mean_rank=float(np.mean(ranks[name])) if ranks[name] else np.nan,
            n_scored=len(scores[name]["full"]),
        )
        for name in results
    }
    return summaries, per_task, saturated
