"""The optional progress bar of optimize(): trials done, best value so far, time left."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._frozen import FrozenTrial, StudyDirection, TrialState

if TYPE_CHECKING:
    from ._study import Study


class ProgressBar:
    def __init__(
        self,
        enabled: bool,
        n_trials: int | None,
        timeout: float | None,
        study: Study,
        began: float | None = None,
    ) -> None:
        """``began``: the ``time.monotonic()`` the run's budget counts from (the executor's
        start-up included), so that the bar's clock is the budget's."""
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
        )

        self._by_time = n_trials is None and timeout is not None
        self._done = 0
        if self._by_time:
            # The bar measures seconds: labelled "trials", "3/3" read as three trials done.
            # It follows the clock, not the trials: moved only when a trial ended, it sat at
            # 0.0 s through a 40 s first trial, which looks like a hang.
            columns: tuple[Any, ...] = (
                TextColumn("[bold]time"),
                _clock_bar(BarColumn),
                _budget_column(timeout),
                TextColumn("{task.fields[trials]}"),
            )
        else:
            columns = (
                TextColumn("[bold]trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                _remaining_column(timeout),
            )
            if timeout is not None:
                columns += (_budget_column(timeout),)
        self._progress = Progress(*columns, TextColumn("{task.fields[best]}"), transient=False)
        self._task = self._progress.add_task(
            "optimize", total=n_trials if not self._by_time else timeout, best="", trials=""
        )
        if began is not None:
            # Rich's clock is time.monotonic too; its task would count from its own creation.
            self._progress.tasks[0].start_time = began
        self._progress.start()

    def update(self, trial: FrozenTrial) -> None:
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
            self._progress.update(self._task, best=label, trials=trials)
        else:
            self._progress.advance(self._task)
            self._progress.update(self._task, best=label)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _clock_bar(bar_column: type) -> Any:
    """A bar filled by the time elapsed (of the task's total, the budget)."""
    from rich.progress_bar import ProgressBar as Bar

    class ClockBar(bar_column):  # type: ignore[misc, valid-type]
        def render(self, task: Any) -> Any:
            elapsed = task.elapsed or 0.0
            return Bar(
                total=task.total,
                completed=min(elapsed, task.total or elapsed),
                width=None if self.bar_width is None else max(1, self.bar_width),
                pulse=False,
                animation_time=task.get_time(),
                style=self.style,
                complete_style=self.complete_style,
                finished_style=self.finished_style,
                pulse_style=self.pulse_style,
            )

    return ClockBar()


def _budget_column(timeout: float) -> Any:
    """ "12/30 s": seconds elapsed of the budget, live."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class BudgetColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            elapsed = min(task.elapsed or 0.0, timeout)
            return Text(f"{elapsed:.0f}/{timeout:.0f} s", style="progress.elapsed")

    return BudgetColumn()


def _remaining_column(timeout: float | None) -> Any:
    """Time left at the trials' pace, but never past the budget: with n_trials=1000 and
    timeout=8 it read 16 minutes as the run ended at 8 s."""
    from datetime import timedelta

    from rich.progress import ProgressColumn
    from rich.text import Text

    class RemainingColumn(ProgressColumn):
        max_refresh = 0.5

        def render(self, task: Any) -> Text:
            left = task.time_remaining
            if timeout is not None:
                budget_left = max(0.0, timeout - (task.elapsed or 0.0))
                left = budget_left if left is None else min(left, budget_left)
            if left is None:
                return Text("-:--:--", style="progress.remaining")
            return Text(str(timedelta(seconds=int(left))), style="progress.remaining")

    return RemainingColumn()
