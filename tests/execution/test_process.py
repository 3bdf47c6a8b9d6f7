"""ProcessExecutor: worker processes do not outlive a driver that dies."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tunelab as tl

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds worker processes through /proc"
)

# Generous: the machine may be loaded; a passing run takes a second or two.
STARTUP_SECONDS = 60
EXIT_SECONDS = 20

DRIVER = """
import multiprocessing, os, sys, time
import tunelab as tl
from tunelab.execution import ProcessExecutor

def objective(trial):
    if "nested" in sys.argv:  # a process of the objective's own, as joblib or a Pool start
        multiprocessing.Process(target=time.sleep, args=(600,)).start()
    with open(os.path.join(sys.argv[1], str(os.getpid())), "w"):
        pass
    time.sleep(600)  # busy until the test is over
    return trial.suggest_float("x", 0, 1)

if __name__ == "__main__":
    tl.create_study().optimize(objective, n_trials=1, {options})
"""


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = [child for child, parent in parents.items() if parent == pid]
    for child in found:  # grows while it is walked: children of children
        found.extend(c for c, parent in parents.items() if parent == child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie has exited


@pytest.mark.parametrize(
    ("options", "n_workers", "nested"),
    [
        # n_jobs=2 would start one worker for the one trial.
        ("executor=ProcessExecutor(2)", 2, False),
        ("n_jobs=1, trial_timeout=600", 1, False),
        # Not the default on Linux, but where a worker's parent is not (only) the driver.
        ("executor=ProcessExecutor(2, start_method='spawn')", 2, False),
        ("executor=ProcessExecutor(2, start_method='forkserver')", 2, False),
        # Workers are not daemonic so that objectives can start processes; those go too.
        ("executor=ProcessExecutor(2)", 3, True),
    ],
    ids=["fork", "trial_timeout", "spawn", "forkserver", "nested"],
)
def test_workers_exit_when_the_driver_is_killed(tmp_path, options, n_workers, nested):
    # With two workers and one trial, one worker is in the objective and one waits for a task.
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(options=options)))
    marks = tmp_path / "marks"
    marks.mkdir()
    log = tmp_path / "driver.log"
    args = [sys.executable, str(script), str(marks)] + (["nested"] if nested else [])
    with log.open("w") as out:
        driver = subprocess.Popen(args, stderr=out)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not any(marks.iterdir()):
            if driver.poll() is not None:
                pytest.fail(f"the driver ended early:\n{log.read_text()}")
            assert time.monotonic() < deadline, "the objective never started"
            time.sleep(0.05)
        busy = int(next(marks.iterdir()).name)
        workers = descendants(driver.pid)
        assert busy in workers and len(workers) >= n_workers

        driver.kill()
        driver.wait()
        killed = time.monotonic()
        while any(alive(pid) for pid in workers) and time.monotonic() < killed + EXIT_SECONDS:
            time.sleep(0.05)
        survivors = [pid for pid in workers if alive(pid)]
        assert not survivors, f"workers {survivors} outlived their driver by {EXIT_SECONDS} s"
    finally:
        driver.kill()
        driver.wait()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


NESTED = """
import math, multiprocessing
import tunelab as tl

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    with multiprocessing.Pool(2) as pool:
        return sum(pool.map(math.sqrt, [x, x]))

study = tl.create_study()
study.optimize(objective, n_trials=2, {options})
print(*[t.state.name for t in study.trials])
"""


@pytest.mark.parametrize("options", ["n_jobs=2", "trial_timeout=60"])
def test_an_objective_can_use_multiprocessing(tmp_path, options):
    # Found by a QA pass: workers were daemonic (no children allowed). The functions handed to
    # the pool must be importable: the objective is unpickled in the worker, so functions it
    # calls from __main__ are cloudpickle's copies, which plain pickle refuses to send.
    script = tmp_path / "nested.py"
    script.write_text(textwrap.dedent(NESTED.format(options=options)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["COMPLETE", "COMPLETE"], done.stderr


class StatefulObjective:
    """Drops a per-process resource when pickled, as objectives holding a connection do."""

    def __init__(self):
        self.opened_in = os.getpid()
        self.restored = False

    def __getstate__(self):
        return {**self.__dict__, "opened_in": None}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.restored = True

    def __call__(self, trial):
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr("restored", self.restored)
        trial.set_user_attr("shares_drivers", self.opened_in == os.getppid())
        return 0.0


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_every_worker_unpickles_the_objective(start_method):
    # Found by a QA pass: forked workers ran the driver's own object, skipping __setstate__, and
    # so used what the objective meant to reopen per process (the driver's connection).
    from tunelab.execution import ProcessExecutor

    study = tl.create_study()
    executor = ProcessExecutor(2, start_method=start_method)
    study.optimize(StatefulObjective(), n_trials=2, executor=executor)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert all(t.user_attrs == {"restored": True, "shares_drivers": False} for t in study.trials)


INTERRUPTED_END = """
import os, signal, threading, time
import tunelab as tl

def objective(trial):
    print(os.getpid(), flush=True)
    # A non-daemon thread left behind keeps the worker alive through the grace period.
    threading.Thread(target=time.sleep, args=(600,)).start()
    return 0.0

def interrupt(*_):
    raise KeyboardInterrupt

def second_ctrl_c_soon(study, trial):
    # Lands while the end of the run waits for the worker (its grace period is 5 s).
    signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)

tl.create_study().optimize(objective, n_trials=1, n_jobs=2, callbacks=[second_ctrl_c_soon])
"""


def test_an_interrupted_end_of_run_still_kills_the_workers(tmp_path):
    # Found by a QA pass: a second Ctrl-C while the run ended broke out of the grace period
    # before the kill, and multiprocessing's exit hook then waited for the worker forever.
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED_END)
    driver = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = driver.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        driver.kill()  # its workers follow: they exit when their driver dies
        out, err = driver.communicate()
        pytest.fail(f"the driver hung after the interrupted end of its run:\n{err}")
    assert "KeyboardInterrupt" in err
    worker = int(out.split()[0])
    deadline = time.monotonic() + EXIT_SECONDS
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


STOPPED_ELSEWHERE = """
import sys, time
import tunelab as tl
from tunelab.execution import ProcessExecutor

def objective(trial):
    if trial.number == 0 and "error" in sys.argv:
        raise ValueError("boom")
    time.sleep(600)
    return 0.0

if __name__ == "__main__":
    study = tl.create_study()
    executor = ProcessExecutor(2, start_method=sys.argv[1])
    timeout = None if "error" in sys.argv else 1
    started = time.monotonic()
    try:
        study.optimize(objective, n_trials=2, executor=executor, trial_timeout=timeout)
    except ValueError:
        pass
    print(round(time.monotonic() - started, 1), *[t.state.name for t in study.trials])
"""


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
@pytest.mark.parametrize("how", ["trial_timeout", "error"])
def test_workers_not_forked_by_the_driver_are_stopped(tmp_path, start_method, how):
    # Found by a QA pass: a forkserver worker is the fork server's child, not the driver's; the
    # check that its pid was still its own failed and it was never signalled, so a timed-out
    # trial ran on, and a run stopped by another trial's error waited for it for good.
    script = tmp_path / "stopped.py"
    script.write_text(STOPPED_ELSEWHERE)
    args = [sys.executable, str(script), start_method] + (["error"] if how == "error" else [])
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = driver.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        driver.kill()
        out, err = driver.communicate()
        pytest.fail(f"optimize never returned:\n{err}")
    assert driver.returncode == 0, err
    took, *states = out.split()
    assert states == ["FAIL", "FAIL"] and float(took) < 20, out


JOBLIB_TIMED_OUT = """
import os, sys, time
import numpy as np
import tunelab as tl
from joblib import Parallel, delayed

def work(array):
    open(os.path.join(sys.argv[1], "started"), "w").close()  # the array is memmapped by now
    time.sleep(600)

def objective(trial):
    big = np.ones(1_000_000)  # above joblib's 1 MB threshold: memmapped into temp_folder
    Parallel(n_jobs=2, temp_folder=sys.argv[1])(delayed(work)(big) for _ in range(2))
    return 0.0

study = tl.create_study()
study.optimize(objective, n_trials=1, trial_timeout=4)
print(study.trials[0].state.name)
"""


def test_a_timed_out_trial_leaves_no_joblib_memmaps(tmp_path):
    # Found by a QA pass: SIGKILL to the worker's group killed joblib's resource tracker too,
    # so the arrays joblib memmapped for its workers stayed in /dev/shm for good.
    script = tmp_path / "timed_out.py"
    script.write_text(JOBLIB_TIMED_OUT)
    folder = tmp_path / "memmaps"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.split() == ["FAIL"], done.stderr
    left = [p.name for p in folder.iterdir() if p.name != "started"]
    assert (folder / "started").exists() and not left, left


def leave_a_process_running(trial):
    trial.suggest_float("x", 0, 1)
    helper = subprocess.Popen(["sleep", "600"])  # a helper server it forgot to stop
    trial.set_user_attr("pid", helper.pid)
    return 0.0


def test_processes_the_objective_leaves_running_end_with_the_run():
    # Found by a QA pass: only multiprocessing's children were stopped at the end of a run, so
    # a process started with subprocess outlived it although the docs said otherwise.
    study = tl.create_study()
    study.optimize(leave_a_process_running, n_trials=2, n_jobs=2)
    helpers = [t.user_attrs["pid"] for t in study.trials]
    try:
        deadline = time.monotonic() + EXIT_SECONDS
        while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in helpers)
    finally:
        for pid in helpers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


LEFT_RUNNING = """
from tunelab.execution import ProcessExecutor

executor = ProcessExecutor(2)
executor.start(lambda trial: 0.0)
print("started", flush=True)
"""


def test_the_interpreter_exits_with_workers_never_shut_down(tmp_path):
    # Workers are not daemonic, and multiprocessing joins such children at exit: an idle
    # worker would wait for its driver, and the driver for it, for good.
    script = tmp_path / "left.py"
    script.write_text(LEFT_RUNNING)
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "started", done.stderr
    assert time.monotonic() - started < 30


def report_pid(trial):
    trial.set_user_attr("pid", os.getpid())
    return trial.suggest_float("x", 0, 1)


@pytest.mark.parametrize("gone", [True, False], ids=["gone", "dying"])
def test_a_worker_killed_between_trials_is_replaced(gone):
    # Found by a QA pass: the next trial was sent to the dead worker, and the run stopped with
    # BrokenPipeError ("gone"), or the send went through while SIGKILL was still landing and a
    # trial that never ran failed "worker lost" ("dying"). Once SIGKILL is sent, the worker runs
    # no more code: the trial it is then sent is unread when it dies, whatever the timing.
    def kill_its_worker(study, frozen):
        pid = frozen.user_attrs.get("pid")  # none if the trial failed
        if frozen.number < 4 and pid is not None:
            os.kill(pid, signal.SIGKILL)
            if gone:  # without reaping it: that is the executor's
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)

    study = tl.create_study()
    study.optimize(report_pid, n_trials=8, n_jobs=2, callbacks=[kill_its_worker])
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 8
    assert len({t.user_attrs["pid"] for t in study.trials[:4]}) == 4  # one worker killed each


class CountsItsWorkers:
    """Each worker that loads it writes to a pipe the forked workers share; trial 1 returns when
    a third worker has loaded it."""

    def __init__(self):
        self.read_end, self.write_end = os.pipe()

    def __setstate__(self, state):
        self.__dict__.update(state)
        os.write(self.write_end, b"+")

    def __call__(self, trial):
        trial.set_user_attr("pid", os.getpid())
        if trial.number == 1:
            loaded = 0
            while loaded < 3 and select.select([self.read_end], [], [], STARTUP_SECONDS)[0]:
                loaded += len(os.read(self.read_end, 16))
            trial.set_user_attr("loaded", loaded)
        return 0.0


def test_a_worker_that_dies_idle_is_replaced_while_others_run():
    # Found by a QA pass: only busy workers were watched, so an idle one's death went unnoticed
    # until a trial was sent to it. Trial 1 runs until trial 0's worker, killed once idle, has a
    # successor; no trial is left to send it, so only the wait for trial 1 can start it.
    def kill_its_worker(study, frozen):
        if frozen.number == 0:
            os.kill(frozen.user_attrs["pid"], signal.SIGKILL)

    objective = CountsItsWorkers()
    try:
        study = tl.create_study()
        study.optimize(objective, n_trials=2, n_jobs=2, callbacks=[kill_its_worker])
    finally:
        os.close(objective.read_end)
        os.close(objective.write_end)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.trials[1].user_attrs["loaded"] == 3


class CannotLoad:
    def __init__(self):
        self.state = "some"  # pickle calls __setstate__ only for a non-empty state

    def __setstate__(self, state):
        os._exit(3)  # as when a worker cannot import what the objective needs

    def __call__(self, trial):
        return 0.0


def test_a_worker_that_cannot_load_the_objective_fails_each_trial_once():
    # A trial whose worker died before starting it goes to a fresh worker, but not when that
    # worker never started any: fresh ones would die the same way, the trial handed on for good.
    study = tl.create_study()
    study.optimize(CannotLoad(), n_trials=3, n_jobs=2)
    assert [t.state.name for t in study.trials] == ["FAIL"] * 3
    assert all("code 3 before it started the trial" in t.fail_reason for t in study.trials)


def test_an_unknown_start_method_is_named():
    # Found by a QA pass: multiprocessing's own "cannot find context for 'thread'".
    import tunelab as tl

    with pytest.raises(tl.InvalidParameterError, match="'start_method'.*'thread'"):
        tl.ProcessExecutor(2, start_method="thread")
