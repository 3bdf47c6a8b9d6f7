import threading

import pytest

import tunelab as tl
from tunelab._heartbeat import Heartbeat
from tunelab.storage import InMemoryStorage, SQLStorage, keep_alive
from tunelab.testing._storages import FakeClock


@pytest.fixture
def leased(sqlite_url):
    clock = FakeClock()
    storage = SQLStorage(sqlite_url, heartbeat_interval=1, grace_period=4, clock=clock)
    yield storage, clock
    storage.close()


def test_beat_renews_tracked_trials_only(leased):
    storage, clock = leased
    study = tl.create_study(study_name="s", storage=storage)
    kept, dropped = study.ask(), study.ask()
    heartbeat = Heartbeat(storage)
    heartbeat.track(kept._frozen.trial_id)
    heartbeat.track(dropped._frozen.trial_id)
    heartbeat.untrack(dropped._frozen.trial_id)
    for _ in range(3):
        clock.advance(3)
        heartbeat.beat()
    (lost,) = storage.reap_stale_trials(study._study_id)
    assert lost.number == dropped.number
    assert not heartbeat.is_lost(kept._frozen.trial_id)


def test_beat_notices_a_reaped_trial(leased):
    storage, clock = leased
    study = tl.create_study(study_name="s", storage=storage)
    trial = study.ask()
    heartbeat = Heartbeat(storage)
    heartbeat.track(trial._frozen.trial_id)
    clock.advance(5)
    storage.reap_stale_trials(study._study_id)
    heartbeat.beat()
    assert heartbeat.is_lost(trial._frozen.trial_id)
    with pytest.warns(UserWarning, match="worker lost.*not stored"):
        told = study.tell(trial, 1.0)
    assert told.state == tl.TrialState.FAIL


def test_thread_beats_until_stopped(leased):
    storage, clock = leased
    study = tl.create_study(study_name="s", storage=storage)
    trial = study.ask()
    beats = threading.Semaphore(0)
    rounds = []

    def wait(event, seconds):  # no real sleeping: advance the fake clock and let the test pace
        assert seconds == 1.0
        rounds.append(seconds)
        if len(rounds) > 5:
            return event.wait()
        clock.advance(3)
        beats.release()
        return event.is_set()

    heartbeat = Heartbeat(storage, wait=wait)
    heartbeat.track(trial._frozen.trial_id)
    with heartbeat:
        for _ in range(5):
            assert beats.acquire(timeout=10)
    assert storage.reap_stale_trials(study._study_id) == []  # 15 s passed, the lease held


def test_storage_errors_are_logged_and_retried(leased, caplog, monkeypatch):
    storage, _ = leased
    calls = []

    def flaky(trial_id):
        calls.append(trial_id)
        if len(calls) == 1:
            raise tl.exceptions.StorageError("server restarting")
        return True

    monkeypatch.setattr(storage, "heartbeat", flaky)
    heartbeat = Heartbeat(storage)
    heartbeat.track(7)
    heartbeat.beat()
    assert "Heartbeat for trial id 7 failed: server restarting" in caplog.text
    heartbeat.beat()
    assert calls == [7, 7] and not heartbeat.is_lost(7)


def test_keep_alive_and_trial_heartbeat(leased):
    storage, clock = leased
    study = tl.create_study(study_name="s", storage=storage)
    trial = study.ask()
    with keep_alive(study, trial) as heartbeat:
        assert heartbeat._thread is not None and heartbeat._thread.daemon
        clock.advance(3)
        trial.heartbeat()
        clock.advance(3)
        assert storage.reap_stale_trials(study._study_id) == []
    assert heartbeat._thread is None
    assert study.tell(trial, 2.0).state == tl.TrialState.COMPLETE


def test_no_thread_without_leases():
    study = tl.create_study(storage=InMemoryStorage())
    trial = study.ask()
    with keep_alive(study, trial) as heartbeat:
        assert heartbeat._thread is None and not heartbeat.enabled
    trial.heartbeat()


def test_ask_keeps_its_trial_alive_until_tell(sqlite_url):
    # Found by a QA pass: an ask/tell loop with two evaluations at once lost the longer one to
    # its own next ask's reaper once it outlasted grace_period (Optuna keeps it).
    import time

    storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    study = tl.create_study(study_name="s", storage=storage)
    slow = study.ask()
    time.sleep(1.2)  # more than twice the grace period, with no keep_alive
    quick = study.ask()  # reaps expired leases first
    assert study.tell(quick, 1.0).state == tl.TrialState.COMPLETE
    assert study._lease_keeper._thread is not None  # still renewing the slow one
    assert study.tell(slow, 2.0).state == tl.TrialState.COMPLETE
    assert study._lease_keeper._thread is None  # nothing left to renew: no stray thread
    storage.close()


def test_optimize_renews_its_own_trials_and_leaves_no_keeper_thread(sqlite_url):
    storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    study = tl.create_study(study_name="s", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert study._lease_keeper is None
    storage.close()


def test_keep_alive_takes_the_trial_number_tell_takes(sqlite_url):
    # Found by a QA pass: an int meant a storage id to keep_alive and a number to tell, so a
    # worker that passed the number kept another trial alive and lost its own.
    import time

    storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    tl.create_study(study_name="other", storage=storage).ask()  # ids and numbers now differ
    asker = tl.create_study(study_name="s", storage=storage)
    number = asker.ask().number
    asker._lease_keeper.stop()  # the asking process hands the trial over and exits
    helper_storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    helper = tl.load_study(study_name="s", storage=helper_storage)
    with keep_alive(helper, number):
        time.sleep(1.2)
        helper.ask()  # reaps expired leases
    assert helper.tell(number, 1.0).state == tl.TrialState.COMPLETE
    with pytest.raises(tl.InvalidParameterError, match="already finished"):
        with keep_alive(helper, number):
            pass


def test_a_trial_asked_during_optimize_keeps_its_lease(sqlite_url):
    # Found by a review: a flag for the whole study left an ask() from a callback unrenewed.
    import time

    storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    study = tl.create_study(study_name="s", storage=storage)
    extra = []
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1),
        n_trials=2,
        callbacks=[lambda s, _: extra.append(s.ask()) if not extra else None],
    )
    time.sleep(1.2)
    study.ask()  # reaps expired leases
    assert study.tell(extra[0], 1.0).state == tl.TrialState.COMPLETE


def test_the_lease_thread_ends_when_another_handle_tells_the_trial(sqlite_url):
    # Found by a review: the thread ran on after a tell that raised (the trial finished
    # elsewhere) until this handle's next tell.
    import time

    storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    study = tl.create_study(study_name="s", storage=storage)
    trial = study.ask()
    other = tl.load_study(study_name="s", storage=sqlite_url)
    other.tell(trial.number, 1.0)
    with pytest.raises(tl.InvalidParameterError, match="already finished"):
        study.tell(trial, 2.0)
    assert study._lease_keeper._thread is None
    second = study.ask()
    other.tell(second.number, 1.0)  # told elsewhere, and this handle never tells it
    deadline = time.monotonic() + 5
    while study._lease_keeper._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert study._lease_keeper._thread is None  # the renewal found it finished and stopped
    with pytest.raises(tl.InvalidParameterError, match="keep_alive: Trial 1 is already finished"):
        with keep_alive(study, second.number):
            pass


def test_a_study_nobody_holds_stops_renewing_its_untold_trials(sqlite_url):
    # Found by a QA pass: a notebook cell that asks on a new Study, run again and again, kept
    # a renewing thread (and its database connection) per run for good.
    import gc
    import time
    import weakref

    storage = SQLStorage(sqlite_url, heartbeat_interval=0.05, grace_period=0.5)
    study = tl.create_study(study_name="s", storage=storage)
    trial = study.ask()
    keeper = study._lease_keeper
    thread = keeper._thread
    number = trial.number
    gone = weakref.ref(study)
    del study, trial
    gc.collect()
    assert gone() is None
    thread.join(timeout=5)
    assert not thread.is_alive()
    time.sleep(1.2)  # its lease runs out, as a dead process's does
    again = tl.load_study(study_name="s", storage=storage)
    again.ask()  # reaps expired leases
    assert again.trials[number].state == tl.TrialState.FAIL
    storage.close()
