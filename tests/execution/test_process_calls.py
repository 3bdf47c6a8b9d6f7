"""Worker processes: trial_timeout counts the trial's own time, and a worker's calls reach the
trial they were made for (found by a QA pass of parallel pruning, 2026-11-29)."""

from __future__ import annotations

import threading
import time

import pytest

import tunelab as tl


def test_a_result_waiting_in_the_pipe_is_kept_past_trial_timeout():
    # Trial 1 ends well within its limit while the driver runs trial 0's slow callback; its
    # result sat in the pipe, and the driver, judging overruns first, failed it "timed out".
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            time.sleep(0.3)
        return x

    def slow_callback(study, frozen):
        if frozen.number == 0:
            time.sleep(1.3)

    study = tl.create_study()
    study.optimize(objective, n_trials=2, n_jobs=2, callbacks=[slow_callback], trial_timeout=1.0)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]


def test_waiting_for_a_busy_driver_is_not_charged_to_the_trial():
    # Trial 1 computes 0.4 s in all, but its report waits 1.5 s for the driver, busy with trial
    # 0's callback: it was failed "timed out" at its 1 s limit.
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            time.sleep(0.2)
            trial.report(x, 0)
            trial.should_prune()
            time.sleep(0.2)
        return x

    def slow_callback(study, frozen):
        if frozen.number == 0:
            time.sleep(1.5)

    study = tl.create_study()
    study.optimize(objective, n_trials=2, n_jobs=2, callbacks=[slow_callback], trial_timeout=1.0)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert list(study.trials[1].intermediate_values) == [0]


def test_the_grace_of_a_stopped_trial_is_not_charged_to_the_others():
    # The driver waits 1 s between SIGTERM and SIGKILL for trial 0, answering no one. Trial 2
    # calls during that second; the wait made it overrun too.
    def objective(trial):
        if trial.number == 0:
            time.sleep(60)
        elif trial.number == 1:
            time.sleep(0.8)
        else:
            time.sleep(0.9)  # until trial 0's grace has begun
            trial.report(1.0, 0)
            time.sleep(0.1)
        return 1.0

    study = tl.create_study()
    study.optimize(objective, n_trials=3, n_jobs=2, trial_timeout=1.5)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert "timed out after 1.5 s" in study.trials[0].fail_reason


def test_a_trial_that_calls_often_is_still_stopped_at_its_limit():
    # Only the time spent waiting for answers is taken off the clock, not the whole trial's.
    def objective(trial):
        for step in range(300):
            trial.report(float(step), step)
            trial.should_prune()
            time.sleep(0.01)
        return 0.0

    study = tl.create_study()
    started = time.monotonic()
    study.optimize(objective, n_trials=1, n_jobs=2, trial_timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert study.trials[0].state.name == "FAIL"
    assert "timed out" in study.trials[0].fail_reason


class KeepsThePreviousTrial:
    """Reports through the previous trial's handle, as a callback object cached between trials
    would; runs in one worker, which unpickles it once, so the handle outlives its trial."""

    def __init__(self):
        self.previous = None

    def __call__(self, trial):
        x = trial.suggest_float("x", 0, 1)
        late = None
        if self.previous is not None:
            try:
                self.previous.report(999.0, 7)
                late = "accepted"
            except Exception as exc:
                late = f"{type(exc).__name__}: {exc}"
            trial.set_user_attr("previous", self.previous.number)
        self.previous = trial
        trial.set_user_attr("late", late)
        trial.report(x, 0)
        return x


def test_a_call_through_a_finished_trial_s_handle_is_refused():
    # It was served on the trial the worker ran then: trial 1 got step 7 = 999.0.
    study = tl.create_study()
    study.optimize(KeepsThePreviousTrial(), n_trials=3, executor=tl.ProcessExecutor(1))
    for t in study.trials:
        assert list(t.intermediate_values) == [0]
    for t in study.trials[1:]:
        number = t.user_attrs["previous"]
        assert t.user_attrs["late"] == (
            f"TrialAlreadyFinishedError: Trial {number} is already finished (COMPLETE); "
            "a finished trial cannot be changed."
        )


def test_threads_of_one_trial_get_their_own_replies():
    # The threads shared one pipe with no lock: replies went to the wrong thread (should_prune
    # got a study name) and the worker crashed unpacking one as its next trial.
    def objective(trial):
        wrong = []

        def ask(read, expected):
            for _ in range(150):
                value = read()
                if not isinstance(value, expected):
                    wrong.append(repr(value))

        readers = [
            (lambda: trial.study.study_name, str),
            (lambda: trial.should_prune(), bool),
            (lambda: trial.system_attrs, dict),
            (lambda: trial.study.trials, list),
        ]
        threads = [threading.Thread(target=ask, args=reader) for reader in readers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        trial.set_user_attr("wrong", wrong[:3])
        return 0.0

    study = tl.create_study()
    study.optimize(objective, n_trials=2, n_jobs=2)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert [t.user_attrs["wrong"] for t in study.trials] == [[], []]


class ReportsFromAThread:
    """Trial 0 leaves a thread reporting after it was pruned (a logger, a data loader); the
    thread writes what its report raised to ``path``."""

    def __init__(self, path):
        self.path = path

    def __call__(self, trial):
        if trial.number == 0:

            def chatter():
                for step in range(100, 160):
                    try:
                        trial.report(555.0, step)
                    except Exception as exc:
                        self.path.write_text(f"{type(exc).__name__}: {exc}")
                        return
                    time.sleep(0.005)

            threading.Thread(target=chatter, daemon=True).start()
            time.sleep(0.02)
            raise tl.TrialPruned()
        for step in range(5):
            trial.report(1.0, step)
            time.sleep(0.03)
        return 1.0


def test_a_thread_reporting_after_its_trial_ended_does_not_reach_the_next_one(tmp_path):
    # Its reports landed in the worker's next trial, and its replies crossed that trial's.
    path = tmp_path / "raised"
    study = tl.create_study()
    study.optimize(ReportsFromAThread(path), n_trials=4, executor=tl.ProcessExecutor(1))
    assert [t.state.name for t in study.trials] == ["PRUNED"] + ["COMPLETE"] * 3
    for t in study.trials[1:]:
        assert sorted(t.intermediate_values) == [0, 1, 2, 3, 4]
    assert path.read_text() == (
        "TrialAlreadyFinishedError: Trial 0 is already finished (PRUNED); a finished trial "
        "cannot be changed."
    )


@pytest.mark.parametrize("method", ["should_prune", "set_user_attr"])
def test_other_calls_through_a_finished_trial_s_handle_are_refused(method):
    class Keeps:
        previous = None

        def __call__(self, trial):
            if self.previous is not None:
                call = getattr(self.previous, method)
                try:
                    call() if method == "should_prune" else call("k", 1)
                except tl.exceptions.TrialAlreadyFinishedError as exc:
                    trial.set_user_attr("refused", str(exc))
            self.previous = trial
            return 0.0

    study = tl.create_study()
    study.optimize(Keeps(), n_trials=2, executor=tl.ProcessExecutor(1))
    assert study.trials[1].user_attrs["refused"].startswith("Trial 0 is already finished")
    assert "k" not in study.trials[1].user_attrs
