from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def pg_url(postgres_url):
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards: reruns pass."""
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request):
    """Each SQL backend in turn (PostgreSQL skips without TUNELAB_TEST_POSTGRES_URL)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")
