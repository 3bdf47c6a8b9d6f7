"""The optional progress bar of optimize(): trials done, best value so far, time left."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._frozen import FrozenTrial, StudyDirection, TrialState

if TYPE_CHECKING:
    from ._study import Study


class ProgressBar:
    def __init__(
        self, enabled: bool, n_trials: int | None, timeout: float | None, study: Study
    ) -> None:
        self._progress: Any = None
        self._best: float | None = None
        if not enabled:
            return
        self._maximize = (
            len(study.directions) == 1 and study.directions[0] == StudyDirection.MAXIMIZE
        )
        self._single = len(study.directions) == 1
        if self._single:
            done = [
                t.values[0]
                for t in study.get_trials((TrialState.COMPLETE,), deepcopy=False)
                if t.values
            ]
            self._best = (max(done) if self._maximize else min(done)) if done else None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._by_time = n_trials is None and timeout is not None
        self._done = 0
        if self._by_time:
            # The bar measures seconds: labelled "trials", "3/3" read as three trials done.
            columns: tuple[Any, ...] = (
                TextColumn("[bold]time"),
                BarColumn(),
                TextColumn("{task.completed:.1f}/{task.total:.1f} s"),
                TextColumn("{task.fields[trials]}"),
            )
        else:
            columns = (
                TextColumn("[bold]trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
        self._progress = Progress(*columns, TextColumn("{task.fields[best]}"), transient=False)
        self._task = self._progress.add_task(
            "optimize", total=n_trials if not self._by_time else timeout, best="", trials=""
        )
        self._progress.start()

    def update(self, trial: FrozenTrial, elapsed: float) -> None:
        if self._progress is None:
            return
        if self._single and trial.state == TrialState.COMPLETE and trial.values:
            v = trial.values[0]
            if self._best is None or (v > self._best if self._maximize else v < self._best):
                self._best = v
        best = self._best
        label = "" if best is None or math.isnan(best) else f"best {best:.6g}"
        if trial.state == TrialState.FAIL:
            label += "  (last trial failed)"
        if self._by_time:
            self._done += 1
            trials = f"{self._done} trial{'s' if self._done != 1 else ''}"
            self._progress.update(self._task, completed=elapsed, best=label, trials=trials)
        else:
            self._progress.advance(self._task)
            self._progress.update(self._task, best=label)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
