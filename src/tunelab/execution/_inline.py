"""Run each trial in this process, one at a time (``n_jobs=1``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._base import Executor, Outcome, describe_error, run_objective

if TYPE_CHECKING:
    from .._trial import Trial


class InlineExecutor(Executor):
    def __init__(self) -> None:
        self._objective: Callable[[Any], Any] | None = None
        self._current: Trial | None = None
        self._done: list[Outcome] = []

    def start(self, objective: Callable[[Any], Any], trial_timeout: float | None = None) -> None:
        if trial_timeout is not None:
            raise ValueError("InlineExecutor cannot stop a running trial; use ProcessExecutor.")
        self._objective = objective

    def free_slots(self) -> int:
        return 0 if (self._done or self._current is not None) else 1

    def submit(self, trial: Trial) -> None:
        assert self._objective is not None, "start() first"
        self._current = trial
        kind, values, error, tb = run_objective(self._objective, trial)
        self._current = None
        self._done.append(
            Outcome(trial, kind, values, error, describe_error(error) if error else None, tb)
        )

    def wait(self, timeout: float | None) -> list[Outcome]:
        done, self._done = self._done, []
        return done

    def running(self) -> list[Trial]:
        pending = [o.trial for o in self._done]
        return pending + ([self._current] if self._current is not None else [])

    def shutdown(self, *, cancel: bool) -> None:
        self._current = None
