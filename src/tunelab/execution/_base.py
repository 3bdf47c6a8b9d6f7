"""The executor interface: the one optimize loop hands trials to an executor and collects outcomes.

Whatever runs the objective (this process, worker processes, a Dask cluster), the driver keeps
the live Trial objects and is the only writer to storage: remote objectives reach their trial
through a proxy whose calls the executor serves in ``wait``.
"""

from __future__ import annotations

import abc
import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..exceptions import TrialPruned

if TYPE_CHECKING:
    from .._trial import Trial


@dataclass
class Outcome:
    """How one trial's objective ended: with values, pruned, with an error, or ``"invalid"``:
    with a result the driver cannot use or could not receive (``error_text`` says why); such a
    trial fails like one that returned a string, and the run goes on."""

    trial: Trial
    kind: str  # "values" | "pruned" | "error" | "invalid"
    values: Any = None
    error: BaseException | None = None
    error_text: str | None = None
    traceback: str | None = None


def run_objective(
    objective: Callable[[Any], Any], trial: Any, *, interrupt_is_error: bool = False
) -> tuple[str, Any, BaseException | None, str | None]:
    """Call the objective and classify the result.

    A KeyboardInterrupt passes through: Ctrl-C is the optimize loop's to handle. Where SIGINT
    cannot arrive (a worker ignores it, a Dask task runs off the main thread) it can only come
    from the objective's own code, so ``interrupt_is_error`` reports it like any other error.
    SystemExit and other BaseExceptions fail the trial with their own name; the loop then stops
    the run and raises them."""
    try:
        values = objective(trial)
    except TrialPruned:
        return "pruned", None, None, None
    except KeyboardInterrupt as exc:
        if not interrupt_is_error:
            raise
        return "error", None, exc, traceback.format_exc()
    except BaseException as exc:
        hint = _foreign_prune_hint(exc)
        if hint:
            exc.add_note(hint)
        return "error", None, exc, traceback.format_exc()
    return "values", values, None, None


def describe_error(exc: BaseException) -> str:
    hint = _foreign_prune_hint(exc)
    return f"{type(exc).__name__}: {exc}" + (f" ({hint})" if hint else "")


def _foreign_prune_hint(exc: BaseException) -> str | None:
    # Optuna's, most likely, from an objective ported from it: tunelab cannot take another
    # library's exception for a prune, but can say which one it wants.
    if type(exc).__name__ != "TrialPruned" or isinstance(exc, TrialPruned):
        return None
    module = type(exc).__module__.split(".")[0]
    return f"{module}.TrialPruned fails the trial; raise tunelab.TrialPruned to prune"


# Where a stand-in exception keeps the qualified names of the classes the original derived from,
# so that ``catch=`` still matches what the objective raised.
_RAISED_AS = "_tunelab_raised_as"


def _qualified_name(cls: type) -> str:
    # A spawned worker imports the main script as __mp_main__; the driver knows it as __main__.
    module = "__main__" if cls.__module__ == "__mp_main__" else cls.__module__
    return f"{module}.{cls.__qualname__}"


def unsendable(obj: Any) -> str | None:
    """Why ``obj`` would not survive the trip from a worker to the driver (None: it would).

    Pickling alone is not enough: an exception whose ``__init__`` takes other arguments than
    its ``args`` pickles but cannot be rebuilt, and the driver would fail reading it."""
    try:
        pickle.loads(pickle.dumps(obj))
    except Exception as exc:
        return describe_error(exc)
    return None


def sendable_result(values: Any) -> tuple[str, Any, str | None]:
    """What a worker sends for an objective's return value: (kind, values, reason).

    A value that does not pickle (a tensor type the driver cannot rebuild) goes as plain floats
    when the study would read it as numbers, so the trial ends as it would with ``n_jobs=1``;
    anything else fails the trial with the reason instead of stopping the run."""
    problem = unsendable(values)
    if problem is None:
        return "values", values, None
    floats = _plain_floats(values)
    if floats is not None:
        return "values", floats, None
    return (
        "invalid",
        None,
        (
            f"the objective returned {values!r} ({type(values).__name__}), which cannot be sent "
            f"from the worker to the driver ({problem}); return a float (or one float per objective)"
        ),
    )


def _plain_floats(values: Any) -> float | list[float] | None:
    from collections.abc import Sequence

    from .._validation import array_ndim, as_float

    if (isinstance(values, Sequence) and not isinstance(values, (str, bytes))) or (
        array_ndim(values) == 1
    ):
        floats = [as_float(v) for v in values]
        plain = [f for f in floats if f is not None]
        return plain if len(plain) == len(floats) else None
    return as_float(values)


def sendable_error(exc: BaseException) -> BaseException:
    """``exc`` itself if the driver can rebuild it, else a stand-in of the nearest built-in class
    it derives from (a ``ValueError`` subclass becomes a ``ValueError``) that carries the
    original's text, names its class in a note, and remembers its classes for ``catch=``."""
    problem = unsendable(exc)
    if problem is None:
        return exc
    text = describe_error(exc)
    stand_in: BaseException = Exception(text)
    for cls in type(exc).__mro__:
        if cls.__module__ != "builtins" or not issubclass(cls, BaseException):
            continue
        try:
            candidate = cls(text)
        except Exception:  # built-ins such as UnicodeDecodeError need more arguments
            continue
        if unsendable(candidate) is None:
            stand_in = candidate
            break
    stand_in.add_note(
        f"{_qualified_name(type(exc))} could not be sent to the driver ({problem}); this "
        f"{type(stand_in).__name__} stands in for it."
    )
    setattr(stand_in, _RAISED_AS, tuple(_qualified_name(c) for c in type(exc).__mro__))
    return stand_in


def raised_as(error: BaseException, classes: tuple[type[BaseException], ...]) -> bool:
    """Whether ``error``, or the original a stand-in replaced, is an instance of ``classes``."""
    if isinstance(error, classes):
        return True
    names = getattr(error, _RAISED_AS, ())
    return any(_qualified_name(cls) in names for cls in classes)


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
