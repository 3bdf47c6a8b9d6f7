"""ProcessExecutor: worker processes do not outlive a driver that dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

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
import multiprocessing
import tunelab as tl

def square(value):  # in __main__: plain pickle sends it by name
    return value * value

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    with multiprocessing.Pool(2) as pool:
        return sum(pool.map(square, [x, x]))

study = tl.create_study()
study.optimize(objective, n_trials=2, {options})
print(*[t.state.name for t in study.trials])
"""


@pytest.mark.parametrize("options", ["n_jobs=2", "trial_timeout=60"])
def test_an_objective_can_use_multiprocessing_with_functions_from_main(tmp_path, options):
    # Found by a QA pass: workers were daemonic (no children allowed), and the objective,
    # unpickled from cloudpickle's copy, called copies of __main__'s functions, which plain
    # pickle refuses to send ("it's not the same object as __main__.square").
    script = tmp_path / "nested.py"
    script.write_text(textwrap.dedent(NESTED.format(options=options)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["COMPLETE", "COMPLETE"], done.stderr


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
