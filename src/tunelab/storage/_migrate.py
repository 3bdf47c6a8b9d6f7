"""Schema creation, version checks and migrations (``tunelab storage upgrade URL``).

Every step is idempotent: a migration that stopped half-way, or two upgrades at once, end in the
same schema. On PostgreSQL an advisory lock makes concurrent creators and upgraders take turns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..exceptions import SchemaVersionError, StorageError
from . import _schema as S
from ._engine import first_line, make_engine

# Any constant works; it only has to be the same for every tunelab process.
_ADVISORY_LOCK_KEY = 0x74756E65

# Leases given to RUNNING trials found by the 1 -> 2 migration: long enough for a live worker of
# an older tunelab to finish, short enough that trials of dead ones are reaped the same day.
MIGRATION_GRACE_SECONDS = 3600.0


def _now() -> datetime:
    return datetime.now(UTC)


def display_url(engine_or_url: Engine | str) -> str:
    url = (
        engine_or_url.url
        if isinstance(engine_or_url, Engine)
        else sa.engine.make_url(engine_or_url)
    )
    return url.render_as_string(hide_password=True)


def _serialize_ddl(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))


def stored_version(conn: Connection) -> int | None:
    """The schema version in the database, or None when it holds no tunelab schema."""
    if not sa.inspect(conn).has_table(S.schema_version.name):
        return None
    found = conn.execute(sa.select(sa.func.max(S.schema_version.c.version))).scalar()
    return None if found is None else int(found)


def create_schema(conn: Connection) -> None:
    _serialize_ddl(conn)
    S.metadata.create_all(conn, checkfirst=True)
    if conn.execute(sa.select(S.schema_version.c.version)).first() is None:
        conn.execute(S.schema_version.insert().values(version=S.SCHEMA_VERSION, created_at=_now()))


def check_version(found: int | None, url: str) -> None:
    if found == S.SCHEMA_VERSION:
        return
    if found is None:
        raise StorageError(
            f"Storage {url} holds no tunelab study yet and was opened read-only; open it "
            "writable once (for example with create_study) to create the tables."
        )
    if found > S.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"Storage {url} has tunelab schema version {found}, written by a newer tunelab; this "
            f"tunelab reads version {S.SCHEMA_VERSION}. Upgrade tunelab (pip install -U tunelab); "
            f"`tunelab storage upgrade {url}` only migrates older storages."
        )
    raise SchemaVersionError(
        f"Storage {url} has tunelab schema version {found}, this tunelab uses "
        f"{S.SCHEMA_VERSION}. Run `tunelab storage upgrade {url}` to migrate it "
        "(back up the database first)."
    )


# -- migrations ---------------------------------------------------------------------------------
def _has_column(conn: Connection, table: str, column: str) -> bool:
    return any(c["name"] == column for c in sa.inspect(conn).get_columns(table))


def _1_to_2(conn: Connection) -> None:
    """Add trial leases; RUNNING trials get one so that those of dead workers are reaped."""
    table = S.trials.name
    if not _has_column(conn, table, "lease_expires"):
        kind = "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "FLOAT"
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN lease_expires {kind}")
    from ._engine import server_epoch

    conn.execute(
        S.trials.update()
        .where((S.trials.c.state == "RUNNING") & S.trials.c.lease_expires.is_(None))
        .values(lease_expires=server_epoch(conn.dialect.name) + MIGRATION_GRACE_SECONDS)
    )


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _1_to_2}


def upgrade_storage(url: str) -> tuple[int, int]:
    """Migrate the tunelab tables at ``url`` to this tunelab's schema; return (old, new) versions.

    Old is 0 when the database held no tunelab tables (they are created). Safe to run twice and
    while nothing else writes; other tools' tables in the same database are left alone.
    """
    engine = make_engine(url)
    shown = display_url(engine)
    try:
        with engine.connect().execution_options(tunelab_write=True) as conn:
            with conn.begin():
                _serialize_ddl(conn)
                old = stored_version(conn)
                if old is None:
                    create_schema(conn)
                    return 0, S.SCHEMA_VERSION
                if old > S.SCHEMA_VERSION:
                    check_version(old, shown)
                for version in range(old, S.SCHEMA_VERSION):
                    MIGRATIONS[version](conn)
                    conn.execute(
                        S.schema_version.insert().values(version=version + 1, created_at=_now())
                    )
                return old, S.SCHEMA_VERSION
    except DBAPIError as exc:
        raise StorageError(f"Cannot upgrade storage {shown}: {first_line(exc)}.") from None
    finally:
        engine.dispose()
