"""Schema creation, version checks and migrations (``tunelab storage upgrade URL``).

Every step is idempotent: a migration that stopped half-way, or two upgrades at once, end in the
same schema. On PostgreSQL an advisory lock makes concurrent creators and upgraders take turns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateTable

from ..exceptions import SchemaVersionError, StorageError
from . import _schema as S
from ._engine import describe_open_error, enable_wal, first_line, make_engine

# Any constant works; it only has to be the same for every tunelab process.
_ADVISORY_LOCK_KEY = 0x74756E65

# The oldest schema this tunelab still reads and writes without an upgrade. Version 2 lacks only
# guards (see ``_2_to_3``), so workers keep running across a tunelab update and the storage is
# upgraded when convenient, instead of every open failing until someone runs the command.
OLDEST_USABLE_VERSION = 2

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
    if found is not None and OLDEST_USABLE_VERSION <= found <= S.SCHEMA_VERSION:
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
        "(back up the database first: see 'Backups' in docs/storage.md)."
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


def _sqlite_autoincrements(conn: Connection, table: str) -> bool:
    sql = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": table},
    ).scalar()
    return "AUTOINCREMENT" in (sql or "").upper()


def _rebuild_sqlite_table(conn: Connection, table: sa.Table) -> None:
    """Recreate ``table`` from its current definition, keeping its rows (SQLite cannot ALTER a
    key into AUTOINCREMENT). Needs ``PRAGMA foreign_keys = OFF``: with it on, dropping the old
    table would cascade to every row that references it."""
    new = f"{table.name}_rebuilt"
    ddl = str(CreateTable(table).compile(dialect=conn.dialect))
    conn.exec_driver_sql(ddl.replace(f"CREATE TABLE {table.name} ", f"CREATE TABLE {new} ", 1))
    columns = ", ".join(column.name for column in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {table.name}")
    conn.exec_driver_sql(f"DROP TABLE {table.name}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {table.name}")
    for index in table.indexes:
        index.create(conn)


def _2_to_3(conn: Connection) -> None:
    """SQLite: study and trial ids are never reused (a stale worker of a deleted study must not
    write into a new one). PostgreSQL: 64-bit steps; its ids come from sequences already."""
    if conn.dialect.name == "sqlite":
        for table in (S.studies, S.trials):
            if not _sqlite_autoincrements(conn, table.name):
                _rebuild_sqlite_table(conn, table)
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if any(str(row[0]).startswith("tunelab_") for row in broken):
            raise StorageError(
                f"The tunelab tables hold rows that reference missing studies or trials "
                f"({len(broken)} found by PRAGMA foreign_key_check); the upgrade was undone."
            )
    elif conn.dialect.name == "postgresql":
        table = S.trial_intermediate.name
        step = next(c for c in sa.inspect(conn).get_columns(table) if c["name"] == "step")
        if not isinstance(step["type"], sa.BigInteger):
            conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN step TYPE BIGINT")


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _1_to_2, 2: _2_to_3}


def _checkpoint(conn: Connection) -> None:
    """Copy the WAL into the database file and empty it, so that after an upgrade (which
    rewrites whole tables into the WAL) the .db file alone holds every row again. Not needed
    for the upgrade itself, which reads through the WAL; a reader still open elsewhere makes
    it partial, which is harmless."""
    try:
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.Error:
        pass  # the upgrade is committed; SQLite checkpoints again on its own


def upgrade_storage(url: str) -> tuple[int, int]:
    """Migrate the tunelab tables at ``url`` to this tunelab's schema; return (old, new) versions.

    Old is 0 when the database held no tunelab tables (they are created). Safe to run twice and
    while nothing else writes; other tools' tables in the same database are left alone.
    """
    engine = make_engine(url)
    shown = display_url(engine)
    try:
        with engine.connect().execution_options(tunelab_write=True) as conn:
            if conn.dialect.name == "sqlite":
                # Table rebuilds need it off, and SQLite ignores this pragma inside a
                # transaction. The engine is disposed at the end: no pooled connection keeps it.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
            with conn.begin():
                _serialize_ddl(conn)
                old = stored_version(conn)
                if old is None:
                    create_schema(conn)
                elif old > S.SCHEMA_VERSION:
                    check_version(old, shown)
                else:
                    for version in range(old, S.SCHEMA_VERSION):
                        MIGRATIONS[version](conn)
                        conn.execute(
                            S.schema_version.insert().values(version=version + 1, created_at=_now())
                        )
            if conn.dialect.name == "sqlite":
                _checkpoint(conn)
        enable_wal(engine)
        return (0 if old is None else old), S.SCHEMA_VERSION
    except DBAPIError as exc:
        reason = (
            describe_open_error(engine.url, exc)
            if engine.dialect.name == "sqlite"
            else f"{first_line(exc)}."
        )
        raise StorageError(f"Cannot upgrade storage {shown}: {reason}") from None
    finally:
        engine.dispose()
