"""Code that runs in the worker processes of the concurrency tests (one job each)."""

from __future__ import annotations

import os
import time
import traceback

import tunelab as tl
from tunelab.storage import Heartbeat, SQLStorage


def optimize_worker(url: str, study_name: str, n_trials: int, errors) -> None:
    """What users run on each machine: load the study, optimize."""
    try:
        study = tl.load_study(study_name=study_name, storage=url)
        study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=n_trials)
    except BaseException:
        errors.put(traceback.format_exc())


def leased_worker(url: str, study_name: str, target: int, hang_file: str | None, errors) -> None:
    """An ask/tell worker with leases, reaping before each ask (what optimize does).

    With ``hang_file`` it writes the file once inside its first trial and then hangs, to be killed.
    """
    try:
        storage = SQLStorage(url, heartbeat_interval=0.2, grace_period=1.0)
        study = tl.load_study(study_name=study_name, storage=storage)
        with Heartbeat(storage) as heartbeat:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                # Done once ``target`` trials completed and no trial is left running or queued
                # (the trial of a killed worker stays RUNNING until its lease runs out).
                sid = study._study_id
                done = storage.get_n_trials(sid, (tl.TrialState.COMPLETE,))
                open_ = storage.get_n_trials(sid, (tl.TrialState.RUNNING, tl.TrialState.WAITING))
                if done >= target and open_ == 0:
                    return
                storage.reap_stale_trials(study._study_id)
                trial = study.ask()
                heartbeat.track(trial._frozen.trial_id)
                x = trial.suggest_float("x", -1, 1)
                if hang_file is not None:
                    with open(hang_file, "w") as f:
                        f.write(str(trial.number))
                    time.sleep(3600)
                time.sleep(0.02)
                study.tell(trial, x**2)
                heartbeat.untrack(trial._frozen.trial_id)
            errors.put("leased worker timed out")
    except BaseException:
        errors.put(traceback.format_exc())


def poll_reader(url: str, study_name: str, stop, errors, counts) -> None:
    try:
        storage = SQLStorage(url, read_only=True)
        sid = storage.get_study_id(study_name)
        seen = 0
        while not stop.is_set():
            n = len(storage.get_all_trials(sid))
            if n < seen:
                errors.put(f"reader saw {n} trials after {seen}")
            seen = n
            counts.put(n)
    except BaseException:
        errors.put(traceback.format_exc())


def pid() -> int:
    return os.getpid()
