from __future__ import annotations

import os

import pytest


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'tunelab.db'}"


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("TUNELAB_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TUNELAB_TEST_POSTGRES_URL (set by .ci/run)")
    return url


@pytest.fixture
def pg_url(postgres_url):
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards: reruns pass."""
    import uuid

    import sqlalchemy as sa

    schema = f"tl_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{joiner}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def ctrl_c():
    """Ctrl-C raises KeyboardInterrupt in this test, as in a terminal. A process started in the
    background by a non-interactive shell (some CI runners) inherits SIGINT ignored, and a
    test sending itself SIGINT would then see nothing happen."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def optuna_like_db(tmp_path):
    """A SQLite file with the tables of Optuna's RDB storage that tunelab looks for, and one
    study named 'o'."""
    import sqlite3

    path = tmp_path / "optuna.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
        conn.execute("CREATE TABLE trials (trial_id INTEGER PRIMARY KEY, study_id INTEGER)")
        conn.execute("CREATE TABLE trial_params (param_id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE version_info (version_info_id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO studies (study_name) VALUES ('o')")
    conn.close()
    return path
