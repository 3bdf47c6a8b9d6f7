"""Holding Ctrl-C back over a few steps that must not be cut in two."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# The fail reason of a trial cut short by Ctrl-C, wherever the interrupt landed.
INTERRUPTED = "interrupted (KeyboardInterrupt)"


def failure_reason(exc: BaseException) -> str:
    """A trial's fail reason for the exception that stopped it."""
    return INTERRUPTED if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"


def stopped_reason(exc: BaseException, stage: str) -> str:
    """The fail reason of a trial still running when ``stage`` (the optimize loop, a callback,
    a search) raised ``exc`` and the run ended around it."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    return f"stopped because {stage} raised {type(exc).__name__}"


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block until the block has ended.

    For short steps that must finish together. A storage write transaction: a
    KeyboardInterrupt raised inside a SQLite transaction, after one of its statements ran, left
    it open with its write lock (sqlite3 keeps a closed connection alive until its unfinished
    statements are finalized, and the exception's traceback, kept for good by a notebook,
    keeps them), so every other writer got "database is locked". ``Study.ask``: a trial
    created, or a grid point claimed, just before the interrupt was left RUNNING, or claimed by
    nobody. The wait for a busy database happens inside sqlite3's C call, where Python cannot
    raise anyway, so holding costs no responsiveness. A second Ctrl-C is not held back.

    Blocks nest: an inner block hands its held interrupt to the outer one, which raises it
    when it ends. Only the main thread receives signals; elsewhere, or under a handler that is
    not a Python callable, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return
    held: list[Any] = []

    def hold(signum: int, frame: Any) -> None:
        if held:
            previous(signum, frame)  # impatient: a second Ctrl-C goes through at once
        held.append(frame)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            previous(signal.SIGINT, held[0])


@contextlib.contextmanager
def interrupts_noticed() -> Iterator[list[Any]]:
    """Note every Ctrl-C in the yielded list, then handle it as before (a KeyboardInterrupt).

    Some libraries catch KeyboardInterrupt to stop gracefully (scikit-learn's MLP ends its
    training early, PyTorch Lightning's Trainer shuts down), so an objective can swallow the
    user's Ctrl-C and return as if nothing happened: the optimize loop would go on to the next
    trial. The list lets the loop see the press anyway. Main thread and Python handlers only,
    as for :func:`interrupts_held`."""
    pressed: list[Any] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield pressed
        return

    def note(signum: int, frame: Any) -> None:
        pressed.append(frame)
        previous(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)
