"""A benchmark task: a search space in tunelab's distributions and an objective to minimize."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab import Distribution


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "synthetic" or "ml"
    space: Mapping[str, Distribution]
    objective: Callable[[dict[str, Any]], float]  # picklable, so tasks can run in processes
    f_opt: float | None = None  # the known optimum, when there is one
    note: str = ""


def all_tasks() -> list[Task]:
    from ._ml import ml_tasks
    from ._synthetic import synthetic_tasks

    return synthetic_tasks() + ml_tasks()


# Few enough that every optimizer, GP-based ones included, runs on each within a few minutes on
# 2 cores, still covering continuous, integer, categorical and log-scaled dimensions plus real models.
QUICK_TASKS = ("branin", "rosenbrock4-mixed", "styblinski4-int-log", "ml-knn-wine")
