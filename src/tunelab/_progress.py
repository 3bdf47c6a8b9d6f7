"""The optional progress bar of optimize(): trials done, best value so far, time left."""

from __future__ import annotations

import math
from typing import Any

from ._frozen import FrozenTrial, TrialState


class ProgressBar:
    def __init__(self, enabled: bool, n_trials: int | None, timeout: float | None) -> None:
        self._progress: Any = None
        self._best: float | None = None
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"),
            transient=False,
        )
        self._by_time = n_trials is None and timeout is not None
        total = n_trials if n_trials is not None else (timeout if timeout is not None else None)
        self._task = self._progress.add_task("optimize", total=total, best="")
        self._progress.start()

    def update(self, trial: FrozenTrial, best: float | None, elapsed: float) -> None:
        if self._progress is None:
            return
        label = "" if best is None or math.isnan(best) else f"best {best:.6g}"
        if trial.state == TrialState.FAIL:
            label += "  (last trial failed)"
        if self._by_time:
            self._progress.update(self._task, completed=elapsed, best=label)
        else:
            self._progress.advance(self._task)
            self._progress.update(self._task, best=label)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
