"""The one optimize loop: keep the executor's slots filled, record every outcome, stop cleanly."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ._frozen import FrozenTrial, TrialState
from ._heartbeat import Heartbeat
from ._interrupts import INTERRUPTED, interrupts_noticed, stopped_reason
from ._progress import ProgressBar
from ._trial import TRACEBACK_ATTR
from ._validation import fail, is_int, non_negative_int_or_none, positive_number_or_none
from .exceptions import (
    GridExhausted,
    InvalidParameterError,
    StaleTrialError,
    TrialTimeoutError,
    WorkerLostError,
)
from .execution import Executor, InlineExecutor, Outcome, ProcessExecutor
from .execution._base import raised_as

if TYPE_CHECKING:
    from ._study import Callback, Study
    from ._trial import Trial

logger = logging.getLogger("tunelab")


def _check_catch(catch: Any) -> tuple[type[BaseException], ...]:
    # Any iterable of classes, as Optuna takes (catch=[ValueError] was refused).
    many = isinstance(catch, Iterable) and not isinstance(catch, (type, str, bytes))
    items = tuple(catch) if many else (catch,)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise fail(
                "catch", "Study.optimize", "an exception class or a tuple/list of them", catch
            )
        if not issubclass(item, Exception):
            # Honouring them would let catch=(KeyboardInterrupt,) make Ctrl-C useless with
            # n_jobs=1 while it still stops a parallel run (workers ignore SIGINT).
            raise InvalidParameterError(
                f"The 'catch' parameter of Study.optimize takes Exception subclasses; got "
                f"{item.__name__}. KeyboardInterrupt, SystemExit and other BaseExceptions always "
                "fail their trial and stop optimize. Use catch=(Exception,) to go on after any "
                "error."
            )
    return items


def _n_workers(n_jobs: Any) -> int:
    if not is_int(n_jobs) or n_jobs == 0 or n_jobs < -1:
        raise fail("n_jobs", "Study.optimize", "a positive int or -1 (all cores)", n_jobs)
    if n_jobs == -1:
        import os

        return os.cpu_count() or 1
    return int(n_jobs)


def run_optimize(
    study: Study,
    objective: Callable[[Any], Any],
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    callbacks: Sequence[Callback],
    catch: Any,
    show_progress_bar: bool,
    executor: Executor | None,
    trial_timeout: float | None = None,
    gc_after_trial: bool = False,
) -> None:
    owner = "Study.optimize"
    if not callable(objective):
        raise fail("objective", owner, "a callable taking a trial", objective)
    # 0 runs nothing, as in Optuna: `n_trials=target - len(study.trials)` resumes a study.
    n_trials = non_negative_int_or_none(n_trials, "n_trials", owner)
    timeout = positive_number_or_none(timeout, "timeout", owner)
    trial_timeout = positive_number_or_none(trial_timeout, "trial_timeout", owner)
    caught = _check_catch(catch)
    for cb in callbacks:
        if not callable(cb):
            raise fail("callbacks", owner, "a list of callables (study, trial)", cb)
    if n_trials == 0:
        _n_workers(n_jobs)  # still refuse a bad n_jobs
        return  # nothing to run: no workers started, no executor touched
    if executor is None:
        workers = _n_workers(n_jobs)
        # Only a separate process can be stopped reliably mid-trial (a C extension ignores
        # signals), so a trial time limit runs even a single worker in its own process.
        inline = workers == 1 and trial_timeout is None
        if n_trials is not None:
            workers = min(workers, n_trials)  # a worker process beyond that would idle
        executor = InlineExecutor() if inline else ProcessExecutor(workers)
    elif not isinstance(executor, Executor):
        raise fail("executor", owner, "a tunelab Executor or None", executor)
    elif n_jobs != 1:
        raise InvalidParameterError(
            "Study.optimize got both 'n_jobs' and 'executor'; the executor decides the "
            "parallelism. Drop n_jobs."
        )

    if trial_timeout is not None and not executor.supports_trial_timeout:
        raise InvalidParameterError(
            f"{type(executor).__name__} cannot stop a running trial, so 'trial_timeout' is not "
            "supported with it. Use n_jobs (worker processes) or drop trial_timeout."
        )
    study._stop_flag = False
    # The budget counts from here, the executor's start-up included (a Dask LocalCluster takes
    # seconds: a 10 s run took 15 s when its clock started after it), as Optuna counts it.
    began = time.monotonic()
    deadline = None if timeout is None else began + timeout
    # Before any thread exists (heartbeat, progress bar): worker processes may be forked.
    executor.start(objective, trial_timeout)
    try:
        study.sampler.plan(study, n_trials, getattr(executor, "n_workers", 1))
        progress = ProgressBar(show_progress_bar, n_trials, timeout, study, began)
    except BaseException:
        executor.shutdown(cancel=True)
        raise
    heartbeat = Heartbeat(study._storage).start()
    inline_objective = isinstance(executor, InlineExecutor)
    started = 0
    # The loop's own account, whatever the executor knows: every trial asked and not yet told,
    # and outcomes taken out of the executor and not yet recorded. However the loop ends (a
    # trial's error, a callback's, Ctrl-C at any point), its `finally` settles both, so no trial
    # is left RUNNING with nobody to finish it.
    pending: dict[int, Trial] = {}
    received: list[Outcome] = []
    stage = "optimize"
    reason: str | None = None

    def settled(trial: Trial) -> None:
        pending.pop(trial.number, None)
        heartbeat.untrack(trial._frozen.trial_id)

    # The sampler ran out (a finished grid). Not a stop: a lost trial found afterwards is
    # re-queued, and its retry must still run (it used to wait in the queue for good).
    exhausted = False
    noticed = interrupts_noticed()
    pressed = noticed.__enter__()
    try:
        while True:
            while (
                executor.free_slots() > 0
                and not exhausted
                and not study._stop_flag
                and (n_trials is None or started < n_trials)
                and (deadline is None or time.monotonic() < deadline)
            ):
                try:
                    trial = study._ask(None, keep_lease=False)  # renewed by `heartbeat`
                except GridExhausted:
                    exhausted = True
                    break
                pending[trial.number] = trial
                started += 1
                heartbeat.track(trial._frozen.trial_id)
                reused = study._finish_if_duplicate(trial)
                if reused is not None:
                    settled(trial)
                    stage = "a callback"
                    _after_trial(study, reused, progress, callbacks, gc_after_trial)
                    stage = "optimize"
                    continue
                executor.submit(trial)
            if not executor.running():
                break
            received = executor.wait(timeout=None)
            error: Outcome | None = None
            while received:
                outcome = received[0]
                if pressed and inline_objective and outcome.kind in ("values", "pruned"):
                    # The objective ran here while Ctrl-C was pressed and returned anyway: it
                    # caught the KeyboardInterrupt, and its result (a model trained until the
                    # press) is not the configuration's.
                    outcome = Outcome(
                        outcome.trial,
                        "invalid",
                        error_text=f"{INTERRUPTED}; the objective caught it and returned, so "
                        "its result was not kept",
                    )
                    received[0] = outcome
                frozen, retry = _record(study, outcome)
                if retry is not None:
                    # The retry takes the lost trial's place in the budget: the next ask claims
                    # it, so n_trials counts evaluations that were not lost.
                    started -= 1
                    exhausted = False
                received.pop(0)
                settled(outcome.trial)
                stage = "a callback"
                _after_trial(study, frozen, progress, callbacks, gc_after_trial)
                stage = "optimize"
                if outcome.error is not None and not _is_caught(outcome.error, caught):
                    error = error or outcome
            if error is not None:
                assert error.error is not None
                reason = (
                    f"stopped because trial {error.trial.number} raised "
                    f"{type(error.error).__name__}"
                )
                raise error.error
            if pressed:
                raise KeyboardInterrupt  # swallowed by the objective: the run stops all the same
    except BaseException as exc:
        if reason is None:
            reason = stopped_reason(exc, stage)
        raise
    finally:
        try:
            _settle(study, received, pending, reason or "optimize stopped")
        finally:
            noticed.__exit__(None, None, None)
            heartbeat.stop()
            executor.shutdown(cancel=True)
            progress.close()


def _after_trial(
    study: Study,
    frozen: FrozenTrial,
    progress: ProgressBar,
    callbacks: Sequence[Callback],
    full_collect: bool,
) -> None:
    if full_collect:
        # Every generation, not only the youngest that _record collects: objectives that build
        # big cyclic graphs (deep-learning models) otherwise hold their memory until later.
        gc.collect()
    if logger.isEnabledFor(logging.INFO):  # finding the best reads every trial: only if shown
        _log_finished(study, frozen)
    progress.update(frozen)
    for cb in callbacks:
        cb(study, frozen)


def _log_finished(study: Study, frozen: FrozenTrial) -> None:
    """One INFO line per finished trial, as Optuna prints (failures are warnings already)."""
    if frozen.state == TrialState.PRUNED:
        logger.info("Trial %d pruned with parameters %s.", frozen.number, frozen.params)
        return
    if frozen.state != TrialState.COMPLETE:
        return
    if len(study.directions) == 1:
        try:
            best = study.best_trial
        except ValueError:  # no feasible trial yet
            best_text = "no trial satisfies the constraints yet"
        else:
            best_text = f"best is trial {best.number} with value {best.value!r}"
        logger.info(
            "Trial %d finished with value %r and parameters %s; %s.",
            frozen.number,
            frozen.value,
            frozen.params,
            best_text,
        )
        return
    logger.info(
        "Trial %d finished with values %r and parameters %s; the Pareto front holds %d trials.",
        frozen.number,
        frozen.values,
        frozen.params,
        len(study.best_trials),
    )


def _is_caught(error: BaseException, caught: tuple[type[BaseException], ...]) -> bool:
    # A StaleTrialError means another process reaped this trial while this one was paused
    # (laptop sleep, a VM frozen past its lease): the trial is already FAIL in the storage,
    # and this process is alive to go on with the next one.
    lost = (WorkerLostError, TrialTimeoutError, StaleTrialError)
    return isinstance(error, lost) or raised_as(error, caught)


def _settle(study: Study, received: list[Outcome], pending: dict[int, Trial], reason: str) -> None:
    """Record outcomes already received (the trial ran to its end), then fail every trial still
    pending with ``reason``: the study never keeps RUNNING trials nobody owns."""
    for outcome in received:
        if outcome.trial.number not in pending:
            continue  # recorded just before the loop ended
        try:
            _record(study, outcome)
            pending.pop(outcome.trial.number)
        except Exception:
            logger.debug("could not record trial %s", outcome.trial.number, exc_info=True)
    for trial in pending.values():
        try:
            study.tell(trial, state=TrialState.FAIL, fail_reason=reason)
        except Exception:  # told just before the loop ended, or the storage is gone
            logger.debug("could not fail trial %s", trial.number, exc_info=True)


def _record(study: Study, outcome: Outcome) -> tuple[FrozenTrial, FrozenTrial | None]:
    """Store an outcome; returns the finished trial and, for a lost one, its queued retry."""
    trial = outcome.trial
    retry = None
    unusable = study._unusable_result(outcome.values) if outcome.kind == "values" else None
    if outcome.kind == "invalid":
        unusable = outcome.error_text
    if outcome.kind == "values" and unusable is None:
        frozen = study.tell(trial, outcome.values)
    elif unusable is not None:
        frozen = study.tell(trial, state=TrialState.FAIL, fail_reason=unusable)
        logger.warning(
            "Trial %d failed with parameters %s: %s", trial.number, trial.params, unusable
        )
    elif outcome.kind == "pruned":
        frozen = study.tell(trial, state=TrialState.PRUNED)
    else:
        if outcome.traceback:
            try:
                study._set_trial_system_attr(trial._frozen, TRACEBACK_ATTR, outcome.traceback)
            except Exception:
                logger.debug("could not store the traceback of trial %s", trial.number)
        if isinstance(outcome.error, WorkerLostError):
            frozen, retry = study._fail_lost(trial, outcome.error_text)
        else:
            frozen = study.tell(trial, state=TrialState.FAIL, fail_reason=outcome.error_text)
        logger.warning(
            "Trial %d failed with parameters %s: %s", trial.number, trial.params, outcome.error_text
        )
        if retry is not None:
            logger.warning("Trial %d re-queued as trial %d", trial.number, retry.number)
    gc.collect(0)
    return frozen, retry
