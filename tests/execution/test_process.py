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
import os, sys, time
import tunelab as tl
from tunelab.execution import ProcessExecutor

def objective(trial):
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
    ("options", "n_workers"),
    [
        ("n_jobs=2", 2),
        ("n_jobs=1, trial_timeout=600", 1),
        # Not the default on Linux, but where a worker's parent is not (only) the driver.
        ("executor=ProcessExecutor(2, start_method='spawn')", 2),
        ("executor=ProcessExecutor(2, start_method='forkserver')", 2),
    ],
    ids=["n_jobs=2", "trial_timeout", "spawn", "forkserver"],
)
def test_workers_exit_when_the_driver_is_killed(tmp_path, options, n_workers):
    # With n_jobs=2 and one trial, one worker is in the objective and one waits for a task.
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(options=options)))
    marks = tmp_path / "marks"
    marks.mkdir()
    log = tmp_path / "driver.log"
    with log.open("w") as out:
        driver = subprocess.Popen([sys.executable, str(script), str(marks)], stderr=out)
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
