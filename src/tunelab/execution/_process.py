"""Run trials in local worker processes (``n_jobs > 1``): real CPU parallelism for Python code.

Each worker is a long-lived process with a pipe to the driver. The objective is pickled once with
cloudpickle (lambdas and closures work); each trial's ``suggest``/``report``/``should_prune`` is a
round trip to the driver, which owns the sampler, the pruner and the storage. A worker that dies
(killed, out of memory) fails its trial with the reason and is replaced; a worker whose driver
dies exits, even in the middle of an objective.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from .._validation import is_int
from ..exceptions import (
    InvalidParameterError,
    ObjectiveNotPicklableError,
    TrialTimeoutError,
    WorkerLostError,
)
from ._base import Executor, Outcome, describe_error, run_objective
from ._remote_trial import RemoteTrial, serve_call

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from .._trial import Trial


def _ship(objective: Callable[[Any], Any]) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps(objective)
    except Exception as exc:
        raise ObjectiveNotPicklableError(
            f"n_jobs > 1 runs the objective in worker processes, so it must be picklable, but "
            f"{objective!r} is not ({type(exc).__name__}: {exc}). Create unpicklable things "
            "(open files, locks, connections, clients) inside the objective instead of capturing "
            "them, or run with n_jobs=1."
        ) from exc


# How often a worker checks that its driver still lives.
_ORPHAN_CHECK_SECONDS = 0.5


def _exit_when_orphaned() -> None:
    """End this worker when the driver dies, even in the middle of an objective. POSIX hands an
    orphan to another parent; with forkserver the parent is the fork server, which outlives the
    driver, but multiprocessing's parent sentinel ends with the driver."""
    parent_pid = os.getppid()
    parent = mp.parent_process()
    sentinels = [parent.sentinel] if parent is not None and parent.sentinel is not None else []

    def watch() -> None:
        while os.getppid() == parent_pid:
            if not sentinels:
                time.sleep(_ORPHAN_CHECK_SECONDS)
            elif wait(sentinels, _ORPHAN_CHECK_SECONDS):
                break
        os._exit(1)

    threading.Thread(target=watch, name="tunelab-orphan-watch", daemon=True).start()


def _worker_main(conn: Connection, payload: bytes, inherited: list[Connection]) -> None:
    # A forked worker holds copies of the driver's ends of its own and its siblings' pipes;
    # while any copy is open, its reads never see EOF when the driver dies.
    for end in inherited:
        end.close()
    _exit_when_orphaned()
    # Ctrl-C reaches the whole process group; the driver decides what happens to trials.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    objective = pickle.loads(payload)

    def call(method: str, args: tuple[Any, ...]) -> Any:
        conn.send(("call", method, args))
        status, result = conn.recv()
        if status == "error":
            raise result
        return result

    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        number, params, distributions, user_attrs, start = message
        trial = RemoteTrial(call, number, params, user_attrs, start, distributions=distributions)
        kind, values, error, tb = run_objective(objective, trial)
        text = describe_error(error) if error is not None else None
        try:
            _send_done(conn, kind, values, error, text, tb)
        except OSError:  # the driver is gone
            return


def _send_done(
    conn: Connection, kind: str, values: Any, error: Any, text: str | None, tb: str | None
) -> None:
    try:
        conn.send(("done", kind, values, error, text, tb))
    except OSError:  # a broken pipe, not a bad result
        raise
    except Exception:  # an unpicklable exception or return value
        conn.send(("done", "error", None, None, text or f"unpicklable result {values!r}", tb))


class _Worker:
    def __init__(self, context: Any, payload: bytes, others: list[Connection]) -> None:
        """``others``: the driver's ends of the other workers' pipes."""
        self.conn, child = context.Pipe(duplex=True)
        # Only a forked child inherits the driver's descriptors.
        inherited = [self.conn, *others] if context.get_start_method() == "fork" else []
        self.process: BaseProcess = context.Process(
            target=_worker_main, args=(child, payload, inherited), daemon=True
        )
        self.process.start()
        child.close()
        self.trial: Trial | None = None
        self.started_at = 0.0


class ProcessExecutor(Executor):
    supports_trial_timeout = True

    """``n_workers`` local processes. ``start_method`` defaults to fork where the platform has it
    (fast start, no re-import of ``__main__``), else spawn."""

    def __init__(self, n_workers: int, start_method: str | None = None) -> None:
        if not is_int(n_workers) or n_workers < 1:
            raise InvalidParameterError(
                f"The 'n_workers' parameter of ProcessExecutor must be a positive int. Got {n_workers!r} instead."
            )
        self.n_workers = int(n_workers)
        if start_method is None:
            start_method = (
                "fork"
                if "fork" in mp.get_all_start_methods() and sys.platform != "darwin"
                else "spawn"
            )
        self._context = mp.get_context(start_method)
        self._payload = b""
        self._workers: list[_Worker] = []
        self._trial_timeout: float | None = None

    def start(self, objective: Callable[[Any], Any], trial_timeout: float | None = None) -> None:
        self._trial_timeout = trial_timeout
        self._payload = _ship(objective)
        self._workers = []
        for _ in range(self.n_workers):
            others = [w.conn for w in self._workers]
            self._workers.append(_Worker(self._context, self._payload, others))

    def free_slots(self) -> int:
        return sum(1 for w in self._workers if w.trial is None)

    def submit(self, trial: Trial) -> None:
        worker = next(w for w in self._workers if w.trial is None)
        worker.trial = trial
        worker.started_at = time.monotonic()
        worker.conn.send(
            (
                trial.number,
                trial.params,
                trial.distributions,
                trial.user_attrs,
                trial.datetime_start,
            )
        )

    def running(self) -> list[Trial]:
        return [w.trial for w in self._workers if w.trial is not None]

    def wait(self, timeout: float | None) -> list[Outcome]:
        deadline = None if timeout is None else time.monotonic() + timeout
        outcomes: list[Outcome] = []
        while not outcomes:
            outcomes.extend(self._stop_overrunning())
            busy = [w for w in self._workers if w.trial is not None]
            if not busy or outcomes:
                return outcomes
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._trial_timeout is not None:
                # Wake up when the oldest running trial reaches its limit.
                oldest = min(w.started_at for w in busy)
                until_limit = max(0.0, oldest + self._trial_timeout - time.monotonic()) + 0.01
                remaining = until_limit if remaining is None else min(remaining, until_limit)
            handles: dict[Any, _Worker] = {}
            for w in busy:
                handles[w.conn] = w
                handles[w.process.sentinel] = w
            ready = wait(list(handles), remaining)
            if not ready and deadline is not None and time.monotonic() >= deadline:
                return outcomes
            for handle in ready:
                worker = handles[handle]
                if worker.trial is None:
                    continue
                outcome = self._serve(worker, handle is worker.conn)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _stop_overrunning(self) -> list[Outcome]:
        if self._trial_timeout is None:
            return []
        stopped = []
        now = time.monotonic()
        for worker in self._workers:
            trial = worker.trial
            if trial is None or now - worker.started_at < self._trial_timeout:
                continue
            worker.process.kill()
            text = (
                f"trial timed out after {self._trial_timeout:g} s (trial_timeout) and was stopped"
            )
            stopped.append(self._replace(worker, TrialTimeoutError(text), text))
        return stopped

    def _serve(self, worker: _Worker, conn_ready: bool) -> Outcome | None:
        trial = worker.trial
        assert trial is not None
        try:
            if not conn_ready and not worker.conn.poll():
                raise EOFError
            message = worker.conn.recv()
        except (EOFError, OSError):
            return self._lost(worker)
        if message[0] == "call":
            _, method, args = message
            worker.conn.send(serve_call(trial, method, args))
            return None
        _, kind, values, error, text, tb = message
        worker.trial = None
        if kind == "error" and error is None:
            error = RuntimeError(text)
        if error is not None and tb:
            error.add_note(f"Traceback in worker process:\n{tb}")
        return Outcome(trial, kind, values, error, text, tb)

    def _lost(self, worker: _Worker) -> Outcome:
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        text = f"worker lost: process {worker.process.pid} exited with code {code} during the trial"
        return self._replace(worker, WorkerLostError(text), text)

    def _replace(self, worker: _Worker, error: BaseException, text: str) -> Outcome:
        """End ``worker``'s trial with ``error`` and start a fresh worker in its place."""
        trial = worker.trial
        assert trial is not None
        worker.trial = None  # its pipe and sentinel may both be ready: handle the loss once
        worker.process.join(timeout=5)
        worker.conn.close()
        others = [w.conn for w in self._workers if w is not worker]
        self._workers[self._workers.index(worker)] = _Worker(self._context, self._payload, others)
        return Outcome(trial, "error", None, error, text, None)

    def shutdown(self, *, cancel: bool) -> None:
        for w in self._workers:
            if w.process.is_alive():
                if cancel and w.trial is not None:
                    w.process.terminate()
                else:
                    try:
                        w.conn.send(None)
                    except OSError:
                        pass
        for w in self._workers:
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers = []


def default_n_workers(n_jobs: int) -> int:
    return os.cpu_count() or 1 if n_jobs == -1 else n_jobs
