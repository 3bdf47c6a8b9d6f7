"""Engines for SQLite and PostgreSQL, tuned so many processes can share one database.

Loaded only by ``SQLStorage`` (it imports SQLAlchemy). Also: which errors are worth a retry, the
database's own clock (leases must not depend on the clocks of the machines that hold them), and
one-line messages for errors users see.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import weakref
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..exceptions import InvalidParameterError, StorageError

# Lock waits happen inside SQLite (busy_timeout) first; our own retries are the second line.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "database schema is locked",
    "busy",
    "deadlock",
    "could not serialize",
    "lock timeout",
    "server closed the connection",
    "terminating connection",
)


def is_transient(exc: DBAPIError) -> bool:
    """True for errors another attempt may not meet: lock contention, serialization, a dropped link."""
    if exc.connection_invalidated:
        return True
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return any(word in text for word in _TRANSIENT)


def first_line(exc: BaseException) -> str:
    """The informative part of a driver error (psycopg adds hint lines, SQLAlchemy a footer)."""
    source = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(source).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(source).__name__


_TIMEOUTS = ("statement timeout", "lock timeout", "canceling statement")


def describe_open_error(url: sa.engine.URL, exc: BaseException) -> str:
    """Why a database could not be opened, and what to do, as one sentence after the URL."""
    exhausted = fd_exhaustion()
    if exhausted is not None:
        return exhausted
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        reason = first_line(exc)
        if any(word in reason.lower() for word in _TIMEOUTS):
            # The server answered, so "is it running?" would send the user the wrong way.
            return f"{reason}. {_timeout_hint()}"
        return f"{reason}. Check that the server is running and the URL is right."
    path = os.path.abspath(url.database)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        return (
            f"{path} is a directory; the URL must name a database file, e.g. sqlite:///tunelab.db."
        )
    if not os.path.isdir(folder):
        return f"the directory {folder} does not exist. Create it first, or fix the path."
    if "not a database" in first_line(exc):
        return (
            f"{path} is not a SQLite database file. Point the URL at a tunelab database, or at "
            "a new file name to create one."
        )
    reason = first_line(exc)
    if cannot_open_or_write(exc) and not directory_writable(path):
        name = os.path.basename(path)
        if not os.path.exists(path):
            return (
                f"the directory {folder} is not writable, so the database file cannot be "
                "created there. Choose a writable directory."
            )
        shown = url.render_as_string(hide_password=True)
        return (
            f"the directory {folder} is not writable, and SQLite must create {name}-wal and "
            f"{name}-shm next to the database to open it for writing. To read its studies, "
            f"open it read-only: SQLStorage({shown!r}, read_only=True) (the tunelab commands "
            "that only read, such as `tunelab studies`, do); to run trials, move it to a "
            "writable directory."
        )
    if "readonly" in reason.lower():
        return _read_only_file(url, reason)
    if any(word in reason.lower() for word in ("unable to open", "permission")):
        return f"{reason} ({path}). Check the path and its permissions."
    return f"{reason} ({path})."


def describe_write_error(url: sa.engine.URL, exc: BaseException) -> str:
    """Why a read or write of an open database failed, and what to do, as one sentence."""
    exhausted = fd_exhaustion()
    if exhausted is not None:
        return exhausted
    reason = first_line(exc)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        if any(word in reason.lower() for word in _TIMEOUTS):
            return f"{reason}. {_timeout_hint()}"
        return f"{reason}."
    if "readonly" in reason.lower():
        return _read_only_file(url, reason)
    if cannot_open_or_write(exc):
        return f"{reason} ({os.path.abspath(url.database)}). Check the path and its permissions."
    return f"{reason}."


def _timeout_hint() -> str:
    return (
        "The server is reachable but cancelled tunelab's statement: a statement_timeout or "
        "lock_timeout (set for this user or database, or in the URL's options) is shorter "
        "than the statement needed, or another session holds a lock on tunelab's tables. "
        "Raise the timeout for tunelab, e.g. add ?options=-c%20statement_timeout%3D0 to the "
        "URL, or end the session holding the lock."
    )


def _read_only_file(url: sa.engine.URL, reason: str) -> str:
    """SQLite's "attempt to write a readonly database", with who may not write what."""
    path = os.path.abspath(str(url.database))
    folder = os.path.dirname(path)
    shown = url.render_as_string(hide_password=True)
    reader = f"to only read it, open it with SQLStorage({shown!r}, read_only=True)"
    try:
        status = os.stat(path)
    except OSError:
        return f"{reason} ({path}). Check the path and its permissions."
    if not status.st_mode & 0o222 or not os.access(path, os.W_OK):
        return (
            f"{reason}: {path} is not writable by this process (mode "
            f"{stat.filemode(status.st_mode)}, owner uid {status.st_uid}; this process runs as "
            f"uid {_uid()}). Make it writable (chmod u+w {path}), or {reader}."
        )
    if not directory_writable(path):
        name = os.path.basename(path)
        return (
            f"{reason}: the directory {folder} is not writable, and SQLite writes {name}-wal "
            f"and {name}-shm there. Move the database to a writable directory, or {reader}."
        )
    return (
        f"{reason} ({path}). This process (uid {_uid()}) must be able to write {path} and "
        f"its {path}-wal and {path}-shm files; check their permissions, or {reader}."
    )


def _uid() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else "?"


def fd_exhaustion() -> str | None:
    """What to say when this process has no file descriptor left, else None.

    SQLite then reports only "unable to open database file", and the usual advice (check the
    path) sends the user the wrong way: the culprit is usually a loop that opens storages or
    studies without closing them."""
    try:
        probe = os.open(os.devnull, os.O_RDONLY)
    except OSError as exc:
        if exc.errno != errno.EMFILE:
            return None
        limit = "its limit"
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            limit = f"its limit, `ulimit -n`, is {soft}; the hard limit is {hard}"
        except (ImportError, OSError, ValueError):
            pass
        return (
            f"this process has run out of file descriptors ({limit}), so SQLite or the driver "
            "could not open the database. Reuse one storage object (pass the same SQLStorage to "
            "every create_study/load_study instead of a URL each time), close storages you are "
            "done with (storage.close()), or raise the limit (ulimit -n)."
        )
    os.close(probe)
    return None


def cannot_open_or_write(exc: BaseException) -> bool:
    """True for SQLite's "unable to open database file" and "attempt to write a readonly
    database" (and their extended codes), what it says when it cannot create a file it needs."""
    source = getattr(exc, "orig", None) or exc
    name = str(getattr(source, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
        return True
    text = str(source).lower()
    return "unable to open database file" in text or "readonly database" in text


def directory_writable(path: str) -> bool:
    """Whether this process may create files next to ``path`` (a read-only mount says no, also
    to root)."""
    return os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)


def read_only_fallback(path: str, error: BaseException, shown: str) -> bool:
    """Whether a read-only open of ``path`` that failed with ``error`` may be retried with
    ``immutable=1``.

    A database in WAL mode (tunelab's) is read through its ``-shm`` file, which SQLite creates
    next to it even for a read-only connection; in a directory this process cannot write (a
    read-only mount, a shared folder) it cannot, and the open fails. Nothing can write to the
    database there either, so reading it as immutable is safe, unless a ``-wal`` file with
    content is present: it holds the newest writes, which an immutable open would not see, and
    SQLite cannot read it without its ``-shm``. Then this raises ``StorageError`` saying so.
    False: some other failure, to be reported as it is.
    """
    if not cannot_open_or_write(error) or directory_writable(path):
        return False
    if not os.access(path, os.R_OK):
        return False  # the file itself is unreadable: say that
    wal = f"{os.path.abspath(path)}-wal"
    try:
        pending = os.path.getsize(wal)
    except OSError:
        pending = 0
    if pending > 0:
        name = os.path.basename(path)
        raise StorageError(
            f"Cannot open storage {shown} read-only: its newest writes are in {wal} "
            f"({pending} bytes), which SQLite cannot read in the read-only directory "
            f"{os.path.dirname(os.path.abspath(path))} (it must create {name}-shm there). "
            f"Copy {name} together with {name}-wal (and {name}-shm, if present) to a writable "
            "directory and open the copy, or open it where it was written."
        )
    return True


def parse_url(url: str) -> sa.engine.URL:
    try:
        return sa.engine.make_url(url)
    except Exception as exc:  # ArgumentError or ValueError, with a terse message
        raise InvalidParameterError(
            f"Storage URL {url!r} is not a database URL ({exc}). "
            "Use for example 'sqlite:///tunelab.db' or 'postgresql+psycopg://user@host/db'."
        ) from None


def missing_sqlite_file(database: str) -> str | None:
    """Why there is no SQLite database at ``database`` ("the directory ... does not exist",
    "there is no database file at ..."), or None when the file exists."""
    if os.path.exists(database):
        return None
    path = os.path.abspath(database)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return f"the directory {folder} does not exist"
    return f"there is no database file at {path}"


def make_engine(url: str, *, read_only: bool = False, **engine_kwargs: Any) -> Engine:
    parsed = parse_url(url)
    kwargs = dict(engine_kwargs)
    guard: SQLiteFile | None = None
    sqlite = parsed.get_backend_name() == "sqlite"
    in_memory = sqlite and parsed.database in (None, "", ":memory:")
    if sqlite:
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        kwargs["connect_args"].setdefault("check_same_thread", False)
        if in_memory:
            if read_only:
                raise InvalidParameterError(
                    "A read-only storage needs a database file; an in-memory SQLite database "
                    f"is empty when opened read-only. Got {url!r}."
                )
            kwargs.setdefault("poolclass", sa.pool.StaticPool)
        elif read_only:
            missing = missing_sqlite_file(parsed.database)
            if missing is not None:
                # mode=ro never creates a file; say so plainly rather than "unable to open".
                raise StorageError(
                    f"Cannot open storage {parsed.render_as_string(hide_password=True)} "
                    f"read-only: {missing}. Check the path; a read-only storage never creates one."
                )
            kwargs["creator"] = _read_only_sqlite(
                parsed.database,
                kwargs.pop("connect_args"),
                parsed.render_as_string(hide_password=True),
            )
        elif not parsed.query and "creator" not in kwargs:
            # A URL with its own query (``?uri=true``, ``?timeout=``) keeps SQLAlchemy's connect.
            guard = SQLiteFile(parsed.database, kwargs.pop("connect_args"))
            kwargs["creator"] = guard.connect
    else:
        # No pool_pre_ping: it costs a round trip per transaction; a connection found dead
        # is invalidated and the transaction retried instead (see is_transient).
        if parsed.get_backend_name() == "postgresql":
            connect_args = kwargs.setdefault("connect_args", {})
            connect_args.setdefault("connect_timeout", 10)
            if read_only:
                # Enforced by the server: any write in any transaction fails.
                # connect_args replace the URL's own ``options``; keep those (a search_path).
                given = connect_args.get("options", parsed.query.get("options", ""))
                if isinstance(given, tuple):
                    given = " ".join(given)
                connect_args["options"] = f"{given} -c default_transaction_read_only=on".strip()
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except sa.exc.NoSuchModuleError:
        raise StorageError(
            f"Unknown database driver {parsed.drivername!r} in storage URL. Use 'sqlite:///FILE' "
            "or 'postgresql+psycopg://USER@HOST/DB'."
        ) from None
    except ModuleNotFoundError as exc:
        raise StorageError(
            f"The database driver for {parsed.drivername!r} is not installed ({exc.name}). "
            "For PostgreSQL install the extra: pip install 'tunelab[postgres]'."
        ) from None
    except (sa.exc.ArgumentError, ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"Storage URL {url!r} is not usable: {first_line(exc)}."
        ) from None
    if sqlite:
        _tune_sqlite(engine, wal=not in_memory and not read_only, read_only=read_only)
        if guard is not None:
            _FILES[engine] = guard
    return engine


_FILES: weakref.WeakKeyDictionary[Engine, SQLiteFile] = weakref.WeakKeyDictionary()


def sqlite_file(engine: Engine) -> SQLiteFile | None:
    """The guard of the SQLite file a writable engine opens, if it has one."""
    return _FILES.get(engine)


class SQLiteFile:
    """The database file of a writable SQLite storage, and whether it is still at its path.

    A file deleted or moved while a study runs lost every trial silently (found by a QA pass): open
    connections go on writing into the unlinked file, and a connection opened later (with
    SQLite's default ``mode=rwc``) made a new, empty database at the old path. So once the file
    exists, connections open it with ``mode=rw``, which never creates one, and ``check`` (one
    ``os.stat``, done at the start of every write transaction) compares the file at the path
    with the one first opened, by device and inode.
    """

    def __init__(self, database: str, connect_args: dict[str, Any]) -> None:
        self.path = os.path.abspath(database)
        self._connect_args = connect_args
        self.identity: tuple[int, int] | None = None

    def _found(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        return status.st_dev, status.st_ino

    def check(self) -> None:
        """Raise ``StorageError`` if the file at the path is not the database first opened."""
        if self.identity is None:
            return
        found = self._found()
        if found != self.identity:
            raise StorageError(self._replaced(found))

    def _replaced(self, found: tuple[int, int] | None) -> str:
        now = (
            f"there is no file at {self.path} now"
            if found is None
            else f"another file is at {self.path} now"
        )
        return (
            f"The SQLite database file {self.path} was deleted, moved or replaced while this "
            f"process used it ({now}); nothing more is written, since whatever this process "
            "wrote after that would be lost. Stop the workers, put the database file back "
            "(or restore a backup, with its -wal file) and run again."
        )

    def connect(self) -> sqlite3.Connection:
        # The creator of the engine's pool: every connection, also those opened mid-run.
        self.check()
        known = self.identity is not None or os.path.exists(self.path)
        target = f"file:{quote(self.path)}?mode={'rw' if known else 'rwc'}"
        try:
            connection = sqlite3.connect(target, uri=True, **self._connect_args)
        except sqlite3.Error:
            self.check()  # vanished between the check and the open: say so, not "unable to open"
            raise
        found = self._found()
        if self.identity is None:
            self.identity = found
        elif found != self.identity:
            connection.close()
            raise StorageError(self._replaced(found))
        return connection


def _read_only_sqlite(path: str, connect_args: dict[str, Any], shown: str) -> Any:
    target = f"file:{quote(path)}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(target, uri=True, **connect_args)
        try:
            # SQLite opens the file lazily: the first read is where a WAL database in a
            # directory we cannot write fails (it cannot create the -shm file).
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            connection.close()
            if not read_only_fallback(path, exc, shown):
                raise
            return sqlite3.connect(f"{target}&immutable=1", uri=True, **connect_args)
        return connection

    return connect


def _holds_tunelab(cursor: Any) -> bool:
    found = cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tunelab_schema_version'"
    ).fetchone()
    return found is not None


def enable_wal(engine: Engine) -> None:
    """Put the SQLite database of ``engine`` into WAL mode, once tunelab's tables are in it.

    Connections switch a database to WAL only when it holds tunelab's tables (see
    ``_tune_sqlite``): opening another tool's database to look for a study must leave it as it
    was. A failure (another process holds a lock) is left for the next connection to retry.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error:
        pass
    finally:
        raw.close()


def _tune_sqlite(engine: Engine, *, wal: bool, read_only: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves: pysqlite's implicit transactions would start writes
        # as deferred, and two deferred writers deadlock instead of waiting for each other.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        elif wal:
            # WAL: readers never block the writer and the writer never blocks readers. The
            # mode is stored in the file, so a database without tunelab's tables (another
            # tool's, opened to look for a study) is left alone until a study is created.
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal" and _holds_tunelab(cursor):
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("tunelab_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def server_epoch(dialect: str) -> sa.ColumnElement[float]:
    """Seconds since the epoch by the database's clock, as an SQL expression."""
    if dialect == "sqlite":
        return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Float)
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return sa.cast(sa.func.extract("epoch", sa.func.now()), sa.Float)
