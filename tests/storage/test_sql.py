import math
import re
import warnings
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import tunelab as tl
from tunelab.exceptions import SchemaVersionError, StaleTrialError, StorageError
from tunelab.storage import SQLStorage, get_storage, upgrade_storage
from tunelab.storage import _schema as S
from tunelab.testing import StorageContract
from tunelab.testing._storages import FakeClock

MIN = [tl.StudyDirection.MINIMIZE]


class TestSQLiteStorage(StorageContract):
    @pytest.fixture
    def storage(self, sqlite_url, clock):
        s = SQLStorage(sqlite_url, clock=clock)
        yield s
        s.close()


@pytest.mark.postgres
class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, pg_url, clock):
        s = SQLStorage(pg_url, clock=clock)
        yield s
        s.close()


def test_schema_version_table_is_namespaced(sqlite_url):
    storage = SQLStorage(sqlite_url)
    storage.create_study("s", MIN)  # the first study creates the tables
    storage.close()
    engine = sa.create_engine(sqlite_url)
    names = sa.inspect(engine).get_table_names()
    assert "tunelab_schema_version" in names
    assert all(n.startswith("tunelab_") for n in names)


def test_foreign_tables_do_not_collide(any_url):
    engine = sa.create_engine(any_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE studies (id INTEGER, other TEXT)")
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num TEXT)")
        conn.exec_driver_sql("CREATE TABLE version_info (schema_version INTEGER)")
    study = tl.create_study(study_name="s", storage=any_url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert len(tl.load_study(study_name="s", storage=any_url).trials) == 3
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM studies").scalar() == 0
    engine.dispose()


def _set_version(url, version):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM tunelab_schema_version")
        conn.exec_driver_sql(
            "INSERT INTO tunelab_schema_version (version, created_at) "
            f"VALUES ({version}, CURRENT_TIMESTAMP)"
        )
    engine.dispose()


def test_schema_mismatch_names_the_upgrade_command(sqlite_url):
    upgrade_storage(sqlite_url)  # creates the tables
    _set_version(sqlite_url, 99)
    with pytest.raises(SchemaVersionError, match=r"version 99.*tunelab storage upgrade sqlite:///"):
        SQLStorage(sqlite_url)
    with pytest.raises(SchemaVersionError, match="newer tunelab"):
        upgrade_storage(sqlite_url)


def _downgrade_to_v1(url):
    """Turn a fresh schema into what tunelab 0.1 (schema 1) wrote: no lease column."""
    upgrade_storage(url)  # creates the tables
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE tunelab_trials DROP COLUMN lease_expires")
        conn.exec_driver_sql(
            "INSERT INTO tunelab_studies (study_name, directions, created_at) "
            "VALUES ('old', '[\"minimize\"]', CURRENT_TIMESTAMP)"
        )
        conn.exec_driver_sql(
            "INSERT INTO tunelab_trials (study_id, number, state, datetime_start) "
            "SELECT study_id, 0, 'RUNNING', CURRENT_TIMESTAMP FROM tunelab_studies"
        )
    engine.dispose()
    _set_version(url, 1)


def test_upgrade_from_version_1_is_idempotent(any_url):
    _downgrade_to_v1(any_url)
    with pytest.raises(SchemaVersionError, match="version 1, this tunelab uses 3.*storage upgrade"):
        SQLStorage(any_url)
    assert upgrade_storage(any_url) == (1, 3)
    assert upgrade_storage(any_url) == (3, 3)  # the no-op path
    storage = SQLStorage(any_url)
    sid = storage.get_study_id("old")
    (running,) = storage.get_all_trials(sid)
    assert running.state == tl.TrialState.RUNNING
    assert storage.heartbeat(running.trial_id) is True  # it got a lease
    storage.close()


def test_upgrade_creates_a_missing_schema(sqlite_url):
    assert upgrade_storage(sqlite_url) == (0, 3)
    SQLStorage(sqlite_url).close()


def _create_v2_schema(url):
    """The tables as schema 2 created them: SQLite ids without AUTOINCREMENT, INTEGER steps."""
    old = sa.MetaData()
    for table in S.metadata.sorted_tables:
        table.to_metadata(old)
    for name in (S.studies.name, S.trials.name):
        old.tables[name].dialect_options["sqlite"]["autoincrement"] = False
    old.tables[S.trial_intermediate.name].c.step.type = sa.Integer()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(S.schema_version.insert().values(version=2, created_at=datetime.now(UTC)))
        if conn.dialect.name == "sqlite":
            ddl = conn.exec_driver_sql("SELECT group_concat(sql) FROM sqlite_master").scalar()
            assert "AUTOINCREMENT" not in ddl.upper()
    engine.dispose()


def test_version_2_still_works_and_upgrades_keeping_every_row(any_url):
    _create_v2_schema(any_url)
    with pytest.warns(UserWarning, match="schema version 2; it works.*storage upgrade"):
        storage = SQLStorage(any_url)
    sid = storage.create_study("kept", MIN)
    storage.set_study_attr(sid, "note", "n")
    t = storage.create_trial(sid)
    storage.set_trial_param(t.trial_id, "x", 0.25, tl.Float(0, 1))
    storage.set_trial_intermediate_value(t.trial_id, 7, math.nan)
    storage.set_trial_attr(t.trial_id, "a", [1])
    storage.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [math.inf])
    last = storage.create_trial(sid)  # the highest study and trial ids, deleted below
    if storage._dialect == "postgresql":
        with pytest.raises(StorageError, match="INTEGER steps.*storage upgrade"):
            storage.set_trial_intermediate_value(last.trial_id, 2**31, 1.0)
    storage.close()

    assert upgrade_storage(any_url) == (2, 3)
    assert upgrade_storage(any_url) == (3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an upgraded storage opens without a warning
        storage = SQLStorage(any_url)
    (done, running) = storage.get_all_trials(sid)
    assert done.params == {"x": 0.25} and done.values == [math.inf]
    assert math.isnan(done.intermediate_values[7]) and done.user_attrs == {"a": [1]}
    assert running.trial_id == last.trial_id and running.state == tl.TrialState.RUNNING
    assert storage.get_study_attrs(sid) == {"note": "n"}
    assert storage.create_trial(sid).number == 2  # the unique (study, number) index survived

    storage.delete_study(sid)
    new = storage.create_study("new", MIN)
    fresh = storage.create_trial(new)
    assert new != sid and fresh.trial_id > last.trial_id + 1
    with pytest.raises(tl.exceptions.StudyNotFoundError):
        storage.finish_trial(last.trial_id, tl.TrialState.COMPLETE, [1.0])
    storage.set_trial_intermediate_value(fresh.trial_id, 2**40, 1.0)
    assert storage.get_trial(fresh.trial_id).intermediate_values == {2**40: 1.0}
    storage.close()
    engine = sa.create_engine(any_url)
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes(S.trials.name)}
    assert "tunelab_trials_study_state" in indexes
    engine.dispose()


def test_bad_url_is_one_clear_error():
    with pytest.raises(tl.InvalidParameterError, match="not a database URL"):
        SQLStorage("not a url")


def test_missing_driver_names_the_extra():
    with pytest.raises(StorageError, match="Unknown database driver 'postgresql.nosuchdriver'"):
        SQLStorage("postgresql+nosuchdriver://u@127.0.0.1:1/db")


def test_unreachable_server_is_one_clear_line():
    pytest.importorskip("psycopg")
    with pytest.raises(StorageError, match=r"Cannot open storage .*127\.0\.0\.1.*refused") as info:
        SQLStorage("postgresql+psycopg://x@127.0.0.1:1/db")
    assert "\n" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("no/such/dir.db", "the directory {tmp}/no/such does not exist"),
        ("notes.txt", "{tmp}/notes.txt is not a SQLite database file"),
        ("folder", "{tmp}/folder is a directory; the URL must name a database file"),
    ],
)
def test_bad_sqlite_path_is_clear(tmp_path, name, match):
    (tmp_path / "notes.txt").write_text("hello world\n" * 100)
    (tmp_path / "folder").mkdir()
    url = f"sqlite:///{tmp_path / name}"
    expected = re.escape(match.format(tmp=tmp_path))
    with pytest.raises(StorageError, match=f"^Cannot open storage {re.escape(url)}: {expected}"):
        SQLStorage(url)
    with pytest.raises(StorageError, match=f"^Cannot upgrade storage {re.escape(url)}: {expected}"):
        upgrade_storage(url)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"heartbeat_interval": 0},
            "'heartbeat_interval' parameter of SQLStorage must be a positive",
        ),
        ({"grace_period": 2}, "'grace_period' parameter of SQLStorage must be None or a number"),
        ({"clock": 5}, "'clock' parameter of SQLStorage must be None or a callable"),
    ],
)
def test_lease_settings_are_validated(sqlite_url, kwargs, match):
    with pytest.raises(tl.InvalidParameterError, match=match):
        SQLStorage(sqlite_url, **kwargs)


def test_no_grace_period_means_no_lease(sqlite_url):
    clock = FakeClock()
    storage = SQLStorage(sqlite_url, grace_period=None, clock=clock)
    sid = storage.create_study("s", MIN)
    t = storage.create_trial(sid)
    clock.advance(10**6)
    assert storage.heartbeat(t.trial_id) is True
    assert storage.reap_stale_trials(sid) == []


def test_leases_use_the_database_clock(any_url):
    storage = SQLStorage(any_url, heartbeat_interval=1, grace_period=60)
    sid = storage.create_study("s", MIN)
    t = storage.create_trial(sid)
    engine = sa.create_engine(any_url)
    with engine.connect() as conn:
        lease = conn.execute(sa.text("SELECT lease_expires FROM tunelab_trials")).scalar()
    engine.dispose()
    import time

    assert abs(lease - (time.time() + 60)) < 5  # this machine is the server here
    assert storage.reap_stale_trials(sid) == []
    storage.close()
    assert t.state == tl.TrialState.RUNNING


# -- read-only ---------------------------------------------------------------------------------
def test_read_only_storage_reads_and_refuses_writes(any_url):
    writer = SQLStorage(any_url)
    sid = writer.create_study("s", MIN)
    t = writer.create_trial(sid)
    writer.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [math.inf])
    reader = SQLStorage(any_url, read_only=True)
    assert "read_only=True" in repr(reader)
    assert [x.values for x in reader.get_all_trials(sid)] == [[math.inf]]
    assert reader.get_study_attrs(sid) == {}
    with pytest.raises(StorageError, match="is read-only"):
        reader.create_trial(sid)
    with pytest.raises(StorageError, match="is read-only"):
        reader.set_study_attr(sid, "a", 1)
    with pytest.raises(StorageError, match="is read-only"):
        reader.heartbeat(t.trial_id)
    study = tl.load_study(study_name="s", storage=reader)
    assert study.best_value == math.inf
    # The server or the SQLite file refuses writes even past our own guard.
    with pytest.raises(sa.exc.DBAPIError, match="(?i)read-only|readonly"):
        with reader._engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("DELETE FROM tunelab_trial_values")
    writer.close()
    reader.close()


def test_read_only_needs_an_existing_schema(sqlite_url, tmp_path):
    with pytest.raises(StorageError, match="Cannot open storage"):
        SQLStorage(sqlite_url, read_only=True)  # no file at all
    sa.create_engine(sqlite_url).connect().close()  # an empty database file
    with pytest.raises(StorageError, match="holds no tunelab study yet"):
        SQLStorage(sqlite_url, read_only=True)
    with pytest.raises(tl.InvalidParameterError, match="in-memory SQLite"):
        SQLStorage("sqlite://", read_only=True)


def test_read_only_missing_file_is_named_and_never_created(tmp_path):
    path = tmp_path / "typo.db"
    with pytest.raises(
        StorageError,
        match=f"read-only: there is no database file at {re.escape(str(path))}\\. Check the path",
    ):
        get_storage(f"sqlite:///{path}", read_only=True)
    folder = tmp_path / "nodir"
    with pytest.raises(
        StorageError, match=f"the directory {re.escape(str(folder))} does not exist"
    ):
        get_storage(f"sqlite:///{folder / 'x.db'}", read_only=True)
    assert list(tmp_path.iterdir()) == []


# -- incremental reads -------------------------------------------------------------------------
def test_incremental_reads_see_other_writers(any_url):
    a = SQLStorage(any_url)
    b = SQLStorage(any_url)
    sid = a.create_study("s", MIN)
    t = a.create_trial(sid)
    assert [x.state for x in b.get_all_trials(sid)] == [tl.TrialState.RUNNING]
    a.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [1.0])
    a.create_trial(sid)
    seen = b.get_all_trials(sid)
    assert [x.state for x in seen] == [tl.TrialState.COMPLETE, tl.TrialState.RUNNING]
    assert seen[0].values == [1.0]


class _Counter:
    def __init__(self, storage):
        self.statements = []
        sa.event.listen(storage._engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            self.statements.append(statement)


def test_reads_fetch_only_what_changed(sqlite_url, monkeypatch):
    from tunelab.storage import _sql

    writer = SQLStorage(sqlite_url)
    reader = SQLStorage(sqlite_url)
    sid = writer.create_study("s", MIN)
    for i in range(50):
        t = writer.create_trial(sid)
        writer.set_trial_param(t.trial_id, "x", i / 50, tl.Float(0, 1))
        writer.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [float(i)])
    running = writer.create_trial(sid)

    loaded = []
    real = _sql.load_trials

    def spy(conn, selector):
        out = real(conn, selector)
        loaded.append(len(out))
        return out

    monkeypatch.setattr(_sql, "load_trials", spy)
    assert len(reader.get_all_trials(sid)) == 51
    assert loaded == [51]
    counter = _Counter(reader)
    for _ in range(3):
        assert len(reader.get_all_trials(sid)) == 51
    assert loaded == [51, 1, 1, 1]  # only the running trial is read again
    assert len(counter.statements) == 3 * 3  # study row, trials, details (one UNION)
    writer.finish_trial(running.trial_id, tl.TrialState.FAIL, None, "x")
    writer.create_trial(sid)
    trials = reader.get_all_trials(sid)
    assert loaded[-1] == 2
    assert [t.state for t in trials[-2:]] == [tl.TrialState.FAIL, tl.TrialState.RUNNING]
    assert reader.get_all_trials(sid)[:50] == trials[:50]


def test_unfinished_trials_are_read_in_chunks(any_url, monkeypatch):
    from tunelab.storage import _sql

    # raising=False: the test must run, and fail, against code without the constant too.
    monkeypatch.setattr(_sql, "PENDING_CHUNK", 2, raising=False)
    writer = SQLStorage(any_url)
    reader = SQLStorage(any_url)
    sid = writer.create_study("s", MIN)
    for i in range(30):
        tmpl = tl.FrozenTrial(number=-1, state=tl.TrialState.WAITING, system_attrs={"i": i})
        writer.create_trial(sid, tmpl)
    assert len(reader.get_all_trials(sid)) == 30  # all 30 are now pending in its cache
    for _ in range(10):
        claimed = writer.claim_waiting_trial(sid)
        writer.finish_trial(claimed.trial_id, tl.TrialState.COMPLETE, [float(claimed.number)])
    writer.create_trial(sid)
    sizes = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sizes.append(len(parameters or ()))

    sa.event.listen(reader._engine, "before_cursor_execute", count)
    trials = reader.get_all_trials(sid)
    # PostgreSQL allows 65,535 parameters per statement: their number must follow the chunk
    # size, not the number of unfinished trials. The detail query lists the ids 4 times, next
    # to a few constants.
    assert max(sizes) <= 4 * 2 + 12, sizes
    states = [t.state for t in trials]
    assert states == [tl.TrialState.COMPLETE] * 10 + [tl.TrialState.WAITING] * 20 + [
        tl.TrialState.RUNNING
    ]
    assert [t.values for t in trials[:10]] == [[float(n)] for n in range(10)]
    assert [t.system_attrs["i"] for t in trials[:30]] == list(range(30))
    assert reader.get_all_trials(sid) == SQLStorage(any_url).get_all_trials(sid)


def test_cache_follows_trials_reaped_by_another_process(any_url):
    clock = FakeClock()
    worker = SQLStorage(any_url, clock=clock)
    reaper = SQLStorage(any_url, clock=clock)
    sid = worker.create_study("s", MIN)
    t = worker.create_trial(sid)
    assert worker.get_all_trials(sid)[0].state == tl.TrialState.RUNNING
    clock.advance(worker.grace_period + 1)
    (lost,) = reaper.reap_stale_trials(sid, retry_failed=1)
    assert lost.trial_id == t.trial_id
    states = [x.state for x in worker.get_all_trials(sid)]
    assert states == [tl.TrialState.FAIL, tl.TrialState.WAITING]
    with pytest.raises(StaleTrialError, match="worker lost"):
        worker.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [1.0])
    assert reaper.reap_stale_trials(sid, retry_failed=1) == []
    assert worker.reap_stale_trials(sid, retry_failed=1) == []  # two reapers, one re-queue
    assert worker.get_n_trials(sid) == 2


def test_recreated_study_does_not_inherit_cached_trials(sqlite_url):
    a = SQLStorage(sqlite_url)
    b = SQLStorage(sqlite_url)
    sid = a.create_study("s", MIN)
    a.finish_trial(a.create_trial(sid).trial_id, tl.TrialState.COMPLETE, [1.0])
    assert len(b.get_all_trials(sid)) == 1
    a.delete_study(sid)
    again = a.create_study("s", MIN)
    assert b.get_all_trials(again) == []


def test_storage_pickles_by_url(sqlite_url):
    import pickle

    storage = SQLStorage(sqlite_url, heartbeat_interval=2, grace_period=9)
    copy = pickle.loads(pickle.dumps(storage))
    assert (copy.url, copy.heartbeat_interval, copy.grace_period) == (sqlite_url, 2.0, 9.0)


def test_ctrl_c_inside_a_transaction_waits_for_its_end_and_releases_the_lock(tmp_path, ctrl_c):
    # Found by a QA pass: a Ctrl-C landing after a statement of a SQLite write transaction
    # left the transaction open with its lock, while the traceback lived: every other writer
    # got "database is locked" and optimize's clean-up waited minutes on its own lock.
    import os
    import signal
    import sqlite3

    path = tmp_path / "s.db"
    study = tl.create_study(study_name="s", storage=f"sqlite:///{path}")
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    fired = []

    @sa.event.listens_for(study._storage._engine, "after_cursor_execute")
    def interrupt(conn, cursor, statement, *args):
        if not fired and "tunelab_trials.fail_reason" in statement:
            fired.append(statement)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt) as caught:
        study.tell(trial, 1.0)
    assert fired
    # The interrupted transaction finished first; the traceback is still alive here.
    assert caught.value is not None
    other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # raised "database is locked" before
    other.execute("ROLLBACK")
    other.close()
    assert tl.load_study(study_name="s", storage=f"sqlite:///{path}").trials[0].value == 1.0


def test_a_lost_trial_and_its_retry_are_written_in_one_transaction(any_url, monkeypatch):
    # Found by a QA pass: the FAIL and the re-queue were two writes, and a driver dying between
    # them left a lost trial that nothing would ever retry (the reaper looks at RUNNING ones).
    storage = SQLStorage(any_url)
    sid = storage.create_study("s", MIN, system_attrs={"retry_failed": 1})
    trial = storage.create_trial(sid)

    def dies(*args, **kwargs):
        raise RuntimeError("the driver dies here")

    monkeypatch.setattr(storage, "_insert_trial", dies)
    with pytest.raises(RuntimeError, match="dies here"):
        storage.fail_lost_trial(sid, trial.trial_id, "worker lost")
    assert [t.state for t in SQLStorage(any_url).get_all_trials(sid)] == [tl.TrialState.RUNNING]
    monkeypatch.undo()
    storage.fail_lost_trial(sid, trial.trial_id, "worker lost")
    assert [t.state for t in SQLStorage(any_url).get_all_trials(sid)] == [
        tl.TrialState.FAIL,
        tl.TrialState.WAITING,
    ]
