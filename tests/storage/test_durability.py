"""Durability: a database file that vanishes, a lock held for long, a COMMIT whose reply is lost,
and the messages of errors met after opening.

Found by a QA pass on lost connections (2026-11-29); each test fails on the code before its fix.
"""

import os
import resource
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

import tunelab as tl
from tunelab.exceptions import DuplicatedStudyError, StorageError
from tunelab.storage import SQLStorage, _engine
from tunelab.testing._storages import FakeClock

MIN = [tl.StudyDirection.MINIMIZE]


# -- 1. a SQLite file deleted or moved while a study runs ---------------------------------------
def test_writes_into_a_deleted_database_file_raise_naming_it(tmp_path):
    path = tmp_path / "x.db"
    storage = SQLStorage(f"sqlite:///{path}")
    sid = storage.create_study("s", MIN)
    trial = storage.create_trial(sid)
    os.remove(path)  # open connections could go on writing into the unlinked file
    with pytest.raises(StorageError, match=f"{path} was deleted, moved or replaced"):
        storage.finish_trial(trial.trial_id, tl.TrialState.COMPLETE, [1.0])
    assert not path.exists()


def test_a_connection_opened_after_the_file_moved_creates_no_empty_database(tmp_path):
    path, moved = tmp_path / "x.db", tmp_path / "moved.db"
    storage = SQLStorage(f"sqlite:///{path}")
    sid = storage.create_study("s", MIN)
    os.rename(path, moved)
    storage.close()  # the next connection is a new one, as a pool opens mid-run
    with pytest.raises(StorageError, match="deleted, moved or replaced .* no file at"):
        storage.get_all_trials(sid)
    assert not path.exists()  # SQLite's default mode=rwc made an empty database here


def test_a_database_file_replaced_by_another_is_refused(tmp_path):
    path = tmp_path / "x.db"
    storage = SQLStorage(f"sqlite:///{path}")
    sid = storage.create_study("s", MIN)
    other = SQLStorage(f"sqlite:///{tmp_path / 'other.db'}")
    other.create_study("s", MIN)
    other.close()
    os.replace(tmp_path / "other.db", path)
    with pytest.raises(StorageError, match="another file is at"):
        storage.create_trial(sid)
    storage.close()
    with pytest.raises(StorageError, match="another file is at"):
        storage.get_all_trials(sid)


# -- 2. a write lock held for longer than the grace period --------------------------------------
def _hold_write_lock(path, seconds):
    """Another program's write transaction on ``path``, released after ``seconds``."""
    ready = threading.Event()

    def hold():
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait()
    return thread


def test_a_reaper_that_waited_for_the_lock_spares_the_leases_it_finds_expired(tmp_path):
    path = tmp_path / "x.db"
    clock = FakeClock()
    storage = SQLStorage(f"sqlite:///{path}", heartbeat_interval=0.1, grace_period=1, clock=clock)
    sid = storage.create_study("s", MIN)
    trial = storage.create_trial(sid)
    clock.advance(5)  # its owner's heartbeats were blocked by the same lock
    holder = _hold_write_lock(path, 0.5)
    assert storage.reap_stale_trials(sid) == []
    holder.join()
    assert storage.get_trial(trial.trial_id).state == tl.TrialState.RUNNING
    assert storage.heartbeat(trial.trial_id)  # the owner renews once it gets the lock
    time.sleep(0.15)  # a heartbeat interval after the wait: no longer a reason to spare
    clock.advance(5)  # and a worker that is really gone is reaped on a later look
    assert [t.number for t in storage.reap_stale_trials(sid)] == [trial.number]


def test_a_reaper_right_after_another_long_wait_spares_expired_leases(tmp_path):
    # The QA case: a worker's tell waited out the lock, and its next ask reaped at once.
    path = tmp_path / "x.db"
    clock = FakeClock()
    storage = SQLStorage(f"sqlite:///{path}", heartbeat_interval=5, grace_period=20, clock=clock)
    sid = storage.create_study("s", MIN)
    lost = storage.create_trial(sid)
    mine = storage.create_trial(sid)
    clock.advance(30)
    storage._note_stall(6.0)  # as a tell that waited 6 s for another program's lock
    assert storage.reap_stale_trials(sid) == []
    assert storage.get_trial(lost.trial_id).state == tl.TrialState.RUNNING
    storage.finish_trial(mine.trial_id, tl.TrialState.COMPLETE, [1.0])


# -- 3. a COMMIT whose reply is lost ------------------------------------------------------------
@pytest.fixture
def lost_commit_reply(monkeypatch):
    """Make a COMMIT of ``storage`` (the first after ``skip`` others) happen, then fail as a
    dropped connection does."""

    psycopg = pytest.importorskip("psycopg")

    def arm(storage, skip=0):
        dialect = storage._engine.dialect
        real = dialect.do_commit
        left = [1]
        skipped = [skip]

        def commit_then_drop(dbapi_connection):
            real(dbapi_connection)
            if skipped[0] > 0:
                skipped[0] -= 1
            elif left[0] > 0:
                left[0] -= 1
                raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(dialect, "do_commit", commit_then_drop)
        return left

    return arm


@pytest.mark.postgres
def test_a_tell_whose_commit_reply_was_lost_succeeds(pg_url, lost_commit_reply):
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", MIN)
    trial = storage.create_trial(sid)
    left = lost_commit_reply(storage)
    done = storage.finish_trial(trial.trial_id, tl.TrialState.COMPLETE, [float("nan")])
    assert left == [0] and done.state == tl.TrialState.COMPLETE
    with pytest.raises(tl.InvalidParameterError, match="already finished"):
        storage.finish_trial(trial.trial_id, tl.TrialState.COMPLETE, [float("nan")])


@pytest.mark.postgres
def test_a_study_whose_commit_reply_was_lost_is_created_once(pg_url, lost_commit_reply):
    storage = SQLStorage(pg_url)
    storage.create_study("first", MIN)  # the schema exists: only the study is at stake
    left = lost_commit_reply(storage)
    sid = storage.create_study("s", MIN)
    assert left == [0] and storage.get_study_id("s") == sid
    with pytest.raises(DuplicatedStudyError):
        storage.create_study("s", MIN)


@pytest.mark.postgres
def test_an_ask_whose_commit_reply_was_lost_creates_one_trial(pg_url, lost_commit_reply):
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", MIN)
    left = lost_commit_reply(storage)
    trial = storage.create_trial(sid)
    assert left == [0]
    assert [(t.trial_id, t.number) for t in storage.get_all_trials(sid)] == [(trial.trial_id, 0)]


@pytest.mark.postgres
def test_a_claim_whose_commit_reply_was_lost_claims_one_trial(pg_url, lost_commit_reply):
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", MIN)
    for _ in range(2):
        storage.create_trial(sid, tl.FrozenTrial(number=-1, state=tl.TrialState.WAITING))
    left = lost_commit_reply(storage, skip=1)  # the read that looks for a queue first
    claimed = storage.claim_waiting_trial(sid)
    assert left == [0] and claimed.number == 0
    states = [t.state for t in storage.get_all_trials(sid)]
    assert states == [tl.TrialState.RUNNING, tl.TrialState.WAITING]


@pytest.mark.postgres
def test_a_delete_whose_commit_reply_was_lost_succeeds(pg_url, lost_commit_reply):
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", MIN)
    left = lost_commit_reply(storage)
    storage.delete_study(sid)
    assert left == [0] and storage.list_studies() == []


# -- 4. messages of errors after opening --------------------------------------------------------
def test_a_write_to_a_read_only_file_names_it_and_suggests_read_only(tmp_path):
    path = tmp_path / "x.db"
    storage = SQLStorage(f"sqlite:///{path}")
    sid = storage.create_study("s", MIN)
    storage.close()
    os.chmod(path, 0o444)
    # Root writes a 0444 file anyway; query_only makes SQLite refuse as for any other user.
    sa.event.listen(
        storage._engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only = ON")
    )
    try:
        with pytest.raises(StorageError) as caught:
            storage.create_trial(sid)
    finally:
        os.chmod(path, 0o644)
    message = str(caught.value)
    assert f"{path} is not writable by this process (mode -r--r--r--" in message
    assert f"chmod u+w {path}" in message and "read_only=True" in message


@pytest.mark.postgres
def test_a_statement_timeout_at_open_is_not_called_a_dead_server(postgres_url):
    engine = sa.create_engine(postgres_url)
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = 1")
        conn.exec_driver_sql("SELECT pg_sleep(1)")
    engine.dispose()
    message = _engine.describe_open_error(sa.engine.make_url(postgres_url), caught.value)
    assert "statement timeout" in message and "statement_timeout" in message
    assert "server is running" not in message


@pytest.fixture
def no_file_descriptors_left():
    """Use up every file descriptor this process may open (a lowered soft limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = []

    def exhaust():
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass

    yield exhaust
    for fd in held:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_running_out_of_file_descriptors_is_named(tmp_path, no_file_descriptors_left):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    storage = SQLStorage(url)
    sid = storage.create_study("s", MIN)
    storage.close()
    no_file_descriptors_left()
    with pytest.raises(StorageError, match="run out of file descriptors .* is 1?[0-9]+;") as run:
        storage.get_all_trials(sid)
    with pytest.raises(StorageError, match="run out of file descriptors") as opening:
        SQLStorage(url)
    for caught in (run, opening):
        assert "Reuse one storage object" in str(caught.value)
        assert "Check the path" not in str(caught.value)
