"""Run trials on a Dask cluster: the same optimize loop, define-by-run objectives unchanged.

Dask schedules the trials, moves them between machines and re-runs a trial whose worker died.
The driver keeps the study: before dispatch it draws the parameters every earlier trial shared
(sent with the task and answered on the worker without a round trip); parameters first seen on
the worker, ``should_prune`` and user attributes are requests over a ``distributed.Queue`` that
the driver answers in ``wait``; reports, and which values drawn ahead the objective took, are
sent without waiting.

Every message on those queues carries its payload pickled: the scheduler, which holds them,
only ever sees ints, strings and bytes. (It msgpack-encodes what it is given and rebuilds an Enum
only from modules on its allow-list, so a ``TrialState`` or ``StudyDirection`` in a reply raised
"Importing 'tunelab._frozen' is not allowed" in the driver and ended the run; msgpack also turned
lists into tuples.)
"""

from __future__ import annotations

import ctypes
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._validation import is_int, positive_number_or_none
from ..exceptions import InvalidParameterError, TrialTimeoutError, WorkerLostError
from ._base import (
    Executor,
    Outcome,
    describe_error,
    run_objective,
    sendable_error,
    sendable_result,
)
from ._process import _ship
from ._remote_trial import RemoteTrial, acts_on_trial, finished_error, serve_call

if TYPE_CHECKING:
    from .._space import Distribution
    from .._trial import Trial

# The driver polls the request queue; the pause grows while nothing happens so that a
# long trial costs the driver almost no CPU, and drops back as soon as a worker calls.
_POLL_MIN_SECONDS = 0.005
_POLL_MAX_SECONDS = 0.1
_GATHER_SECONDS = 30.0
# A task waiting this long for the driver's answer asks the scheduler whether anyone still wants
# it; a driver that stopped (an error, Ctrl-C) or died has let go of it, and waiting on would hold
# a worker thread of a shared cluster for good.
_REPLY_CHECK_SECONDS = 30.0
# How often the driver, while trials are pending, asks the scheduler how many workers it has, and
# how long it waits without any before it warns (at most half of ``no_workers_timeout``).
_WORKERS_CHECK_SECONDS = 1.0
_NO_WORKERS_WARN_SECONDS = 15.0

logger = logging.getLogger("tunelab")


def _pack(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _interrupt_after(seconds: float, thread_id: int) -> threading.Timer:
    """Raise TrialTimeoutError in the task's thread once ``seconds`` pass (at its next bytecode;
    a long C call finishes first). Dask cannot kill a running task, so this is how it stops."""

    def fire() -> None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_id), ctypes.py_object(TrialTimeoutError)
        )

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


# The first message of every task: a worker lost after it (and before the result is in) is
# charged to the trial.
_BEGAN = "began"
# Sent as the objective takes a value the driver drew ahead, without waiting for an answer: the
# driver stores it in the trial at once, as it does a parameter it is asked for. Were it known
# only from the outcome, a trial whose worker dies would be stored without the parameters it ran
# with, and its retry (retry_failed) would run another configuration.
_TOOK = "took"
# Messages the task sends without waiting for the driver's answer.
_UNANSWERED = frozenset({_TOOK, "report"})
# A report made once the objective has returned (through a handle kept for later, by a thread
# still running): it waits for the driver's answer, which refuses it for a finished trial as
# n_jobs=1 does. Sent without waiting, it was dropped without a word.
_LATE_REPORT = "late report"
# The last message: the outcome itself. A task's return value lives on its worker until
# gathered, and dies with it; sent through the queue (held by the scheduler) it survives a
# worker killed by another trial right after this one finished.
_RESULT = "result"


def _run_trial_on_worker(
    payload: bytes,
    number: int,
    attempt: int,
    params: dict[str, Any],
    distributions: dict[str, Any],
    user_attrs: dict[str, Any],
    start: Any,
    prefetched: dict[str, Any],
    queue_prefix: str,
    trial_timeout: float | None,
    reply_check_seconds: float,
    n_objectives: int | None = None,
) -> bytes:
    from distributed import Queue, get_client

    objective = pickle.loads(payload)
    requests = Queue(f"{queue_prefix}-requests")
    replies = Queue(f"{queue_prefix}-reply-{number}-{attempt}")
    # (number, attempt, method, pickled arguments): see the module's docstring.
    requests.put((number, attempt, _BEGAN, _pack(None)))
    key = _task_key(queue_prefix, number, attempt)
    ended = threading.Event()  # the objective has returned: see _LATE_REPORT

    def call(method: str, args: tuple[Any, ...]) -> Any:
        try:
            blob = _pack(args)
        except Exception as exc:
            raise TypeError(
                f"trial {number}'s {method} call could not be sent to the driver: "
                f"{describe_error(exc)}"
            ) from exc
        if method in _UNANSWERED:
            if not ended.is_set():
                requests.put((number, attempt, method, blob))
                return None
            method = _LATE_REPORT if method == "report" else "suggest"
        requests.put((number, attempt, method, blob))
        while True:
            try:
                status, result = pickle.loads(replies.get(timeout=reply_check_seconds))
                break
            except TrialTimeoutError:
                raise  # the trial's own limit, which is also a TimeoutError
            except TimeoutError:
                if not get_client().run_on_scheduler(_scheduler_holds, key=key):
                    raise RuntimeError(
                        f"trial {number}'s driver let go of it (stopped or gone) while it waited "
                        f"for an answer to {method!r}"
                    ) from None
        if status == "error":
            raise result
        return result

    # With the distributions of the params it already has (a retried or enqueued trial), a
    # repeated suggest of those names is checked here, without a round trip to the driver.
    trial = _WorkerTrial(
        call,
        number,
        params,
        user_attrs,
        start,
        prefetched,
        distributions=distributions,
        n_objectives=n_objectives,
    )
    timer = (
        None if trial_timeout is None else _interrupt_after(trial_timeout, threading.get_ident())
    )
    try:
        # A task runs off the worker's main thread, where no Ctrl-C arrives: a KeyboardInterrupt
        # comes from the objective itself.
        kind, values, error, tb = run_objective(objective, trial, interrupt_is_error=True)
    finally:
        if timer is not None:
            timer.cancel()
        ended.set()
    text = None
    if error is not None:
        text = describe_error(error)
        error = sendable_error(error)
    elif kind == "values":
        kind, values, text = sendable_result(values)
    try:
        blob = _pack((kind, values, error, text, tb, trial.used_prefetched))
    except Exception as exc:  # checked above; anything left still must not stall the driver
        text = f"{text or 'the result'} could not be sent to the driver: {describe_error(exc)}"
        blob = _pack(("invalid", None, None, text, tb, trial.used_prefetched))
    requests.put((number, attempt, _RESULT, blob))
    return blob


class _WorkerTrial(RemoteTrial):
    """The trial a task's objective sees: tells the driver each value drawn ahead it takes."""

    def suggest(self, name: str, distribution: Distribution) -> Any:
        taken = len(self.used_prefetched)
        value = super().suggest(name, distribution)
        if len(self.used_prefetched) > taken:
            self._call(_TOOK, (name, distribution))
        return value


def _task_key(queue_prefix: str, number: int, attempt: int) -> str:
    return f"{queue_prefix}-trial-{number}-{attempt}"


def _scheduler_holds(key: str, dask_scheduler: Any) -> bool:
    return key in dask_scheduler.tasks


# A worker that dies takes down every task assigned to it, and Dask reports them all alike.
# Those that never began (queued behind the trial that killed it) and those that had finished
# but whose result died with the worker are resubmitted this many times without counting
# against max_retries, so one bad trial cannot use up the others' retries.
_UNCHARGED_RETRIES = 3


@dataclass
class _Running:
    trial: Trial
    future: Any
    started_at: float
    attempt: int  # dispatch serial: names the Dask key and the reply queue
    charged: int = 0  # worker losses counted against max_retries
    free: int = 0  # losses not of the trial's doing (never began, or result lost), uncounted
    began: bool = False  # the task told us it started on a worker
    result: tuple[Any, ...] | None = None  # the outcome, once the task sent it
    given_up: str | None = None  # why the driver stopped it (an answer it could not deliver)


class DaskExecutor(Executor):
    """Trials as Dask tasks. ``DaskExecutor(client)`` or ``DaskExecutor("tcp://scheduler:8786")``;
    with neither, a local cluster is started for the run.

    ``max_retries``: how many times a trial whose worker died while running it may run again
    before it is marked FAIL "worker lost", Dask's own re-runs included: a ``KilledWorker``
    (Dask ran the task on ``distributed.scheduler.allowed-failures`` + 1 workers, default 4, and
    all died) counts that many runs, so with the defaults Dask's re-runs are the only ones and a
    trial that kills its worker every time costs 4 workers, not 4 x 3. A trial that was only
    queued on the dying worker and never began, or that had finished but whose result was lost
    with the worker, is resubmitted without being charged (up to 3 times).
    ``n_parallel``: trials in flight at once (default: the cluster's worker threads).
    ``no_workers_timeout``: seconds the cluster may have no worker at all while trials wait
    (default 300; None waits forever). A warning is logged after 15 s (or half the limit); at
    the limit the waiting trials fail "no Dask workers for N s" and ``optimize`` raises
    :class:`tunelab.exceptions.WorkerLostError`, keeping the study and its finished trials.
    An adaptive cluster that starts with no worker has that long to bring one up.
    """

    supports_trial_timeout = True

    def __init__(
        self,
        client_or_address: Any = None,
        *,
        max_retries: int = 2,
        n_parallel: int | None = None,
        no_workers_timeout: float | None = 300.0,
    ) -> None:
        if not is_int(max_retries) or max_retries < 0:
            raise InvalidParameterError(
                "The 'max_retries' parameter of DaskExecutor must be a non-negative int. "
                f"Got {max_retries!r} instead."
            )
        if n_parallel is not None and (not is_int(n_parallel) or n_parallel < 1):
            raise InvalidParameterError(
                "The 'n_parallel' parameter of DaskExecutor must be a positive int or None. "
                f"Got {n_parallel!r} instead."
            )
        self.no_workers_timeout = positive_number_or_none(
            no_workers_timeout, "no_workers_timeout", "DaskExecutor"
        )
        self.client_or_address = client_or_address
        self.max_retries = int(max_retries)
        self.n_parallel = n_parallel
        self._client: Any = None
        self._owns_client = False
        self._running: dict[int, _Running] = {}

    def start(self, objective: Callable[[Any], Any], trial_timeout: float | None = None) -> None:
        try:
            from distributed import Client, Queue
        except ImportError:
            raise ImportError(
                "DaskExecutor needs dask.distributed: pip install 'tunelab[dask]'"
            ) from None
        payload = _ship(
            objective,
            "DaskExecutor runs the objective on Dask workers",
            "run without the executor (n_jobs=1)",
        )
        if isinstance(self.client_or_address, Client):
            self._client = self.client_or_address
        else:
            self._client = (
                Client(self.client_or_address, dashboard_address=None)
                if (self.client_or_address is None)
                else Client(self.client_or_address)
            )
            self._owns_client = True
        # Sent inside each task rather than scattered once: scattered data dies with the workers
        # holding it, and a crashed worker must not take every later trial down with it.
        self._payload = payload
        self._prefix = f"tunelab-{uuid.uuid4().hex[:12]}"
        self._requests = Queue(f"{self._prefix}-requests", client=self._client)
        self._reply_queues: dict[tuple[int, int], Any] = {}
        self._trial_timeout = trial_timeout
        self._running = {}
        self._no_workers_since: float | None = None  # since when the cluster has had no worker
        self._warned_no_workers = False
        self._next_workers_check = 0.0
        self._gone: str | None = None  # why the run cannot go on (no worker for too long)
        self._study: Any = None  # the study of the trials dispatched (known from the first)

    @property
    def n_workers(self) -> int:
        """Trials in flight at once (known once ``start`` has connected to the cluster)."""
        return self._capacity() if self._client is not None else (self.n_parallel or 1)

    def _capacity(self) -> int:
        if self.n_parallel is not None:
            return self.n_parallel
        workers = self._client.scheduler_info().get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def free_slots(self) -> int:
        if self._gone is not None:
            # The optimize loop asks this first after recording the trials failed for want of
            # workers (whatever its catch=), so this is where the run ends.
            raise WorkerLostError(self._gone)
        return max(0, self._capacity() - len(self._running))

    def submit(self, trial: Trial) -> None:
        if self._gone is not None:
            raise WorkerLostError(self._gone)
        self._dispatch(trial, attempt=0)

    def _dispatch(self, trial: Trial, attempt: int, *, charged: int = 0, free: int = 0) -> None:
        study = trial.study
        space = {n: d for n, d in study._intersection_search_space().items() if not d.is_single()}
        drawn = trial._predraw(space) if space else {}
        prefetched = {name: (space[name], value) for name, value in drawn.items()}
        future = self._client.submit(
            _run_trial_on_worker,
            self._payload,
            trial.number,
            attempt,
            trial.params,
            trial.distributions,
            trial.user_attrs,
            trial.datetime_start,
            prefetched,
            self._prefix,
            self._trial_timeout,
            _REPLY_CHECK_SECONDS,
            len(study.directions),
            key=_task_key(self._prefix, trial.number, attempt),
            pure=False,
        )
        self._running[trial.number] = _Running(
            trial, future, time.monotonic(), attempt, charged=charged, free=free
        )
        self._study = study

    def running(self) -> list[Trial]:
        return [r.trial for r in self._running.values()]

    def _reply_queue(self, number: int, attempt: int) -> Any:
        from distributed import Queue

        key = (number, attempt)
        if key not in self._reply_queues:
            self._reply_queues[key] = Queue(
                f"{self._prefix}-reply-{number}-{attempt}", client=self._client
            )
        return self._reply_queues[key]

    def _serve_requests(self) -> int:
        """Answer every queued worker request; return how many there were."""
        requests = self._requests.get(batch=True)
        for number, attempt, method, blob in requests:
            entry = self._running.get(number)
            answered = method not in (_BEGAN, _RESULT, *_UNANSWERED)
            if method == _LATE_REPORT:
                method = "report"
            if entry is None or entry.attempt != attempt or entry.given_up is not None:
                reply = self._refuse(number, attempt, entry, method, blob)
                if answered:
                    # An attempt given up on (reported lost while Dask had in fact moved it to
                    # a live worker, or stopped for overrunning) can still be running. Left
                    # without an answer it would wait forever and hold its worker thread,
                    # starving every task queued behind it; answered with an error, it ends.
                    self._send_reply(number, attempt, reply)
                    self._reply_queues.pop((number, attempt), None)
                elif method == "report" and reply[0] == "error":
                    _warn_report(number, reply[1])
                continue
            if method == _BEGAN:
                entry.began = True
                continue
            try:
                args = pickle.loads(blob)
            except Exception as exc:  # a class the driver lacks: the objective or the FAIL says so
                text = (
                    f"the driver could not read what trial {number}'s task sent ({method}): "
                    f"{describe_error(exc)}"
                )
                if answered:
                    self._answer(entry, method, ("error", RuntimeError(text)))
                else:
                    self._give_up(entry, text)
                continue
            if method == _RESULT:
                entry.result = args
                continue
            if method == _TOOK:
                # The driver's own draw, so suggest returns it. Should storing it fail, the same
                # suggest is made again, and its error raised, when the task's outcome comes in.
                serve_call(entry.trial, "suggest", args)
                continue
            answer = serve_call(entry.trial, method, args)
            if answered:
                self._answer(entry, method, answer)
            elif answer[0] == "error":
                # The task did not wait for an answer: it checked what it could (the value, the
                # step, the number of objectives), and what only the driver finds is logged.
                _warn_report(number, answer[1])
        return len(requests)

    def _refuse(
        self, number: int, attempt: int, entry: _Running | None, method: str, blob: bytes
    ) -> tuple[str, Any]:
        """The answer to a request from a task whose trial is not running here (any more): the
        error n_jobs=1 gives for a finished trial, or a study's view served as for any
        trial; an attempt given up on while its trial still runs (or waits) is told so."""
        if entry is None and self._study is not None:
            try:
                if not acts_on_trial(method):
                    return serve_call(_OnStudy(self._study), method, pickle.loads(blob))
                error = finished_error(self._study, number)
            except Exception as exc:
                return "error", exc
            if error is not None:
                return "error", error
        return "error", _abandoned(number, attempt)

    def _answer(self, entry: _Running, method: str, answer: tuple[str, Any]) -> None:
        """Send the task its answer. One that does not pickle reaches the objective as an error
        saying so; one that cannot be delivered stops that trial alone, never the run."""
        status, result = answer
        if status == "error":
            result = sendable_error(result)
        try:
            blob = _pack((status, result))
        except Exception as exc:
            text = f"the driver could not send its answer to {method}: {describe_error(exc)}"
            blob = _pack(("error", RuntimeError(text)))
        number, attempt = entry.trial.number, entry.attempt
        problem = self._send_reply(number, attempt, blob)
        if problem is not None:
            self._give_up(
                entry,
                f"the driver could not deliver its answer to {method} to the task on the Dask "
                f"worker ({problem}); the trial was stopped",
            )

    def _send_reply(self, number: int, attempt: int, reply: Any) -> str | None:
        """Put ``reply`` (pickled here unless it is already) on the attempt's reply queue; the
        reason it could not be, or None."""
        try:
            blob = reply if isinstance(reply, bytes) else _pack(reply)
            self._reply_queue(number, attempt).put(blob)
        except Exception as exc:
            logger.debug("could not answer trial %d (attempt %d)", number, attempt, exc_info=True)
            return describe_error(exc)
        return None

    def _give_up(self, entry: _Running, reason: str) -> None:
        """Stop waiting for ``entry``: it fails with ``reason`` at the next collection. Its
        task, should it still run, gets an error for its next request and ends."""
        entry.given_up = reason
        try:
            entry.future.cancel()
        except Exception:
            pass

    def wait(self, timeout: float | None) -> list[Outcome]:
        from distributed import wait as dask_wait

        deadline = None if timeout is None else time.monotonic() + timeout
        pause = _POLL_MIN_SECONDS
        while self._running:
            if self._serve_requests():
                pause = _POLL_MIN_SECONDS
            outcomes = self._collect_finished()
            outcomes.extend(self._stop_overrunning())
            if not outcomes:
                outcomes = self._fail_without_workers()
            if outcomes:
                return outcomes
            if deadline is not None and time.monotonic() >= deadline:
                return []
            futures = [r.future for r in self._running.values()]
            try:
                dask_wait(futures, timeout=pause, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pause = min(pause * 2, _POLL_MAX_SECONDS)  # quiet: look less often
        return []

    def _collect_finished(self) -> list[Outcome]:
        outcomes = []
        for number, entry in list(self._running.items()):
            if entry.result is None and entry.given_up is None and not entry.future.done():
                continue
            self._serve_requests()  # answer what the task sent before it ended
            del self._running[number]
            self._reply_queues.pop((number, entry.attempt), None)
            trial = entry.trial
            if entry.given_up is not None and entry.result is None:
                _forget(entry.future)
                outcomes.append(Outcome(trial, "invalid", error_text=entry.given_up))
                continue
            try:
                # The queued outcome is the normal path. Gathering is the fallback for a task
                # that ended without sending one; a result held only by a dead worker makes
                # Dask wait for a recomputation that may never be scheduled, hence the limit.
                outcome = entry.result or pickle.loads(entry.future.result(timeout=_GATHER_SECONDS))
                kind, values, error, text, tb, used = outcome
            except Exception as exc:
                _forget(entry.future)
                lost = isinstance(exc, TimeoutError) and not isinstance(exc, TrialTimeoutError)
                if _is_worker_loss(exc) or lost:
                    # Not the trial's doing when it never began, or when it finished and only
                    # its result was lost with a worker another trial killed.
                    if (not entry.began or lost) and entry.free < _UNCHARGED_RETRIES:
                        self._dispatch(
                            trial, entry.attempt + 1, charged=entry.charged, free=entry.free + 1
                        )
                        continue
                    # Dask's own re-runs count: a KilledWorker stands for allowed-failures + 1
                    # dead workers. Resubmitting on top of them multiplied the two limits (seen:
                    # 12 workers killed by one trial that crashed its worker every time).
                    charged = entry.charged + _runs_lost(exc)
                    if charged <= self.max_retries:
                        self._dispatch(trial, entry.attempt + 1, charged=charged, free=entry.free)
                        continue
                    text = f"worker lost: {describe_error(exc)} (after {charged} attempts)"
                    outcomes.append(Outcome(trial, "error", None, WorkerLostError(text), text))
                    continue
                outcomes.append(Outcome(trial, "error", None, exc, describe_error(exc)))
                continue
            _forget(entry.future)
            for name, distribution in used.items():
                trial.suggest(name, distribution)
            if kind == "error" and error is None:
                error = RuntimeError(text)
            if isinstance(error, TrialTimeoutError):
                text = self._timeout_text()
            if error is not None and tb and not isinstance(error, TrialTimeoutError):
                error.add_note(f"Traceback on the Dask worker:\n{tb}")
            outcomes.append(Outcome(trial, kind, values, error, text, tb))
        return outcomes

    def _fail_without_workers(self) -> list[Outcome]:
        """Warn when the cluster has had no worker for a while with trials waiting, and fail
        them once it has had none for ``no_workers_timeout`` (seen: after repeated worker
        crashes a LocalCluster ended with none, and optimize waited forever without a word)."""
        now = time.monotonic()
        if now < self._next_workers_check:
            return []
        self._next_workers_check = now + _WORKERS_CHECK_SECONDS
        workers = self._count_workers()
        if workers is None:  # the scheduler did not answer: nothing to judge by
            return []
        if workers > 0:
            if self._warned_no_workers:
                logger.warning("The Dask cluster has %d worker(s) again.", workers)
            self._no_workers_since = None
            self._warned_no_workers = False
            return []
        if self._no_workers_since is None:
            self._no_workers_since = now
        idle = now - self._no_workers_since
        limit = self.no_workers_timeout
        warn_after = (
            _NO_WORKERS_WARN_SECONDS if limit is None else min(_NO_WORKERS_WARN_SECONDS, limit / 2)
        )
        if not self._warned_no_workers and idle >= warn_after:
            self._warned_no_workers = True
            then = (
                "tunelab waits for workers for good (no_workers_timeout=None)"
                if limit is None
                else f"they fail if none comes within {limit:g} s (DaskExecutor's "
                "no_workers_timeout)"
            )
            logger.warning(
                "%d trial(s) are waiting, but the Dask cluster has had no workers for %.0f s "
                "(did they crash, or is the cluster still starting them?); %s.",
                len(self._running),
                idle,
                then,
            )
        if limit is None or idle < limit:
            return []
        self._serve_requests()
        outcomes = self._collect_finished()  # what came in at the last moment still counts
        text = f"no Dask workers for {limit:g} s"
        waiting = len(self._running)
        for entry in self._running.values():
            entry.future.cancel()
            _forget(entry.future)
            self._reply_queues.pop((entry.trial.number, entry.attempt), None)
            outcomes.append(Outcome(entry.trial, "error", None, WorkerLostError(text), text))
        self._running = {}
        self._gone = (
            f"the Dask cluster has had no workers for {limit:g} s, so the {waiting} trial(s) "
            f"waiting for one were failed ({text!r}); the study and its finished trials are "
            "kept. Find out why the workers are gone (an objective that crashes its worker, a "
            "cluster that stopped replacing them), start workers and run optimize again; "
            "DaskExecutor(no_workers_timeout=None) waits for workers for good."
        )
        return outcomes

    def _count_workers(self) -> int | None:
        """The scheduler's worker count; None when it cannot be had (then nothing is judged)."""
        try:
            try:
                info = self._client.scheduler_info(n_workers=0)  # the count, not every worker
            except TypeError:  # an older distributed
                info = self._client.scheduler_info()
            count = info.get("n_workers")
            return int(count) if count is not None else len(info.get("workers", {}))
        except Exception:
            logger.debug("could not ask the scheduler for its workers", exc_info=True)
            return None

    def _timeout_text(self) -> str:
        return f"trial timed out after {self._trial_timeout:g} s (trial_timeout) and was stopped"

    def _stop_overrunning(self) -> list[Outcome]:
        if self._trial_timeout is None:
            return []
        # The task interrupts itself at the limit; this is the backstop for a task stuck in C
        # code or queued behind others: the driver stops waiting and discards its result.
        grace = max(1.0, 0.5 * self._trial_timeout)
        outcomes = []
        now = time.monotonic()
        for number, entry in list(self._running.items()):
            if now - entry.started_at < self._trial_timeout + grace:
                continue
            entry.future.cancel()
            del self._running[number]
            text = self._timeout_text()
            outcomes.append(Outcome(entry.trial, "error", None, TrialTimeoutError(text), text))
        return outcomes

    def shutdown(self, *, cancel: bool) -> None:
        if self._client is None:
            return
        futures = [entry.future for entry in self._running.values()]
        if cancel:
            for future in futures:
                future.cancel()
        elif futures:
            from distributed import wait as dask_wait

            dask_wait(futures)  # let running trials end before the client goes away
        for future in futures:
            _forget(future)
        self._running = {}
        if self._owns_client:
            cluster = getattr(self._client, "cluster", None)
            self._client.close()
            if cluster is not None:
                cluster.close()
        self._client = None


class _OnStudy:
    """Serves a task's study calls (``trial.study`` reads and writes) once its trial is over."""

    def __init__(self, study: Any) -> None:
        self.study = study


def _warn_report(number: int, error: BaseException) -> None:
    logger.warning(
        "A report from trial %d's objective was not recorded: %s", number, describe_error(error)
    )


def _forget(future: Any) -> None:
    """Tell the scheduler the driver is done with a trial's task.

    Dropping the last reference would do it, but a failed gather's traceback holds the future
    (and Dask keeps that traceback), so the task outlives its study. A finished task the
    scheduler still holds is recomputed when its worker dies, and the copy, asking a driver that
    has moved on for a parameter, waits forever and takes a worker thread with it (seen: every
    later study on the cluster hung)."""
    try:
        future.release()
    except Exception:  # a client already closing has nothing left to release
        pass


def _abandoned(number: int, attempt: int) -> RuntimeError:
    return RuntimeError(
        f"attempt {attempt + 1} of trial {number} was abandoned by the driver (its worker was "
        "reported lost, or it overran its trial_timeout); another attempt or the FAIL stands"
    )


def _runs_lost(exc: BaseException) -> int:
    """How many runs of the task died with their worker: Dask gives up on a task (KilledWorker)
    after ``allowed-failures`` re-runs of its own."""
    allowed = getattr(exc, "allowed_failures", 0) if type(exc).__name__ == "KilledWorker" else 0
    return 1 + (allowed if is_int(allowed) and allowed > 0 else 0)


def _is_worker_loss(exc: BaseException) -> bool:
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - dask always has it
        return False
    return isinstance(exc, KilledWorker) or type(exc).__name__ in (
        "KilledWorker",
        "CommClosedError",
    )
