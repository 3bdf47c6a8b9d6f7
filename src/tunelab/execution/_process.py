"""Run trials in local worker processes (``n_jobs > 1``): real CPU parallelism for Python code.

Each worker is a long-lived process with a pipe to the driver. The objective is pickled once with
cloudpickle (lambdas and closures work); each trial's ``suggest``/``report``/``should_prune`` is a
round trip to the driver, which owns the sampler, the pruner and the storage. A worker that dies
(killed, out of memory) is replaced; the trial it was running fails with the reason, and a trial
it had not started yet goes to the fresh worker. A worker whose driver dies exits, even in the
middle of an objective.

Workers are not daemonic, so an objective may start processes of its own (multiprocessing,
``ProcessPoolExecutor``, joblib). Each worker leads its own process group, so stopping a worker
(``trial_timeout``, the end of the run) stops those processes too; an exit hook stops workers a
driver left running, which multiprocessing would otherwise wait for at interpreter exit. Every
worker unpickles the objective, whatever the start method, so functions it hands to a process
pool must be importable (cloudpickle's copies of ``__main__`` functions do not pickle by name).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import multiprocessing.util  # noqa: F401 - see the atexit.register at the end
import os
import pickle
import signal
import sys
import threading
import time
import weakref
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
from ._base import (
    Executor,
    Outcome,
    describe_error,
    run_objective,
    sendable_error,
    sendable_result,
)
from ._remote_trial import RemoteTrial, acts_on_trial, serve_call, stale_call_error

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from .._trial import Trial


def _ship(
    objective: Callable[[Any], Any],
    where: str = "n_jobs > 1 runs the objective in worker processes",
    alternative: str = "run with n_jobs=1",
) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps(objective)
    except Exception as exc:
        raise ObjectiveNotPicklableError(
            f"{where}, so it must be picklable, but {objective!r} is not "
            f"({type(exc).__name__}: {exc}). Create unpicklable things (open files, locks, "
            f"connections, clients) inside the objective instead of capturing them, or "
            f"{alternative}."
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
        # Processes the objective started would outlive os._exit; they share our group.
        if _leads_own_group():
            os.killpg(0, signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="tunelab-orphan-watch", daemon=True).start()


def _stop_children() -> None:
    """End processes the objective left running (joblib keeps its pool for the next call): the
    run is over, and multiprocessing's exit would wait for them, holding the worker until the
    driver kills it after the grace period."""
    for child in mp.active_children():
        try:
            child.terminate()
        except Exception:  # already gone
            pass


def _stop_group() -> None:
    """End the other processes of this worker's group: those the objective started without
    multiprocessing (``subprocess.Popen``) and left running would outlive the run."""
    if not _leads_own_group():  # the group would be the driver's
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
    finally:
        # An ignored signal is discarded when sent, so the worker's own copy is gone by now.
        signal.signal(signal.SIGTERM, previous)


def _leads_own_group() -> bool:
    return hasattr(os, "getpgrp") and os.getpgrp() == os.getpid()


def _worker_main(conn: Connection, payload: bytes, inherited: list[Connection]) -> None:
    # A forked worker holds copies of the driver's ends of its own and its siblings' pipes;
    # while any copy is open, its reads never see EOF when the driver dies.
    for end in inherited:
        end.close()
    if hasattr(os, "setpgid"):
        # The objective's own child processes join this group, so one signal to the group
        # stops them with the worker; without it a killed worker would orphan them.
        try:
            os.setpgid(0, 0)
        except OSError:  # a session leader cannot; the worker's own signals still work
            pass
    _exit_when_orphaned()
    # Ctrl-C is the driver's: it decides what happens to the trials. (A worker that could not
    # leave the driver's process group would get the terminal's SIGINT too.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Unpickled in every worker, whatever the start method, even where fork would hand over the
    # driver's own object: __getstate__/__setstate__ must run, or a forked worker would share
    # what the objective drops when it is pickled (a database connection, a client).
    objective = pickle.loads(payload)

    # One pipe serves the objective's every thread: a call sends and reads its answer under
    # the lock, so each thread gets its own reply. The main loop holds it too from sending a
    # trial's result until the next trial arrives: a thread the finished trial left running
    # then calls while the driver knows this worker runs another trial, and is refused.
    lock = threading.Lock()

    def caller(number: int) -> Callable[[str, tuple[Any, ...]], Any]:
        def call(method: str, args: tuple[Any, ...]) -> Any:
            with lock:
                # Sent by the objective's own thread only: the driver takes the time it waits
                # for the answer off the trial's clock (trial_timeout).
                main = threading.current_thread() is threading.main_thread()
                conn.send(("call", number, method, args, time.monotonic() if main else None))
                status, result = conn.recv()
            if status == "error":
                raise result
            return result

        return call

    try:
        with lock:
            message = conn.recv()
    except EOFError:
        message = None
    while True:
        if message is None:
            _stop_children()
            _stop_group()
            return
        number, params, distributions, user_attrs, start = message
        try:
            # Until this arrives, the driver knows the trial never ran here should the worker
            # die: a kill meant for an idle worker often lands after the next trial was sent.
            # The time tells it when the trial's clock started.
            with lock:
                conn.send(("started", time.monotonic()))
        except OSError:  # the driver is gone
            return
        trial = RemoteTrial(
            caller(number), number, params, user_attrs, start, distributions=distributions
        )
        kind, values, error, tb = run_objective(objective, trial, interrupt_is_error=True)
        with lock:
            try:
                _send_done(conn, kind, values, error, tb)
            except OSError:  # the driver is gone
                return
            try:
                message = conn.recv()
            except EOFError:
                message = None


def _send_done(
    conn: Connection, kind: str, values: Any, error: BaseException | None, tb: str | None
) -> None:
    text = None
    if error is not None:
        text = describe_error(error)
        error = sendable_error(error)
    elif kind == "values":
        kind, values, text = sendable_result(values)
    try:
        conn.send(("done", kind, values, error, text, tb))
    except OSError:  # a broken pipe, not a bad result
        raise
    except Exception as exc:  # checked above; anything left still must not stall the driver
        text = f"{text or 'the result'} could not be sent to the driver: {describe_error(exc)}"
        conn.send(("done", "invalid", None, None, text, tb))


def _signal_tree(process: BaseProcess, sig: int) -> None:
    """Send ``sig`` to a worker and to the processes its objective started (its group)."""
    pid = process.pid
    if pid is not None and hasattr(os, "killpg") and _not_reaped(process):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
        except OSError:  # gone meanwhile, or not yet leading its group: the worker alone below
            pass
    # Also when the group was signalled: a worker that never led its group (a session leader)
    # is reached only this way, and a worker already reaped is left alone by multiprocessing.
    try:
        if sig == signal.SIGKILL:
            process.kill()
        else:
            process.terminate()
    except Exception:  # already gone
        pass


def _bury(worker: _Worker) -> _Worker:
    """Wait for a dead (or dying) worker to be gone, with the processes its objective started."""
    # Before the join reaps it: processes its objective started must not outlive it.
    _signal_tree(worker.process, signal.SIGKILL)
    worker.process.join(timeout=1)
    return worker


def _not_reaped(process: BaseProcess) -> bool:
    """Whether the worker's pid, and so its group id, is still the worker's: once it is reaped
    both may belong to an unrelated process, which a group signal must never reach."""
    assert process.pid is not None
    if not hasattr(os, "waitid"):
        return process.exitcode is None
    try:
        # Leaves a zombie in place, so its group can still be signalled before the join.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return True
    except ChildProcessError:
        # Not our child (forkserver's workers are the fork server's, which reaps them and then
        # reports the exit code to multiprocessing), or already reaped, which sets the code.
        return process.exitcode is None


class _Worker:
    def __init__(self, context: Any, payload: bytes, others: list[Connection]) -> None:
        """``others``: the driver's ends of the other workers' pipes."""
        self.conn, child = context.Pipe(duplex=True)
        # Only a forked child inherits the driver's descriptors.
        inherited = [self.conn, *others] if context.get_start_method() == "fork" else []
        self.process: BaseProcess = context.Process(
            # Not daemonic: a daemonic process may not start processes, and objectives do
            # (multiprocessing, joblib). The orphan watch and the exit hook stop workers instead.
            target=_worker_main,
            args=(child, payload, inherited),
            daemon=False,
        )
        self.process.start()
        child.close()
        self.trial: Trial | None = None
        # The trial's clock (trial_timeout): from when the worker started it, less the time its
        # objective waited for the driver's answers (a callback or the sampler kept it busy).
        self.started_at = 0.0
        self.waited = 0.0
        # It tells the driver when it starts a trial, before the objective runs.
        self.began = False  # it started ``trial``
        self.proven = False  # it started a trial once: it can load the objective

    def has_exited(self) -> bool:
        # Not is_alive(), which reaps a forked worker: its group could no longer be signalled.
        return bool(wait([self.process.sentinel], 0))


class ProcessExecutor(Executor):
    """``n_workers`` local processes. ``start_method`` defaults to fork where the platform has it
    (fast start, no re-import of ``__main__``), else spawn."""

    supports_trial_timeout = True

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
        available = mp.get_all_start_methods()
        if start_method not in available:
            raise InvalidParameterError(
                f"The 'start_method' parameter of ProcessExecutor must be one of {available} "
                f"(this platform's multiprocessing start methods). Got {start_method!r} instead."
            )
        self._context = mp.get_context(start_method)
        self._payload = b""
        self._workers: list[_Worker] = []
        self._trial_timeout: float | None = None
        self._stopping = False

    def start(self, objective: Callable[[Any], Any], trial_timeout: float | None = None) -> None:
        self._trial_timeout = trial_timeout
        if trial_timeout is not None and self.n_workers == 1:
            self._payload = _ship(
                objective,
                "trial_timeout runs the objective in a worker process (so it can be stopped)",
                "drop trial_timeout",
            )
        else:
            self._payload = _ship(objective)
        self._workers = []
        self._stopping = False
        _live_executors.add(self)
        for _ in range(self.n_workers):
            others = [w.conn for w in self._workers]
            self._workers.append(_Worker(self._context, self._payload, others))

    def free_slots(self) -> int:
        return sum(1 for w in self._workers if w.trial is None)

    def submit(self, trial: Trial) -> None:
        worker = next(w for w in self._workers if w.trial is None)
        if worker.has_exited():  # killed between trials
            worker = self._renew(_bury(worker))
        self._hand(worker, trial)

    def _hand(self, worker: _Worker, trial: Trial) -> None:
        worker.trial = trial
        worker.began = False
        worker.started_at = time.monotonic()  # until the worker says when it started
        worker.waited = 0.0
        try:
            worker.conn.send(
                (
                    trial.number,
                    trial.params,
                    trial.distributions,
                    trial.user_attrs,
                    trial.datetime_start,
                )
            )
        except OSError:
            # It died since the check. wait() finds its pipe closed, as for any worker that
            # dies before it starts its trial, and hands the trial on.
            pass

    def running(self) -> list[Trial]:
        return [w.trial for w in self._workers if w.trial is not None]

    def wait(self, timeout: float | None) -> list[Outcome]:
        deadline = None if timeout is None else time.monotonic() + timeout
        outcomes: list[Outcome] = []
        # The first look waits for nothing: what workers sent while the driver was busy (a
        # callback, the sampler) is read before any trial is judged overrunning. Results in a
        # pipe were thrown away, their trials failed "timed out".
        pause: float | None = 0.0
        while True:
            if not any(w.trial is not None for w in self._workers):
                return outcomes
            outcomes.extend(self._serve_ready(pause))
            if outcomes:
                return outcomes
            outcomes.extend(self._stop_overrunning())
            if outcomes:
                return outcomes
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return outcomes
            pause = None if deadline is None else deadline - now
            if self._trial_timeout is not None:
                # Wake up when the first running trial reaches its limit.
                first = min(self._limit_at(w) for w in self._workers if w.trial is not None)
                until_limit = max(0.0, first - now) + 0.01
                pause = until_limit if pause is None else min(pause, until_limit)

    def _serve_ready(self, pause: float | None) -> list[Outcome]:
        """Serve the workers that sent something (waiting up to ``pause`` for one)."""
        outcomes: list[Outcome] = []
        handles: dict[Any, _Worker] = {}
        for w in self._workers:
            if w.trial is not None:
                handles[w.conn] = w
                handles[w.process.sentinel] = w
            elif w.proven:
                # Replaced now, not at the next submit: what its objective started ends
                # with it. Not one that never started a trial: it may be unable to (the
                # objective does not load), and its replacements would die one after another.
                handles[w.process.sentinel] = w
        for handle in wait(list(handles), pause):
            worker = handles[handle]
            if worker not in self._workers:  # replaced earlier in this round
                continue
            if worker.trial is not None:
                outcome = self._serve(worker, handle is worker.conn)
                if outcome is not None:
                    outcomes.append(outcome)
            elif worker.has_exited():  # idle, perhaps only since it sent its result
                self._renew(_bury(worker))
        return outcomes

    def _limit_at(self, worker: _Worker) -> float:
        assert self._trial_timeout is not None
        return worker.started_at + worker.waited + self._trial_timeout

    def _stop_overrunning(self) -> list[Outcome]:
        if self._trial_timeout is None:
            return []
        outcomes: list[Outcome] = []
        overrunning = []
        for worker in list(self._workers):
            if worker.trial is None or time.monotonic() < self._limit_at(worker):
                continue
            # What it sent since the last look is read first: its result, or a call whose
            # wait for the answer moves its limit.
            while worker.trial is not None and worker in self._workers and worker.conn.poll():
                outcome = self._serve(worker, True)
                if outcome is not None:
                    outcomes.append(outcome)
            if worker.trial is not None and time.monotonic() >= self._limit_at(worker):
                overrunning.append(worker)
        if not overrunning:
            return outcomes
        # SIGTERM first: the objective's helpers that ignore it (joblib's resource tracker) see
        # their parent go and delete what it left in /dev/shm. They get the whole grace period,
        # even once the worker is gone, since that is when they start; SIGKILL ends the rest.
        # The other workers' calls wait meanwhile, off their trials' clocks.
        for worker in overrunning:
            _signal_tree(worker.process, signal.SIGTERM)
        time.sleep(_TERMINATE_GRACE_SECONDS)
        for worker in overrunning:
            _signal_tree(worker.process, signal.SIGKILL)
            text = (
                f"trial timed out after {self._trial_timeout:g} s (trial_timeout) and was stopped"
            )
            outcomes.append(self._replace(worker, "error", TrialTimeoutError(text), text))
        return outcomes

    def _serve(self, worker: _Worker, conn_ready: bool) -> Outcome | None:
        trial = worker.trial
        assert trial is not None
        try:
            if not conn_ready and not worker.conn.poll():
                raise EOFError
            raw = worker.conn.recv_bytes()
        except (EOFError, OSError):
            return self._lost(worker)
        try:
            message = pickle.loads(raw)
        except Exception as exc:
            # The worker checks what it sends; this catches the rest (a class the driver lacks).
            # Whatever the worker expects next, a fresh worker is the one safe state.
            _signal_tree(worker.process, signal.SIGKILL)
            text = f"the driver could not read what the worker sent: {describe_error(exc)}"
            return self._replace(worker, "invalid", None, text)
        if message[0] == "started":
            worker.began = worker.proven = True
            # Its clock starts here, not when the trial was sent: a fresh worker first loads
            # the objective. (time.monotonic is one clock for every process of a machine.)
            worker.started_at = max(worker.started_at, message[1])
            return None
        if message[0] == "call":
            _, number, method, args, sent_at = message
            if number != trial.number and acts_on_trial(method):
                # Served on the trial running now, it would land there (a stale handle kept
                # in a cache, a thread still reporting for its finished trial).
                status, result = "error", stale_call_error(trial.study, number, method)
            else:
                status, result = serve_call(trial, method, args)
            if status == "error":
                result = sendable_error(result)
            try:
                worker.conn.send((status, result))
            except OSError:
                return self._lost(worker)
            except Exception as exc:  # the answer does not pickle: the objective sees why
                answer = f"the driver could not send its answer to {method}: {describe_error(exc)}"
                worker.conn.send(("error", RuntimeError(answer)))
            if sent_at is not None:
                now = time.monotonic()
                worker.waited += max(0.0, now - max(sent_at, worker.started_at))
            return None
        _, kind, values, error, text, tb = message
        worker.trial = None
        if kind == "error" and error is None:
            error = RuntimeError(text)
        if error is not None and tb:
            error.add_note(f"Traceback in worker process:\n{tb}")
        return Outcome(trial, kind, values, error, text, tb)

    def _lost(self, worker: _Worker) -> Outcome | None:
        """``worker`` died with a trial. One it had not started goes to a fresh worker, unless
        this worker never started any: one that cannot load the objective would be followed by
        fresh ones dying the same way, the trial handed on for good."""
        trial = worker.trial
        assert trial is not None
        _bury(worker)
        if worker.proven and not worker.began:  # it died idle, the trial unread in its pipe
            self._hand(self._renew(worker), trial)
            return None
        code = worker.process.exitcode
        when = "during the trial" if worker.began else "before it started the trial"
        text = f"worker lost: process {worker.process.pid} exited with code {code} {when}"
        return self._replace(worker, "error", WorkerLostError(text), text)

    def _replace(
        self, worker: _Worker, kind: str, error: BaseException | None, text: str
    ) -> Outcome:
        """End ``worker``'s trial as ``kind`` and start a fresh worker in its place."""
        trial = worker.trial
        assert trial is not None
        self._renew(worker)
        return Outcome(trial, kind, None, error, text, None)

    def _renew(self, worker: _Worker) -> _Worker:
        """Start a fresh worker in place of ``worker``, which is dead or killed."""
        worker.trial = None
        worker.process.join(timeout=5)
        worker.conn.close()
        others = [w.conn for w in self._workers if w is not worker]
        fresh = _Worker(self._context, self._payload, others)
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def shutdown(self, *, cancel: bool) -> None:
        # A second call (the exit hook after a Ctrl-C cut the first short) kills at once.
        graceful = not self._stopping
        self._stopping = True
        try:
            if graceful:
                self._ask_workers_to_exit(cancel)
        finally:
            # Whatever interrupts the grace period (a second Ctrl-C), no worker may survive it:
            # multiprocessing's exit hook would wait for a non-daemonic one forever.
            self._kill_workers()

    def _ask_workers_to_exit(self, cancel: bool) -> None:
        for w in self._workers:
            if w.process.is_alive():
                if cancel and w.trial is not None:
                    _signal_tree(w.process, signal.SIGTERM)
                else:
                    try:
                        w.conn.send(None)
                    except OSError:
                        pass
        # One deadline for all: a worker kept alive by threads its objective left behind would
        # otherwise cost the grace period once per worker.
        deadline = time.monotonic() + _SHUTDOWN_GRACE_SECONDS
        for w in self._workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))

    def _kill_workers(self) -> None:
        for w in self._workers:
            if w.process.exitcode is None:
                _signal_tree(w.process, signal.SIGKILL)
        left = []
        for w in self._workers:
            w.process.join(timeout=_KILL_WAIT_SECONDS)
            if w.process.exitcode is None:  # not even SIGKILL ended it yet (uninterruptible I/O)
                left.append(w)
            else:
                w.conn.close()
        self._workers = left
        # Only now: while a worker may live, the exit hook must still find this executor.
        if not left:
            _live_executors.discard(self)


# How long the end of a run waits for workers to exit by themselves before killing them.
_SHUTDOWN_GRACE_SECONDS = 5.0
# How long a timed-out trial's worker and its processes get to exit on SIGTERM before SIGKILL.
_TERMINATE_GRACE_SECONDS = 1.0
# How long to wait for a killed worker to be gone.
_KILL_WAIT_SECONDS = 5.0

_live_executors: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


def _stop_live_executors() -> None:
    # multiprocessing joins non-daemonic children at exit, and an idle worker waits for its
    # driver forever: a driver exiting without shutdown (optimize in a daemon thread, a
    # ProcessExecutor used by hand) would hang.
    for executor in list(_live_executors):
        try:
            executor.shutdown(cancel=True)
        except Exception:
            pass


# Registered after multiprocessing.util's own exit hook (imported above), so it runs first.
atexit.register(_stop_live_executors)


def default_n_workers(n_jobs: int) -> int:
    return os.cpu_count() or 1 if n_jobs == -1 else n_jobs
