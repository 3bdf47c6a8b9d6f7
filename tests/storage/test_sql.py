import sqlalchemy as sa
import pytest

import tunelab as tl
from tunelab.exceptions import SchemaVersionError, StorageError
from tunelab.storage import SQLStorage
from tunelab.testing import StorageContract


class TestSQLiteStorage(StorageContract):
    @pytest.fixture
    def storage(self, sqlite_url):
        s = SQLStorage(sqlite_url)
        yield s
        s.close()


def test_schema_version_table_is_namespaced(sqlite_url):
    SQLStorage(sqlite_url).close()
    engine = sa.create_engine(sqlite_url)
    names = sa.inspect(engine).get_table_names()
    assert "tunelab_schema_version" in names
    assert all(n.startswith("tunelab_") for n in names)


def test_foreign_tables_do_not_collide(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE studies (id INTEGER, other TEXT)")
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num TEXT)")
    study = tl.create_study(study_name="s", storage=sqlite_url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert len(tl.load_study(study_name="s", storage=sqlite_url).trials) == 3


def test_schema_mismatch_names_the_upgrade_command(sqlite_url):
    SQLStorage(sqlite_url).close()
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE tunelab_schema_version SET version = 99")
    with pytest.raises(SchemaVersionError, match=r"version 99.*tunelab storage upgrade sqlite:///"):
        SQLStorage(sqlite_url)


def test_bad_url_is_one_clear_error():
    with pytest.raises(tl.InvalidParameterError, match="not a database URL"):
        SQLStorage("not a url")


def test_missing_driver_names_the_extra():
    with pytest.raises(StorageError, match="Unknown database driver 'postgresql.nosuchdriver'"):
        SQLStorage("postgresql+nosuchdriver://u@127.0.0.1:1/db")


def test_incremental_reads_see_other_writers(sqlite_url):
    a = SQLStorage(sqlite_url)
    b = SQLStorage(sqlite_url)
    sid = a.create_study("s", [tl.StudyDirection.MINIMIZE])
    t = a.create_trial(sid)
    assert [x.state for x in b.get_all_trials(sid)] == [tl.TrialState.RUNNING]
    a.finish_trial(t.trial_id, tl.TrialState.COMPLETE, [1.0])
    a.create_trial(sid)
    seen = b.get_all_trials(sid)
    assert [x.state for x in seen] == [tl.TrialState.COMPLETE, tl.TrialState.RUNNING]
    assert seen[0].values == [1.0]
