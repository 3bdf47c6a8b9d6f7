"""The executor interface: the one optimize loop hands trials to an executor and collects outcomes.

Whatever runs the objective (this process, worker processes, a Dask cluster), the driver keeps
the live Trial objects and is the only writer to storage: remote objectives reach their trial
through a proxy whose calls the executor serves in ``wait``.
"""

from __future__ import annotations

import abc
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..exceptions import TrialPruned

if TYPE_CHECKING:
    from .._trial import Trial


@dataclass
class Outcome:
    """How one trial's objective ended: with values, pruned, or with an error."""

    trial: Trial
    kind: str  # "values" | "pruned" | "error"
    values: Any = None
    error: BaseException | None = None
    error_text: str | None = None
    traceback: str | None = None


def run_objective(
    objective: Callable[[Any], Any], trial: Any
) -> tuple[str, Any, BaseException | None, str | None]:
    """Call the objective and classify the result; KeyboardInterrupt passes through."""
    try:
        values = objective(trial)
    except TrialPruned:
        return "pruned", None, None, None
    except Exception as exc:
        return "error", None, exc, traceback.format_exc()
    return "values", values, None, None


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Executor(abc.ABC):
    """Runs trials. ``submit`` may run the trial at once (inline) or hand it to a worker."""

    #: True when the executor can stop a trial that overruns ``trial_timeout``.
    supports_trial_timeout: bool = False

    @abc.abstractmethod
    def start(self, objective: Callable[[Any], Any], trial_timeout: float | None = None) -> None:
        """Prepare workers for ``objective``; raise a clear error if it cannot be shipped.
        With ``trial_timeout``, a trial running longer is stopped and ends as a
        :class:`~tunelab.exceptions.TrialTimeoutError` outcome."""

    @abc.abstractmethod
    def free_slots(self) -> int:
        """How many more trials can be submitted now."""

    @abc.abstractmethod
    def submit(self, trial: Trial) -> None: ...

    @abc.abstractmethod
    def wait(self, timeout: float | None) -> list[Outcome]:
        """Serve workers until at least one trial ends (or ``timeout``); return the endings."""

    @abc.abstractmethod
    def running(self) -> list[Trial]:
        """Trials submitted whose outcome has not been returned yet."""

    @abc.abstractmethod
    def shutdown(self, *, cancel: bool) -> None:
        """Stop workers; ``cancel=True`` abandons running trials (their processes end)."""
