"""Opening databases: read-only directories, WAL files, other tools' databases, deleted studies.

Found by a QA pass (2026-11-29). The CI runs as root, which may write into a ``chmod 555``
directory; so the read-only-directory logic is also tested by making SQLite's open of the
``-shm`` file fail the way a read-only directory makes it fail (a dangling symlink), with the
directory reported as not writable.
"""

import os
import shutil
import sqlite3

import pytest
import sqlalchemy as sa

import tunelab as tl
from tunelab.exceptions import StorageError, StudyNotFoundError
from tunelab.storage import SQLStorage, _engine, upgrade_storage

MIN = [tl.StudyDirection.MINIMIZE]


def _filled(path, n=3):
    """A tunelab database at ``path`` with study 'r' of ``n`` complete trials, every
    connection closed (so SQLite has folded its WAL into the file and removed it)."""
    storage = SQLStorage(f"sqlite:///{path}")
    sid = storage.create_study("r", MIN)
    for i in range(n):
        t = storage.create_trial(sid)
        storage.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [float(i)])
    storage.close()
    return path


def _tables(path):
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master"))


def _journal_mode(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def unwritable_dir(monkeypatch):
    """Report every directory as not writable, as a read-only mount does (also to root)."""
    monkeypatch.setattr(_engine, "directory_writable", lambda path: False)


def _break_shm(path):
    """Make SQLite fail to open ``<db>-shm`` as in a directory it cannot write: the name is a
    symlink into a directory that does not exist (root cannot create a file there either)."""
    os.symlink("/nonexistent-tunelab-test/shm", f"{path}-shm")


# -- the decision ---------------------------------------------------------------------------------
CANTOPEN = sqlite3.OperationalError("unable to open database file")
READONLY_DIR = sqlite3.OperationalError("attempt to write a readonly database")


@pytest.mark.parametrize("error", [CANTOPEN, READONLY_DIR])
def test_fallback_to_immutable_only_when_nothing_is_pending(tmp_path, unwritable_dir, error):
    path = str(tmp_path / "x.db")
    open(path, "wb").close()
    assert _engine.read_only_fallback(path, error, "sqlite:///x.db") is True  # no -wal
    open(f"{path}-wal", "wb").close()
    assert _engine.read_only_fallback(path, error, "sqlite:///x.db") is True  # an empty one
    with open(f"{path}-wal", "wb") as wal:
        wal.write(b"\0" * 100)
    with pytest.raises(StorageError) as info:
        _engine.read_only_fallback(path, error, "sqlite:///x.db")
    message = str(info.value)
    assert message.startswith("Cannot open storage sqlite:///x.db read-only: its newest writes")
    assert f"{path}-wal (100 bytes)" in message
    assert "Copy x.db together with x.db-wal (and x.db-shm, if present)" in message
    assert "open it where it was written" in message


def test_no_fallback_for_other_failures(tmp_path, monkeypatch):
    path = str(tmp_path / "x.db")
    open(path, "wb").close()
    # A writable directory: SQLite could have made its files, so the failure is another one.
    assert _engine.read_only_fallback(path, CANTOPEN, "u") is False
    monkeypatch.setattr(_engine, "directory_writable", lambda path: False)
    assert (
        _engine.read_only_fallback(path, sqlite3.OperationalError("disk I/O error"), "u") is False
    )


# -- end to end, root-proof ---------------------------------------------------------------------
def test_read_only_open_in_an_unwritable_directory_reads_the_study(tmp_path, unwritable_dir):
    path = _filled(tmp_path / "ro.db")
    assert not os.path.exists(f"{path}-wal")
    _break_shm(path)
    url = f"sqlite:///{path}"
    with pytest.raises(sqlite3.OperationalError):  # what SQLite itself does with mode=ro
        sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("SELECT * FROM sqlite_master")
    reader = SQLStorage(url, read_only=True)
    study = tl.load_study(study_name="r", storage=reader)
    assert [t.value for t in study.trials] == [0.0, 1.0, 2.0]
    assert study.best_value == 0.0
    with pytest.raises(StorageError, match="is read-only"):
        reader.create_study("new", MIN)
    reader.close()


def test_read_only_open_refuses_a_pending_wal_it_cannot_read(tmp_path, unwritable_dir):
    source = tmp_path / "live.db"
    writer = SQLStorage(f"sqlite:///{source}")
    sid = writer.create_study("r", MIN)
    for i in range(3):
        t = writer.create_trial(sid)
        writer.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [float(i)])
    # A copy taken while the writer lives: the trials are in the -wal file only.
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(source, folder / "k.db")
    shutil.copy(f"{source}-wal", folder / "k.db-wal")
    writer.close()
    path = folder / "k.db"
    _break_shm(path)
    with pytest.raises(StorageError, match=r"read-only: its newest writes are in .*k\.db-wal"):
        SQLStorage(f"sqlite:///{path}", read_only=True)
    # Copied with its -wal to a writable place, the whole study is there.
    os.remove(f"{path}-shm")
    assert len(SQLStorage(f"sqlite:///{path}", read_only=True).get_all_trials(sid)) == 3


def test_writing_in_an_unwritable_directory_says_so(tmp_path, unwritable_dir):
    path = _filled(tmp_path / "ro.db")
    _break_shm(path)
    url = f"sqlite:///{path}"
    with pytest.raises(StorageError) as info:
        tl.load_study(study_name="r", storage=url)
    message = str(info.value)
    assert message.startswith(
        f"Cannot open storage {url}: the directory {tmp_path} is not writable"
    )
    assert "SQLite must create ro.db-wal and ro.db-shm next to the database" in message
    assert f"SQLStorage({url!r}, read_only=True)" in message


def test_creating_a_database_in_an_unwritable_directory_says_so(tmp_path, unwritable_dir):
    os.symlink("/nonexistent-tunelab-test/new.db", tmp_path / "new.db")  # cannot be created
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with pytest.raises(StorageError, match="is not writable, so the database file cannot be"):
        tl.create_study(study_name="s", storage=url)


# -- a real read-only directory (not as root: root writes anywhere) ------------------------------
def _writes_into_read_only_dirs(tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "f").touch()
        return True
    except PermissionError:
        return False
    finally:
        probe.chmod(0o755)


def test_chmod_555_directory(tmp_path):
    if _writes_into_read_only_dirs(tmp_path):
        pytest.skip(
            "this process writes into chmod 555 directories (root with CAP_DAC_OVERRIDE); "
            "the tests above cover the same logic with the failure injected"
        )
    folder = tmp_path / "ro"
    folder.mkdir()
    path = _filled(folder / "ro.db")
    url = f"sqlite:///{path}"
    folder.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="is not writable.*read_only=True"):
            tl.load_study(study_name="r", storage=url)
        reader = SQLStorage(url, read_only=True)
        assert len(tl.load_study(study_name="r", storage=reader).trials) == 3
        reader.close()
    finally:
        folder.chmod(0o755)


# -- backups --------------------------------------------------------------------------------------
def test_upgrade_leaves_every_row_in_the_database_file(tmp_path):
    from test_sql import _create_v2_schema  # tests/storage is on sys.path, as for _workers

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    _create_v2_schema(url)
    with pytest.warns(UserWarning, match="schema version 2"):
        storage = SQLStorage(url)
    sid = storage.create_study("s", MIN)
    for i in range(20):
        t = storage.create_trial(sid)
        storage.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [float(i)])
    assert os.path.getsize(f"{path}-wal") > 0  # the trials are in the WAL, the worker is open
    assert upgrade_storage(url) == (2, 3)
    assert os.path.getsize(f"{path}-wal") == 0  # checkpointed and truncated
    shutil.copy(path, tmp_path / "copy.db")  # the .db file alone is now the whole database
    copy = SQLStorage(f"sqlite:///{tmp_path / 'copy.db'}", read_only=True)
    assert [t.value for t in copy.get_all_trials(sid)] == [float(i) for i in range(20)]
    storage.close()
    copy.close()


# -- opening creates nothing ----------------------------------------------------------------------
def test_loading_a_missing_file_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    with pytest.raises(StudyNotFoundError, match="there is no database file at .*typo.db"):
        tl.load_study(study_name="s", storage=url)
    assert tl.get_all_study_summaries(url) == []
    assert list(tmp_path.iterdir()) == []
    tl.create_study(study_name="s", storage=url)  # creating a study creates the file
    assert len(tl.load_study(study_name="s", storage=url).trials) == 0
    assert _journal_mode(tmp_path / "typo.db") == "wal"


def test_loading_from_a_database_without_tunelab_tables_leaves_it_alone(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.close()
    url = f"sqlite:///{path}"
    early = SQLStorage(url)  # opened before any study exists
    with pytest.raises(StudyNotFoundError, match="holds no tunelab study yet"):
        tl.load_study(study_name="s", storage=url)
    assert early.list_studies() == []
    assert _tables(path) == ["orders"] and _journal_mode(path) == "delete"
    with pytest.raises(StudyNotFoundError, match="holds no tunelab study yet"):
        early.get_all_trials(1)

    tl.create_study(study_name="s", storage=url).optimize(lambda t: 1.0, n_trials=2)
    assert "tunelab_studies" in _tables(path) and _journal_mode(path) == "wal"
    # The storage opened before sees the study another one created.
    sid = early.get_study_id("s")
    assert len(early.get_all_trials(sid)) == 2
    early.close()


@pytest.mark.postgres
def test_loading_from_an_empty_postgres_schema_creates_no_table(pg_url):
    with pytest.raises(StudyNotFoundError, match="holds no tunelab study yet"):
        tl.load_study(study_name="s", storage=pg_url)
    engine = sa.create_engine(pg_url)
    assert sa.inspect(engine).get_table_names() == []
    tl.create_study(study_name="s", storage=pg_url)
    assert "tunelab_studies" in sa.inspect(engine).get_table_names()
    engine.dispose()


# -- Optuna's databases ---------------------------------------------------------------------------
def test_an_optuna_database_is_named_and_left_alone(optuna_like_db):
    path = optuna_like_db
    before = _tables(path)
    url = f"sqlite:///{path}"
    with pytest.raises(StudyNotFoundError) as info:
        tl.load_study(study_name="o", storage=url)
    message = str(info.value)
    assert "It is an Optuna database (Optuna studies: 'o'), which tunelab does not read" in message
    assert "tunelab.create_trial and study.add_trials" in message and "docs/storage.md" in message
    assert "tunelab studies" not in message  # it would list nothing
    with pytest.warns(UserWarning, match="It is an Optuna database"):
        assert tl.get_all_study_summaries(url) == []
    # The read-only commands open it read-only.
    with pytest.raises(StorageError, match="holds no tunelab study. It is an Optuna database"):
        SQLStorage(url, read_only=True)
    assert _tables(path) == before and _journal_mode(path) == "delete"


def test_an_optuna_database_that_also_has_tunelab_tables(optuna_like_db):
    # What a load_study left behind before 2026-11-29: tunelab's empty tables next to Optuna's.
    path = optuna_like_db
    url = f"sqlite:///{path}"
    upgrade_storage(url)
    reader = SQLStorage(url, read_only=True)
    with pytest.raises(StudyNotFoundError, match="'o' in .*It is an Optuna database"):
        reader.get_study_id("o")
    with pytest.warns(UserWarning, match="It is an Optuna database"):
        assert reader.list_studies() == []
    reader.close()


def test_the_documented_recipe_brings_optuna_trials_over(tmp_path):
    optuna = pytest.importorskip("optuna")
    import re
    from pathlib import Path

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def objective(trial):
        x = trial.suggest_float("x", 1e-3, 1, log=True)
        n = trial.suggest_int("n", 0, 10, step=2)
        trial.suggest_categorical("c", ["a", None])
        trial.report(x, 0)
        if n == 10:
            raise optuna.TrialPruned()
        if n == 8:
            raise ValueError("boom")
        return x + n

    source_url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(
        study_name="o", storage=source_url, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(objective, n_trials=25, catch=(ValueError,))
    docs = Path(__file__).parents[2] / "docs" / "storage.md"
    recipe = re.search(r"```python\n(import optuna\n.*?)```", docs.read_text(), re.S).group(1)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(recipe, "docs/storage.md", "exec"), {})
    finally:
        os.chdir(cwd)
    copied = tl.load_study(study_name="o", storage=f"sqlite:///{tmp_path / 'tunelab.db'}")
    assert len(copied.trials) == len(study.trials) == 25
    assert {t.state.name for t in copied.trials} == {"COMPLETE", "PRUNED", "FAIL"}
    for old, new in zip(study.trials, copied.trials, strict=True):
        assert (new.state.name, new.params, new.values) == (old.state.name, old.params, old.values)
        assert new.intermediate_values == old.intermediate_values
    assert copied.best_value == study.best_value and copied.best_params == study.best_params


# -- deleted studies ------------------------------------------------------------------------------
def test_a_worker_of_a_deleted_study_is_told_so(any_url):
    worker = SQLStorage(any_url)
    other = SQLStorage(any_url)
    sid = worker.create_study("s", MIN)
    running = worker.create_trial(sid)
    assert [t.trial_id for t in worker.get_all_trials(sid)] == [running.trial_id]
    other.delete_study(other.get_study_id("s"))

    deleted = rf"its study \(id {sid}\) was deleted \(by delete_study or `tunelab delete`"
    with pytest.raises(StudyNotFoundError, match=rf"Trial with id {running.trial_id} .*{deleted}"):
        worker.finish_trial(running.trial_id, tl.TrialState.COMPLETE, [1.0])
    with pytest.raises(StudyNotFoundError, match=deleted):
        worker.set_trial_param(running.trial_id, "x", 0.5, tl.Float(0, 1))
    with pytest.raises(StudyNotFoundError, match=deleted):
        worker.get_trial(running.trial_id)
    # A storage that never read the study knows the trial's id was given out, not its study.
    fresh = SQLStorage(any_url)
    with pytest.raises(StudyNotFoundError, match="no longer in .*: its study was deleted"):
        fresh.set_trial_intermediate_value(running.trial_id, 0, 1.0)
    with pytest.raises(StudyNotFoundError, match=rf"study with id {sid} .*it was deleted"):
        worker.create_trial(sid)
    with pytest.raises(StudyNotFoundError, match=rf"study with id {sid} .*it was deleted"):
        worker.get_all_trials(sid)
    # Ids never given out are just unknown.
    worker.create_study("t", MIN)
    with pytest.raises(StudyNotFoundError, match=r"^No trial with id 999999 in"):
        worker.finish_trial(999999, tl.TrialState.COMPLETE, [1.0])
    with pytest.raises(StudyNotFoundError, match=r"^No study with id 999999 in"):
        worker.get_study_name(999999)
    for s in (worker, other, fresh):
        s.close()


def test_an_optimize_loop_whose_study_is_deleted_stops_saying_so(any_url):
    study = tl.create_study(study_name="s", storage=any_url)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            tl.delete_study("s", any_url)  # another process would do the same
        trial.set_user_attr("after", 1)
        return x

    with pytest.raises(StudyNotFoundError, match="its study .*was deleted"):
        study.optimize(objective, n_trials=5)
