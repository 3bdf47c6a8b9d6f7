import gc
import logging
import os
import pickle
import threading
import time
from datetime import UTC, datetime

import pytest

import tunelab as tl
from tunelab.exceptions import WorkerLostError

distributed = pytest.importorskip("distributed", reason="Dask tests need 'tunelab[dask]'")


@pytest.fixture(scope="module")
def client():
    import dask

    # Worker deaths go straight to tunelab's own retry logic, so the tests stay short.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        yield client
        client.close()
        cluster.close()


def conditional(trial):
    kind = trial.suggest_categorical("kind", ["a", "b"])
    x = trial.suggest_float("x", -3, 3)
    if kind == "a":
        x += trial.suggest_int("depth", 1, 4)
    trial.report(x, 0)
    return x * x


def test_define_by_run_objective_finishes_on_workers(client):
    study = tl.create_study(seed=0)
    study.optimize(conditional, n_trials=12, executor=tl.DaskExecutor(client))
    trials = study.trials
    assert len(trials) == 12 and all(t.state == tl.TrialState.COMPLETE for t in trials)
    for t in trials:
        assert ("depth" in t.params) == (t.params["kind"] == "a")
        assert t.intermediate_values and t.value == pytest.approx(t.intermediate_values[0] ** 2)


def test_pending_trials_are_visible_to_the_sampler(client):
    seen = []

    class Spy(tl.samplers.RandomSampler):
        def sample_one(self, study, trial, name, distribution):
            seen.append(len(study.get_trials((tl.TrialState.RUNNING,))))
            return super().sample_one(study, trial, name, distribution)

    def slow(trial):
        time.sleep(0.2)
        return trial.suggest_float("y", 0, 1)

    study = tl.create_study(sampler=Spy(seed=1))
    study.optimize(slow, n_trials=6, executor=tl.DaskExecutor(client))
    assert max(seen) == 2


def test_worker_killed_once_reruns_the_trial(client, tmp_path):
    marker = tmp_path / "killed"

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2 and not marker.exists():
            marker.write_text("x")
            os._exit(1)  # the worker process dies mid-trial
        return x

    study = tl.create_study(seed=2)
    executor = tl.DaskExecutor(client, max_retries=2)
    study.optimize(obj, n_trials=6, executor=executor)
    trials = study.trials
    assert marker.exists()
    assert len(trials) == 6 and all(t.state == tl.TrialState.COMPLETE for t in trials)
    # The driver lets go of every task it is done with. One the scheduler still held would be
    # recomputed when a worker dies later, ask this finished study for a parameter, and block
    # its worker thread for good (seen: every later test on the cluster hung).
    gc.collect()
    assert [key for key in client.futures if str(key).startswith(executor._prefix)] == []


def test_worker_always_killed_fails_the_trial_and_the_study_finishes(client):
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            os._exit(1)
        return x

    study = tl.create_study(seed=3)
    study.optimize(obj, n_trials=4, executor=tl.DaskExecutor(client, max_retries=1))
    trials = study.trials
    assert len(trials) == 4
    assert trials[1].state == tl.TrialState.FAIL and trials[1].fail_reason.startswith("worker lost")
    # Dask blames every task assigned to a dying worker; those only queued behind trial 1 (one
    # thread per worker, so none was running) never began and are resubmitted uncharged, as are
    # finished ones whose result died with the worker.
    assert all(t.state == tl.TrialState.COMPLETE for t in trials if t.number != 1)


def test_a_trial_lost_with_its_worker_keeps_its_params_and_its_retry_reruns_them(client, tmp_path):
    # Found by a QA pass: values drawn ahead reached the driver only with the outcome, so the
    # lost trial was stored as FAIL {} and its retry (retry_failed) ran another configuration.
    ran = tmp_path / "ran"

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2:  # dispatched once a trial finished, so x and y are drawn ahead
            ran.write_text(repr(x))
            os._exit(1)
        return x + trial.suggest_float("y", 0, 1)

    study = tl.create_study(seed=7, retry_failed=1)
    # Budget to spare: trials asked before the loss is noticed come ahead of the retry.
    study.optimize(obj, n_trials=6, executor=tl.DaskExecutor(client, max_retries=0))
    lost = study.trials[2]
    assert lost.state == tl.TrialState.FAIL and lost.fail_reason.startswith("worker lost")
    # What the objective took before it died; y, drawn ahead but never taken, is not claimed.
    assert lost.params == {"x": float(ran.read_text())}
    (retry,) = [t for t in study.trials if t.system_attrs.get("retry_of") == 2]
    assert retry.state == tl.TrialState.COMPLETE and retry.params["x"] == lost.params["x"]


def test_bystanders_of_a_worker_killer_are_never_charged(client):
    # Four trials in flight on two one-thread workers, so two are always queued; trial 1 kills
    # its worker, so with max_retries=0 it fails at once. What Dask had queued on that worker
    # never began, and a finished result still held there is lost with it: neither is charged.
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            os._exit(1)
        time.sleep(0.05)
        return x

    study = tl.create_study(seed=5)
    study.optimize(obj, n_trials=8, executor=tl.DaskExecutor(client, max_retries=0, n_parallel=4))
    states = [t.state for t in study.trials]
    assert states[1] == tl.TrialState.FAIL
    assert "after 1 attempts" in study.trials[1].fail_reason
    assert all(s == tl.TrialState.COMPLETE for i, s in enumerate(states) if i != 1), [
        (t.number, t.state, t.fail_reason) for t in study.trials
    ]


def test_trial_timeout_on_dask(client):
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 0:
            for _ in range(400):
                time.sleep(0.05)
        return x

    study = tl.create_study(seed=4)
    started = time.monotonic()
    study.optimize(obj, n_trials=3, executor=tl.DaskExecutor(client), trial_timeout=1.0)
    assert time.monotonic() - started < 15
    assert study.trials[0].state == tl.TrialState.FAIL
    assert "timed out after 1 s" in study.trials[0].fail_reason


def test_errors_and_pruning_on_dask(client):
    class PruneAbove(tl.pruners.BasePruner):
        def prune(self, study, trial):
            return trial.intermediate_values.get(0, 0.0) > 0.5

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        if trial.should_prune():
            raise tl.TrialPruned()
        return x

    study = tl.create_study(seed=5, pruner=PruneAbove())
    study.optimize(obj, n_trials=8, executor=tl.DaskExecutor(client))
    for t in study.trials:
        expected = tl.TrialState.PRUNED if t.params["x"] > 0.5 else tl.TrialState.COMPLETE
        assert t.state == expected

    def broken(trial):
        raise ValueError("remote failure")

    with pytest.raises(ValueError, match="remote failure"):
        tl.create_study().optimize(broken, n_trials=2, executor=tl.DaskExecutor(client))


def test_a_request_from_an_abandoned_attempt_is_answered_with_an_error(client):
    # An attempt the driver gave up on may still run on a live worker; unanswered, it would wait
    # forever on its reply queue and hold that worker's only thread (seen: the next trial queued
    # behind it never started and the study hung).
    from distributed import Queue

    executor = tl.DaskExecutor(client)
    executor.start(lambda t: 0.0)
    try:
        requests = Queue(f"{executor._prefix}-requests", client=client)
        requests.put((7, 0, "suggest", pickle.dumps(("x", tl.Float(0, 1)))))
        requests.put((7, 0, "report", pickle.dumps((0.5, 0))))  # needs no answer, gets none
        assert executor._serve_requests() == 2
        replies = Queue(f"{executor._prefix}-reply-7-0", client=client)
        status, error = pickle.loads(replies.get(timeout=10))
        assert status == "error" and "abandoned by the driver" in str(error)
        assert replies.qsize() == 0
    finally:
        executor.shutdown(cancel=True)


def test_a_task_whose_driver_let_go_stops_waiting_for_an_answer(client, monkeypatch):
    # A driver that stops (a trial's error, Ctrl-C) or dies answers nothing more; a task still
    # waiting for a parameter would hold its worker thread for good.
    from distributed import Queue

    from tunelab.execution import _dask

    monkeypatch.setattr(_dask, "_REPLY_CHECK_SECONDS", 0.5)
    study = tl.create_study()
    executor = tl.DaskExecutor(client)
    executor.start(lambda t: t.suggest_float("x", 0, 1))
    requests = Queue(f"{executor._prefix}-requests", client=client)
    try:
        executor.submit(study.ask())
        methods = [requests.get(timeout=10)[2] for _ in range(2)]
        assert methods == ["began", "suggest"]  # asked, and left unanswered
    finally:
        executor.shutdown(cancel=True)
    number, attempt, method, outcome = requests.get(timeout=10)
    kind, _, _, text, *_ = pickle.loads(outcome)
    assert method == "result" and kind == "error" and "driver let go of it" in text


def test_an_outcome_sent_through_the_queue_needs_no_gather(client):
    # A finished task's return value dies with its worker if another trial kills that worker
    # before the driver gathers it (seen: every such bystander stalled the driver for the 30 s
    # gather limit, then ran again). The outcome the task queues is used instead, so a future
    # that never resolves is never waited on.
    from distributed import Queue

    from tunelab.execution._dask import _Running

    class NeverResolves:
        def done(self):
            return False

        def result(self, timeout=None):
            raise AssertionError("the driver gathered a result it had already been sent")

        def cancel(self):
            pass

    study = tl.create_study()
    trial = study.ask()
    executor = tl.DaskExecutor(client)
    executor.start(lambda t: 0.0)
    try:
        executor._running[trial.number] = _Running(trial, NeverResolves(), time.monotonic(), 0)
        requests = Queue(f"{executor._prefix}-requests", client=client)
        requests.put((trial.number, 0, "began", pickle.dumps(None)))
        requests.put(
            (trial.number, 0, "result", pickle.dumps(("values", 0.25, None, None, None, {})))
        )
        outcomes = executor.wait(timeout=10)
        assert [(o.trial.number, o.kind, o.values) for o in outcomes] == [
            (trial.number, "values", 0.25)
        ]
        assert executor.running() == []
    finally:
        executor.shutdown(cancel=True)


def test_executor_argument_checks():
    with pytest.raises(tl.InvalidParameterError, match="'max_retries' parameter of DaskExecutor"):
        tl.DaskExecutor(max_retries=-1)
    with pytest.raises(tl.InvalidParameterError, match="'no_workers_timeout' parameter"):
        tl.DaskExecutor(no_workers_timeout=0)
    with pytest.raises(tl.InvalidParameterError, match="both 'n_jobs' and 'executor'"):
        tl.create_study().optimize(conditional, n_trials=1, n_jobs=2, executor=tl.DaskExecutor())


def test_enqueued_values_reach_the_workers(client):
    study = tl.create_study(seed=6)
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=3, executor=tl.DaskExecutor(client)
    )
    study.enqueue_trial({"x": 0.125})
    study.enqueue_trial({"x": 0.875})
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=2, executor=tl.DaskExecutor(client)
    )
    assert sorted(t.params["x"] for t in study.trials[3:]) == [0.125, 0.875]
    assert sorted(t.value for t in study.trials[3:]) == [0.125, 0.875]


def test_a_worker_stops_the_study(client):
    def stop_at_two(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            trial.study.stop()
            trial.study.set_user_attr("stopped_at", datetime.now(UTC).isoformat())
        return x

    study = tl.create_study(seed=0)
    study.optimize(stop_at_two, n_trials=40, executor=tl.DaskExecutor(client))
    stopped_at = datetime.fromisoformat(study.user_attrs["stopped_at"])
    assert 3 <= len(study.trials) < 40
    assert all(t.datetime_start < stopped_at for t in study.trials)


def test_a_raising_callback_fails_the_trials_still_running_on_dask(client):
    # Found by a QA pass: they stayed RUNNING until their leases expired.
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number:
            time.sleep(0.5)  # still running when trial 0's callback raises
        return x

    def callback(study, trial):
        raise RuntimeError("callback boom")

    study = tl.create_study(seed=0)
    with pytest.raises(RuntimeError, match="callback boom"):
        study.optimize(obj, n_trials=4, executor=tl.DaskExecutor(client), callbacks=[callback])
    states = [t.state for t in study.trials]
    assert tl.TrialState.RUNNING not in states and tl.TrialState.FAIL in states


def test_catch_matches_an_error_that_cannot_be_pickled_on_dask(client):
    import threading

    class DataError(ValueError):
        def __init__(self, message):
            super().__init__(message)
            self.lock = threading.Lock()

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            raise DataError("bad batch")
        return x

    study = tl.create_study(seed=0)
    study.optimize(obj, n_trials=3, executor=tl.DaskExecutor(client), catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert states.count(tl.TrialState.COMPLETE) == 2
    assert study.trials[1].fail_reason == "DataError: bad batch"


def test_enums_and_lists_reach_the_objective_as_with_n_jobs(client):
    # Found by a QA pass: the scheduler msgpack-encodes what a distributed.Queue holds and only
    # rebuilds enums from modules it allows, so a worker reading trial.study.direction made the
    # whole optimize raise "Importing 'tunelab._frozen' is not allowed" (catch= or not, and an
    # unrelated running trial failed with it); lists also came back as tuples.
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        study = trial.study
        direction, directions = study.direction, study.directions
        done = study.get_trials(states=(tl.TrialState.COMPLETE, tl.TrialState.RUNNING))
        trial.set_user_attr(
            "seen",
            [
                direction is tl.StudyDirection.MINIMIZE,
                directions == [tl.StudyDirection.MINIMIZE],
                type(done).__name__,
                all(isinstance(t.state, tl.TrialState) for t in done),
                type(study.trials).__name__,
                type(study.get_trials()).__name__,
            ],
        )
        return x

    study = tl.create_study(seed=0)
    study.optimize(obj, n_trials=3, executor=tl.DaskExecutor(client))
    assert [t.state for t in study.trials] == [tl.TrialState.COMPLETE] * 3
    for t in study.trials:
        assert t.user_attrs["seen"] == [True, True, "list", True, "list", "list"]


def test_an_answer_that_cannot_be_delivered_fails_only_its_trial(client, monkeypatch):
    from tunelab.execution import _dask

    # The stopped task learns at its next check that the driver let go of it.
    monkeypatch.setattr(_dask, "_REPLY_CHECK_SECONDS", 0.5)

    class Undeliverable(tl.DaskExecutor):
        def _reply_queue(self, number, attempt):
            if number == 1:
                raise OSError("the scheduler went away")
            return super()._reply_queue(number, attempt)

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        trial.should_prune()  # answered by the driver, as is a suggest not drawn ahead
        return x

    study = tl.create_study(seed=0)
    study.optimize(obj, n_trials=4, executor=Undeliverable(client))  # no catch=: not raised
    states = [t.state for t in study.trials]
    assert states == [tl.TrialState.COMPLETE, tl.TrialState.FAIL] + [tl.TrialState.COMPLETE] * 2
    reason = study.trials[1].fail_reason
    # suggest when x was not drawn ahead (trial 1 may be dispatched before trial 0 ends)
    assert "could not deliver its answer to s" in reason
    assert "the scheduler went away" in reason


def test_dask_s_own_reruns_count_against_max_retries(client, monkeypatch):
    # Found by a QA pass: a trial that crashed its worker every time killed 12 of them, Dask's
    # allowed-failures (3, so 4 runs) times tunelab's 1 + max_retries (3).
    from types import SimpleNamespace

    from distributed.scheduler import KilledWorker

    from tunelab.execution._dask import _Running

    class Killed:
        def done(self):
            return True

        def result(self, timeout=None):
            raise KilledWorker("key", SimpleNamespace(address="tcp://w"), 3)

        def release(self):
            pass

        def cancel(self):
            pass

    study = tl.create_study()
    executor = tl.DaskExecutor(client, max_retries=2)
    executor.start(lambda t: 0.0)
    resubmitted = []
    monkeypatch.setattr(executor, "_dispatch", lambda trial, attempt, **kw: resubmitted.append(kw))
    try:
        trial = study.ask()
        executor._running[trial.number] = _Running(trial, Killed(), time.monotonic(), 0, began=True)
        (outcome,) = executor._collect_finished()
        assert resubmitted == []  # Dask ran it on 4 workers already: more than 1 + max_retries
        assert isinstance(outcome.error, WorkerLostError)
        assert outcome.error_text.startswith("worker lost: KilledWorker")
        assert outcome.error_text.endswith("(after 4 attempts)")

        executor.max_retries = 5  # room for one more round of Dask's four runs
        executor._running[trial.number] = _Running(trial, Killed(), time.monotonic(), 0, began=True)
        assert executor._collect_finished() == []
        assert resubmitted == [{"charged": 4, "free": 0}]
    finally:
        executor.shutdown(cancel=True)


@pytest.fixture
def thread_cluster():
    """A cluster of its own (threads, quick to start) that a test may leave without workers."""
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


def _wait_for_workers(client, n, seconds=10.0):
    deadline = time.monotonic() + seconds
    while client.scheduler_info()["n_workers"] != n:
        assert time.monotonic() < deadline, f"the cluster never reached {n} workers"
        time.sleep(0.05)


def test_a_cluster_without_workers_fails_the_waiting_trials_and_ends_the_run(
    thread_cluster, caplog
):
    # Found by a QA pass: after repeated worker crashes a LocalCluster ended with no worker and
    # optimize waited forever, without a word.
    cluster, client = thread_cluster
    study = tl.create_study(seed=0)
    objective = lambda t: t.suggest_float("x", 0, 1)  # noqa: E731
    study.optimize(objective, n_trials=2, executor=tl.DaskExecutor(client))
    cluster.scale(0)
    _wait_for_workers(client, 0)
    started = time.monotonic()
    executor = tl.DaskExecutor(client, no_workers_timeout=2)
    with (
        caplog.at_level(logging.WARNING, logger="tunelab"),
        pytest.raises(WorkerLostError, match="no workers for 2 s") as raised,
    ):
        study.optimize(objective, n_trials=3, executor=executor, catch=(Exception,))
    assert time.monotonic() - started < 10
    assert "the study and its finished trials are kept" in str(raised.value)
    trials = study.trials
    assert [t.state for t in trials[:2]] == [tl.TrialState.COMPLETE] * 2
    assert len(trials) > 2 and all(t.state == tl.TrialState.FAIL for t in trials[2:])
    assert {t.fail_reason for t in trials[2:]} == {"no Dask workers for 2 s"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("1 trial(s) are waiting" in w and "no workers for" in w for w in warnings)


def test_a_cluster_that_starts_without_workers_has_time_to_add_some(thread_cluster, caplog):
    # An adaptive cluster (SLURM, Kubernetes) often starts with none and adds them when asked.
    cluster, client = thread_cluster
    cluster.scale(0)
    _wait_for_workers(client, 0)
    threading.Timer(1.5, cluster.scale, args=(1,)).start()
    study = tl.create_study(seed=0)
    executor = tl.DaskExecutor(client, no_workers_timeout=30)
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, executor=executor)
    assert [t.state for t in study.trials] == [tl.TrialState.COMPLETE] * 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def two_objectives_reporting(trial):
    x = trial.suggest_float("x", 0, 1)
    try:
        trial.report(x, 0)
    except tl.InvalidParameterError as exc:
        trial.set_user_attr("report_error", str(exc))
    return x, 1 - x


def test_a_report_in_a_multi_objective_study_raises_on_dask_as_with_n_jobs(client):
    # Found by a QA pass: n_jobs=1 and 2 raise "use report_values"; Dask sent the report
    # without waiting and dropped the driver's error without a word.
    study = tl.create_study(directions=["minimize", "minimize"])
    study.optimize(two_objectives_reporting, n_trials=2, executor=tl.DaskExecutor(client))
    for t in study.trials:
        assert t.intermediate_values == {}
        assert t.user_attrs["report_error"].startswith("Trial.report takes one value")


def keeps_the_previous_trial(trial):
    import sys

    # Every task unpickles the objective afresh: keep the handle where the worker process does.
    kept = sys.__dict__.setdefault("_tunelab_test_kept_trials", {})
    x = trial.suggest_float("x", 0, 1)
    previous = kept.get("trial")
    if previous is not None:
        try:
            previous.report(999.0, 7)
            trial.set_user_attr("late", "accepted")
        except Exception as exc:
            trial.set_user_attr("late", f"{type(exc).__name__}: {exc}")
        trial.set_user_attr("previous", previous.number)
    kept["trial"] = trial
    trial.report(x, 0)
    return x


def test_a_report_through_a_finished_trial_s_handle_is_refused_on_dask(client):
    # Found by a QA pass: it was sent without waiting and dropped; n_jobs=1 raises.
    client.run(lambda: __import__("sys").__dict__.pop("_tunelab_test_kept_trials", None))
    study = tl.create_study()
    study.optimize(keeps_the_previous_trial, n_trials=4, executor=tl.DaskExecutor(client))
    late = [t for t in study.trials if "late" in t.user_attrs]
    assert len(late) >= 2  # two worker processes, four trials
    for t in late:
        number = t.user_attrs["previous"]
        assert t.user_attrs["late"] == (
            f"TrialAlreadyFinishedError: Trial {number} is already finished (COMPLETE); "
            "a finished trial cannot be changed."
        )
    assert all(list(t.intermediate_values) == [0] for t in study.trials)


def test_a_report_the_driver_refuses_is_logged_on_dask(client, caplog):
    # A report is sent without waiting; an error only the driver can find (here: the trial was
    # told meanwhile) used to vanish.
    from distributed import Queue

    study = tl.create_study()
    executor = tl.DaskExecutor(client)
    executor.start(lambda t: time.sleep(5))
    try:
        trial = study.ask()
        executor.submit(trial)
        study.tell(trial, 1.0)
        requests = Queue(f"{executor._prefix}-requests", client=client)
        requests.put((trial.number, 0, "report", pickle.dumps((0.5, 3))))
        with caplog.at_level(logging.WARNING, logger="tunelab"):
            deadline = time.monotonic() + 10
            while "report" not in caplog.text and time.monotonic() < deadline:
                executor._serve_requests()
                time.sleep(0.05)
    finally:
        executor.shutdown(cancel=True)
    assert f"A report from trial {trial.number}'s objective was not recorded" in caplog.text
    assert "already finished (COMPLETE)" in caplog.text
