"""Background lease renewal for running trials.

``optimize`` owns one :class:`Heartbeat` for all the trials it runs; ask/tell users wrap a long
evaluation in :func:`keep_alive`. A missed heartbeat must never fail a trial by itself, so errors
(a database restarting) are logged and the next beat tries again; the grace period is the budget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .exceptions import TrialAlreadyFinishedError

if TYPE_CHECKING:
    from ._frozen import FrozenTrial
    from ._study import Study
    from ._trial import Trial
    from .storage import BaseStorage

logger = logging.getLogger("tunelab")


class Heartbeat:
    """Renews the leases of tracked trials every ``interval`` seconds in a daemon thread.

    ``interval`` defaults to the storage's ``heartbeat_interval``; with a storage that has no
    leases (``heartbeat_interval is None``, e.g. :class:`InMemoryStorage`) nothing is started.
    ``wait`` (for tests) replaces the pause between beats; it returns True to stop.
    """

    def __init__(
        self,
        storage: BaseStorage,
        interval: float | None = None,
        *,
        wait: Callable[[threading.Event, float], bool] | None = None,
        stop_when_idle: bool = False,
    ) -> None:
        self.storage = storage
        self.interval = interval if interval is not None else storage.heartbeat_interval
        self._wait = wait or (lambda event, seconds: event.wait(seconds))
        self._tracked: set[int] = set()
        self._lost: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop_when_idle = stop_when_idle

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    def track(self, trial_id: int) -> None:
        """Renew this trial's lease from now on (call right after ``ask``)."""
        with self._lock:
            self._tracked.add(trial_id)

    def untrack(self, trial_id: int) -> None:
        """Stop renewing (call once the trial is told)."""
        with self._lock:
            self._tracked.discard(trial_id)
            self._lost.discard(trial_id)

    def idle(self) -> bool:
        """True when no tracked trial is left to renew."""
        with self._lock:
            return not (self._tracked - self._lost)

    def is_lost(self, trial_id: int) -> bool:
        """True once a renewal found the trial no longer RUNNING (reaped by another worker)."""
        with self._lock:
            return trial_id in self._lost

    def beat(self) -> None:
        """Renew every tracked lease once (the thread calls this; tests may call it directly)."""
        with self._lock:
            ids = sorted(self._tracked - self._lost)
        for trial_id in ids:
            try:
                alive = self.storage.heartbeat(trial_id)
            except Exception as exc:  # the next beat retries; the grace period covers a few
                logger.warning("Heartbeat for trial id %s failed: %s", trial_id, exc)
                continue
            if not alive:
                with self._lock:
                    if trial_id in self._tracked:
                        self._lost.add(trial_id)

    def _loop(self) -> None:
        assert self.interval is not None
        while not self._wait(self._stop, self.interval):
            self.beat()
            if self._stop_when_idle:
                with self._lock:
                    # Under the lock start() takes: a trial tracked meanwhile either keeps
                    # this thread going or finds it gone and starts another.
                    if not (self._tracked - self._lost):
                        self._thread = None
                        return

    def start(self) -> Heartbeat:
        """Start the thread (no-op without leases or when running). Start it only after worker
        processes were forked: a fork copies no thread."""
        if not self.enabled:
            return self
        with self._lock:
            if self._thread is not None:
                return self
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="tunelab-heartbeat", daemon=True
            )
            self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the thread to end at its next wake-up, without waiting or locking: safe from a
        finalizer, which may run in any thread, this one's too, even inside ``beat``."""
        self._stop.set()

    def stop(self) -> None:
        """Stop the thread and wait for it; tracked leases then run out after the grace period."""
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextmanager
def keep_alive(study: Study, trial: Trial | FrozenTrial | int) -> Iterator[Heartbeat]:
    """Keep a trial's lease alive while the block runs, for ask/tell loops::

        trial = study.ask()
        with tunelab.storage.keep_alive(study, trial):
            value = train(trial.params)  # may take hours
        study.tell(trial, value)

    ``trial`` is a Trial, a FrozenTrial or a trial number, as ``Study.tell`` takes it (a
    number handed over a queue by the process that asked); it must be a running trial of
    ``study``.
    """
    from ._frozen import TrialState

    # Resolved as tell() resolves it: an int meant a storage id here once, so a worker that
    # passed the number it would tell kept some other trial alive and lost its own.
    try:
        frozen = study._resolve_trial(trial)
    except TrialAlreadyFinishedError:
        number = trial if isinstance(trial, int) else trial.number
        raise TrialAlreadyFinishedError(
            f"keep_alive: Trial {number} is already finished; there is no lease to keep."
        ) from None
    if frozen.state != TrialState.RUNNING:
        raise TrialAlreadyFinishedError(
            f"Trial {frozen.number} is not running ({frozen.state.name}: {frozen.fail_reason}); "
            "there is no lease to keep."
        )
    trial_id = frozen.trial_id
    heartbeat = Heartbeat(study._storage)
    heartbeat.track(trial_id)
    if heartbeat.enabled:
        heartbeat.beat()  # a lease as long as possible from the start
    with heartbeat:
        yield heartbeat
