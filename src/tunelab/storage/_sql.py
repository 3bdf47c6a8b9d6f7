"""SQLAlchemy storage for SQLite (the embedded default) and PostgreSQL.

Every read and write is one short transaction, retried with backoff on lock and serialization
errors, so "database is locked" never reaches the user. On SQLite a write starts with
``BEGIN IMMEDIATE`` so two processes never both read "the next number is 7" before either writes;
on PostgreSQL the study row is locked (``SELECT ... FOR UPDATE``) for the same purpose.

Leases: a RUNNING trial carries ``lease_expires``, stamped by the database's clock; heartbeats
push it forward, and ``reap_stale_trials`` fails (and maybe re-queues) trials whose lease ran out.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Container, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from .._frozen import FrozenTrial, StudyDirection, TrialState, encode_float
from .._interrupts import interrupts_held
from .._space import Distribution
from .._validation import fail, is_int, is_real
from ..exceptions import DuplicatedStudyError, StorageError, StudyNotFoundError
from . import _schema as S
from ._base import (
    BaseStorage,
    StudySummary,
    _retry_limit,
)
from ._cache import StudyCache
from ._engine import (
    describe_open_error,
    describe_write_error,
    enable_wal,
    is_transient,
    make_engine,
    server_epoch,
    sqlite_file,
)
from ._migrate import check_version, create_schema, display_url, stored_version
from ._rows import aware, distribution, insert_details, load_trials, value_rows
from ._rules import (
    LOST_PREFIX,
    check_param_write,
    check_step,
    check_trial_finish,
    check_writable,
    clean_text,
    normalize_template,
    retry_within,
    summarize,
)

T = TypeVar("T")

# What a recheck (see SQLStorage._run) returns when the write it looks for did not happen.
_NOT_WRITTEN: Any = object()

_MAX_ATTEMPTS = 15
_MAX_DELAY = 2.0

# Unfinished trial ids sent per query by get_all_trials: one list of all of them made a study with
# 66,000 enqueued trials unreadable (PostgreSQL takes 65,535 bind parameters per statement).
# load_trials repeats the list in its 4 detail subqueries, so 4 x 4000 stays within PostgreSQL's
# limit and SQLite's default one (32,766).
PENDING_CHUNK = 4000

# Schema 2 on PostgreSQL stores steps as INTEGER.
_INT32 = range(-(2**31), 2**31)

# Tables of Optuna's RDB storage: a database holding them is Optuna's, which tunelab does not read.
_OPTUNA_TABLES = frozenset({"studies", "trials", "trial_params", "version_info"})

_DELETED_BY = "by delete_study or `tunelab delete`, in this or another process"


def _now() -> datetime:
    return datetime.now(UTC)


class SQLStorage(BaseStorage):
    """Storage in a relational database reached through SQLAlchemy.

    ``SQLStorage("sqlite:///tunelab.db")`` or ``SQLStorage("postgresql+psycopg://u@h/db")``.

    - ``heartbeat_interval``: seconds between lease renewals of running trials (done by a
      background thread in ``optimize``, or by :func:`tunelab.storage.keep_alive`).
    - ``grace_period``: a RUNNING trial with no renewal for this long is failed as "worker lost"
      (and re-queued if the study allows retries). ``None``: trials from this storage hold no
      lease and are never reaped (for ask/tell loops that cannot send heartbeats).
    - ``read_only``: for dashboards and reports; never takes a write lock, every write raises.
      Reads a SQLite database in a directory it cannot write too (see docs/storage.md).

    Opening creates nothing: no SQLite file, and no tunelab tables in a database that has none
    (another tool's); the first ``create_study`` does.
    - ``clock``: seconds since the epoch, for tests; by default the database's own clock.
    """

    def __init__(
        self,
        url: str,
        *,
        heartbeat_interval: float = 5.0,
        grace_period: float | None = 20.0,
        read_only: bool = False,
        clock: Callable[[], float] | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        owner = "SQLStorage"
        if not isinstance(url, str):
            raise fail("url", owner, "a database URL string", url)
        if not is_real(heartbeat_interval) or not 0 < heartbeat_interval < float("inf"):
            raise fail(
                "heartbeat_interval", owner, "a positive number of seconds", heartbeat_interval
            )
        if grace_period is not None and (
            not is_real(grace_period) or not heartbeat_interval < grace_period < float("inf")
        ):
            raise fail(
                "grace_period",
                owner,
                f"None or a number of seconds larger than heartbeat_interval={heartbeat_interval}",
                grace_period,
                "Leave several heartbeats of slack, e.g. grace_period = 4 * heartbeat_interval.",
            )
        if clock is not None and not callable(clock):
            raise fail("clock", owner, "None or a callable returning epoch seconds", clock)
        self.url = url
        self.heartbeat_interval = float(heartbeat_interval)
        self.grace_period = None if grace_period is None else float(grace_period)
        self.read_only = bool(read_only)
        self._clock = clock
        self._engine_kwargs = dict(engine_kwargs or {})
        self._engine = make_engine(url, read_only=self.read_only, **self._engine_kwargs)
        self._dialect = self._engine.dialect.name
        self._file = sqlite_file(self._engine)
        self._shown = display_url(self._engine)
        self._cache: dict[int, StudyCache] = {}
        self._cache_lock = threading.Lock()
        self._last_reap: dict[int, float] = {}
        # When (time.monotonic) a write of this object last got its lock after waiting longer
        # than heartbeat_interval: the reaper then spares expired leases (see _spare_after_stall).
        self._stalled_at: float | None = None
        # None until tunelab's tables are seen: opening a storage (load_study, a read-only
        # command) never creates them, only create_study does.
        self._schema_version: int | None = None
        self._schema_lock = threading.Lock()
        self._prepare_schema()

    def __repr__(self) -> str:
        suffix = ", read_only=True" if self.read_only else ""
        return f"SQLStorage({self._shown!r}{suffix})"

    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "read_only": self.read_only,
            "clock": self._clock,
            "engine_kwargs": self._engine_kwargs,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        url = state.pop("url")
        self.__init__(url, **state)  # type: ignore[misc]

    def close(self) -> None:
        self._engine.dispose()

    # -- plumbing ------------------------------------------------------------------------------
    def _prepare_schema(self) -> None:
        """Check the version of the tunelab tables, if any. A database without them (a new
        SQLite file, another tool's database) is left untouched until ``create_study``."""
        if self._missing_file():
            return  # connecting would create the file
        found = self._run(stored_version, write=False, opening=True)
        if found is None:
            if self.read_only:
                note = self._optuna_note()
                if note:
                    raise StorageError(f"Storage {self._shown} holds no tunelab study.{note}")
                check_version(found, self._shown)  # raises: no schema, opened read-only
            return
        self._adopt_schema(found, stacklevel=4)

    def _missing_file(self) -> bool:
        """A SQLite file not created yet, in a directory that exists (a missing directory is
        reported by the first connection, which creates nothing)."""
        database = self._engine.url.database
        if self._dialect != "sqlite" or database in (None, "", ":memory:"):
            return False
        folder = os.path.dirname(os.path.abspath(database))
        return not os.path.exists(database) and os.path.isdir(folder)

    def _has_schema(self) -> bool:
        """Whether tunelab's tables exist; until they do, looks again on each call (another
        process may create the first study)."""
        if self._schema_version is not None:
            return True
        with self._schema_lock:
            if self._schema_version is None and not self._missing_file():
                found = self._run(stored_version, write=False, opening=True)
                if found is not None:
                    self._adopt_schema(found, stacklevel=4)
        return self._schema_version is not None

    def _create_schema(self) -> None:
        if self._has_schema():
            return
        with self._schema_lock:
            try:
                self._run(create_schema, write=True, opening=True)
            except StorageError as exc:
                cause = exc.__cause__ or exc.__context__
                if not isinstance(cause, IntegrityError):
                    raise  # else another process created the schema at the same moment
            found = self._run(stored_version, write=False, opening=True)
            enable_wal(self._engine)
            self._adopt_schema(found, stacklevel=4)

    def _adopt_schema(self, found: int | None, *, stacklevel: int) -> None:
        check_version(found, self._shown)
        assert found is not None  # check_version raised otherwise
        self._schema_version = found
        if found < S.SCHEMA_VERSION:
            limit = (
                "it may give the ids of deleted studies and trials to new ones, so a worker of a "
                "deleted study could write into a new one"
                if self._dialect == "sqlite"
                else "steps of 2**31 and above are refused"
            )
            warnings.warn(
                f"Storage {self._shown} has tunelab schema version {found}; it works, but "
                f"{limit} until `tunelab storage upgrade {self._shown}` (to schema "
                f"{S.SCHEMA_VERSION}; stop the workers first).",
                stacklevel=stacklevel,
            )

    def _optuna_note(self) -> str:
        """A sentence to add to "no such study" when the database is Optuna's, else ''."""
        if self._missing_file():
            return ""

        def work(conn: Connection) -> list[str] | None:
            if not _OPTUNA_TABLES <= set(sa.inspect(conn).get_table_names()):
                return None
            rows = conn.execute(sa.text("SELECT study_name FROM studies ORDER BY study_id"))
            return [str(row[0]) for row in rows]

        try:
            names = self._run(work, write=False, opening=True)
        except StorageError:
            return ""
        if names is None:
            return ""
        listed = ", ".join(repr(name) for name in names[:5]) + ("..." if len(names) > 5 else "")
        holding = f" (Optuna studies: {listed})" if names else ""
        return (
            f" It is an Optuna database{holding}, which tunelab does not read. To bring a "
            "study over, load it with optuna.load_study and add its finished trials to a "
            "tunelab study with tunelab.create_trial and study.add_trials (the recipe is in "
            "docs/storage.md, 'Trials from an Optuna database')."
        )

    def _no_schema_error(self) -> StudyNotFoundError:
        if self._missing_file():
            path = os.path.abspath(str(self._engine.url.database))
            return StudyNotFoundError(
                f"{self!r} holds no study: there is no database file at {path} (opening a "
                "storage never creates one; create_study does). Check the path."
            )
        note = self._optuna_note()
        if note:
            return StudyNotFoundError(f"{self!r} holds no tunelab study.{note}")
        return StudyNotFoundError(
            f"{self!r} holds no tunelab study yet (it has no tunelab tables; create_study "
            "makes them)."
        )

    def _run(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        opening: bool = False,
        recheck: Callable[[Connection], Any] | None = None,
    ) -> T:
        """Run ``work`` in one transaction, retrying transient errors with jittered backoff.

        ``recheck``: for a write that must not happen twice. After a connection lost during
        COMMIT (the write may or may not have happened), each retry first runs it in the
        transaction: it returns the result of the write it finds was done, or ``_NOT_WRITTEN``.
        """
        if write and self.read_only:
            raise StorageError(
                f"{self!r} is read-only; open it with SQLStorage(url) to change studies."
            )
        if not opening and not self._has_schema():
            # No study can exist yet: its id or a trial's came from elsewhere.
            raise self._no_schema_error()
        delay = 0.005
        started = time.monotonic()
        maybe_written = False
        for attempt in range(_MAX_ATTEMPTS):
            committing = False
            try:
                # Reads need no hold: in WAL mode an abandoned reader blocks no writer.
                hold = interrupts_held() if write else contextlib.nullcontext()
                with hold, self._engine.connect() as conn:
                    if write:
                        conn.execution_options(tunelab_write=True)
                    with conn.begin():
                        if write:
                            self._note_stall(time.monotonic() - started)
                            if self._file is not None:
                                # Under the write lock: nothing is written into a deleted file.
                                self._file.check()
                        if maybe_written and recheck is not None:
                            done = recheck(conn)
                            if done is not _NOT_WRITTEN:
                                return cast(T, done)
                        result = work(conn)
                        committing = True
                    return result
            except DBAPIError as exc:
                # A server that drops the connection after COMMIT was sent may have committed;
                # a SQLite COMMIT is local and an error means it did not happen.
                maybe_written |= committing and self._dialect != "sqlite"
                retry = is_transient(exc) and attempt < _MAX_ATTEMPTS - 1
                if not retry:
                    if opening:
                        raise StorageError(
                            f"Cannot open storage {self._shown}: "
                            f"{describe_open_error(self._engine.url, exc)}"
                        ) from None
                    raise StorageError(
                        f"Storage {self._shown} failed: {self._describe_failure(exc)}"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, _MAX_DELAY)
        raise AssertionError("unreachable")

    def _describe_failure(self, exc: DBAPIError) -> str:
        return describe_write_error(self._engine.url, exc)

    def _reserve_id(self, conn: Connection, table: sa.Table) -> int | None:
        """A fresh id for a row of ``table`` (PostgreSQL; None on SQLite), so that a retry after
        a lost COMMIT can look for the row it may have inserted."""
        if self._dialect != "postgresql":
            return None
        column = table.primary_key.columns.values()[0]
        return int(
            conn.execute(
                sa.text("SELECT nextval(pg_get_serial_sequence(:table, :column))"),
                {"table": table.name, "column": column.name},
            ).scalar_one()
        )

    def _note_stall(self, waited: float) -> None:
        if waited > self.heartbeat_interval:
            self._stalled_at = time.monotonic()

    def _spare_after_stall(self, waited: float) -> bool:
        """Whether the reaper must spare expired leases now: this write waited ``waited``
        seconds for its lock, or another write of this object recently waited long.

        A writer kept waiting (by another program's lock, a long checkpoint, a stalled server)
        longer than a heartbeat interval knows every other writer was blocked as long, the
        heartbeats of live workers included; whoever gets the lock first after the holder lets
        go must not fail their trials before they had a chance to renew. (A QA pass held a
        SQLite write lock for 40 s: a live worker's 25 s trial was reaped as "worker lost" by
        another process and its result thrown away.)
        """
        self._note_stall(waited)
        at = self._stalled_at
        return at is not None and time.monotonic() - at < self.heartbeat_interval

    def _write(
        self, work: Callable[[Connection], T], *, recheck: Callable[[Connection], Any] | None = None
    ) -> T:
        return self._run(work, write=True, recheck=recheck)

    def _read(self, work: Callable[[Connection], T]) -> T:
        return self._run(work, write=False)

    def _lock_study(self, conn: Connection, study_id: int) -> None:
        query = sa.select(S.studies.c.study_id).where(S.studies.c.study_id == study_id)
        if self._dialect != "sqlite":
            query = query.with_for_update()
        if conn.execute(query).first() is None:
            raise self._study_gone(conn, study_id)

    def _given_out(self, conn: Connection, table: sa.Table, ident: int) -> bool:
        """Whether ``table`` once had a row with id ``ident``: ids are never reused (schema 3),
        so a missing row with an id at or below the highest one given out was deleted."""
        column = table.primary_key.columns.values()[0]
        if self._dialect == "sqlite" and (self._schema_version or 0) >= 3:
            top = conn.execute(
                sa.text("SELECT seq FROM sqlite_sequence WHERE name = :name"),
                {"name": table.name},
            ).scalar()
        elif self._dialect == "postgresql":
            top = conn.execute(
                sa.text(
                    "SELECT pg_sequence_last_value(pg_get_serial_sequence(:table, :column)"
                    "::regclass)"
                ),
                {"table": table.name, "column": column.name},
            ).scalar()
        else:  # schema 2 on SQLite reuses the highest ids: only those below the top are known
            top = conn.execute(sa.select(sa.func.max(column))).scalar()
        return top is not None and 0 < ident <= int(top)

    def _study_gone(self, conn: Connection, study_id: int) -> StudyNotFoundError:
        if self._given_out(conn, S.studies, study_id):
            return StudyNotFoundError(
                f"The study with id {study_id} is no longer in {self!r}: it was deleted "
                f"({_DELETED_BY})."
            )
        return StudyNotFoundError(f"No study with id {study_id} in {self!r}.")

    def _trial_gone(self, conn: Connection, trial_id: int) -> StudyNotFoundError:
        # Trials are deleted only with their study. Which study: the one this object read the
        # trial with, if any. No lock: get_all_trials may hold it around the read we are in.
        study_id = next(
            (
                sid
                for sid, cache in list(self._cache.items())
                if trial_id in cache.pending or trial_id in cache.finished_ids
            ),
            None,
        )
        if study_id is not None:
            exists = conn.execute(
                sa.select(S.studies.c.study_id).where(S.studies.c.study_id == study_id)
            ).first()
            if exists is None:
                return StudyNotFoundError(
                    f"Trial with id {trial_id} is no longer in {self!r}: its study (id "
                    f"{study_id}) was deleted ({_DELETED_BY})."
                )
        if self._given_out(conn, S.trials, trial_id):
            return StudyNotFoundError(
                f"Trial with id {trial_id} is no longer in {self!r}: its study was deleted "
                f"({_DELETED_BY})."
            )
        return StudyNotFoundError(f"No trial with id {trial_id} in {self!r}.")

    def _trial_row(self, conn: Connection, trial_id: int, *, lock: bool = False) -> Any:
        t = S.trials
        query = sa.select(t.c.study_id, t.c.number, t.c.state, t.c.fail_reason).where(
            t.c.trial_id == trial_id
        )
        if lock and self._dialect != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise self._trial_gone(conn, trial_id)
        return row

    def _check_running(self, conn: Connection, trial_id: int) -> Any:
        row = self._trial_row(conn, trial_id, lock=True)
        check_writable(
            FrozenTrial(number=row.number, state=TrialState(row.state), fail_reason=row.fail_reason)
        )
        return row

    def _db_now(self) -> sa.ColumnElement[float]:
        if self._clock is not None:
            return sa.literal(float(self._clock()), sa.Float)
        return server_epoch(self._dialect)

    def _lease(self) -> sa.ColumnElement[float] | None:
        if self.grace_period is None:
            return None
        return self._db_now() + self.grace_period

    def _check_steps_fit(self, steps: Sequence[int]) -> None:
        for step in steps:
            check_step(step)
            if (
                (self._schema_version or S.SCHEMA_VERSION) < 3
                and self._dialect == "postgresql"
                and int(step) not in _INT32
            ):
                raise StorageError(
                    f"Step {step} does not fit the INTEGER steps of {self!r} (schema version "
                    f"{self._schema_version}); run `tunelab storage upgrade {self._shown}`."
                )

    def _moment(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic()

    # -- studies -------------------------------------------------------------------------------
    def create_study(
        self,
        study_name: str,
        directions: Sequence[StudyDirection],
        *,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        attrs = [(key, json.dumps(value)) for key, value in (system_attrs or {}).items()]
        if not self.read_only:
            self._create_schema()  # the first study makes the tables

        def work(conn: Connection) -> int:
            taken = conn.execute(
                sa.select(S.studies.c.study_id).where(S.studies.c.study_name == study_name)
            ).first()
            if taken is not None:
                raise DuplicatedStudyError(
                    f"A study named {study_name!r} already exists in {self!r}. Pass "
                    "load_if_exists=True to continue it, or choose another name."
                )
            if not reserved:
                reserved.append(self._reserve_id(conn, S.studies))
            row = {
                "study_name": study_name,
                "directions": json.dumps([d.value for d in directions]),
                "created_at": _now(),
            }
            if reserved[0] is not None:
                row["study_id"] = reserved[0]
            result = conn.execute(S.studies.insert().values(**row))
            study_id = int(result.inserted_primary_key[0])
            if attrs:
                conn.execute(
                    S.study_attrs.insert(),
                    [
                        {"study_id": study_id, "is_system": True, "key": k, "value_json": v}
                        for k, v in attrs
                    ],
                )
            return study_id

        def recheck(conn: Connection) -> Any:
            # The reserved id is this call's own: a row with it is the study it created.
            if not reserved or reserved[0] is None:
                return _NOT_WRITTEN
            found = conn.execute(
                sa.select(S.studies.c.study_id).where(S.studies.c.study_id == reserved[0])
            ).scalar()
            return _NOT_WRITTEN if found is None else int(found)

        reserved: list[int | None] = []
        try:
            return self._write(work, recheck=recheck)
        except StorageError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # PostgreSQL: a concurrent creator won
                raise DuplicatedStudyError(
                    f"A study named {study_name!r} already exists in {self!r}. Pass "
                    "load_if_exists=True to continue it, or choose another name."
                ) from None
            raise

    def delete_study(self, study_id: int) -> None:
        def work(conn: Connection) -> None:
            self._lock_study(conn, study_id)
            trial_ids = sa.select(S.trials.c.trial_id).where(S.trials.c.study_id == study_id)
            for table in (S.trial_values, S.trial_params, S.trial_intermediate, S.trial_attrs):
                conn.execute(table.delete().where(table.c.trial_id.in_(trial_ids)))
            conn.execute(S.trials.delete().where(S.trials.c.study_id == study_id))
            conn.execute(S.study_attrs.delete().where(S.study_attrs.c.study_id == study_id))
            conn.execute(S.studies.delete().where(S.studies.c.study_id == study_id))

        def recheck(conn: Connection) -> Any:
            gone = conn.execute(
                sa.select(S.studies.c.study_id).where(S.studies.c.study_id == study_id)
            ).first()
            return None if gone is None else _NOT_WRITTEN

        self._write(work, recheck=recheck)
        with self._cache_lock:
            self._cache.pop(study_id, None)

    def get_study_id(self, study_name: str) -> int:
        if not self._has_schema():
            empty = str(self._no_schema_error())
            raise StudyNotFoundError(f"No study named {study_name!r}: {empty}")
        found = self._read(
            lambda conn: conn.execute(
                sa.select(S.studies.c.study_id).where(S.studies.c.study_name == study_name)
            ).scalar()
        )
        if found is None:
            note = self._optuna_note()
            raise StudyNotFoundError(
                f"No study named {study_name!r} in {self!r}."
                + (note or f" List the studies with `tunelab studies --storage {self._shown}`.")
            )
        return int(found)

    def _study_row(self, conn: Connection, study_id: int) -> Any:
        row = conn.execute(sa.select(S.studies).where(S.studies.c.study_id == study_id)).first()
        if row is None:
            raise self._study_gone(conn, study_id)
        return row

    def get_study_name(self, study_id: int) -> str:
        return str(self._read(lambda conn: self._study_row(conn, study_id)).study_name)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        row = self._read(lambda conn: self._study_row(conn, study_id))
        return [StudyDirection(d) for d in json.loads(row.directions)]

    def list_studies(self) -> list[StudySummary]:
        rows = []
        if self._has_schema():
            rows = self._read(
                lambda conn: conn.execute(sa.select(S.studies).order_by(S.studies.c.study_id)).all()
            )
        if not rows:
            note = self._optuna_note()
            if note:
                warnings.warn(f"{self!r} holds no tunelab study.{note}", stacklevel=2)
            return []
        summaries = []
        for row in rows:
            directions = [StudyDirection(d) for d in json.loads(row.directions)]
            try:
                trials = self.get_all_trials(row.study_id)
                attrs = self.get_study_attrs(row.study_id)
            except StudyNotFoundError:  # deleted meanwhile
                continue
            summaries.append(
                summarize(
                    row.study_id, row.study_name, directions, trials, aware(row.created_at), attrs
                )
            )
        return summaries

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        text = json.dumps(value)

        def work(conn: Connection) -> None:
            self._lock_study(conn, study_id)
            table = S.study_attrs
            conn.execute(
                table.delete().where(
                    (table.c.study_id == study_id)
                    & (table.c.is_system == system)
                    & (table.c.key == key)
                )
            )
            conn.execute(
                table.insert().values(study_id=study_id, is_system=system, key=key, value_json=text)
            )

        self._write(work)

    def claim_study_attr(self, study_id: int, key: str, value: Any, expected: Any = None) -> Any:
        text = json.dumps(value)

        def work(conn: Connection) -> Any:
            # The study row's lock (SQLite: the write transaction) orders racing claims: the
            # first inserts, the others read what it inserted.
            self._lock_study(conn, study_id)
            table = S.study_attrs
            held = conn.execute(
                sa.select(table.c.value_json).where(
                    (table.c.study_id == study_id)
                    & (table.c.is_system == sa.true())
                    & (table.c.key == key)
                )
            ).scalar()
            current = None if held is None else json.loads(held)
            if current is not None and (expected is None or current != expected):
                return current
            where = (
                (table.c.study_id == study_id)
                & (table.c.is_system == sa.true())
                & (table.c.key == key)
            )
            conn.execute(table.delete().where(where))
            conn.execute(
                table.insert().values(study_id=study_id, is_system=True, key=key, value_json=text)
            )
            return json.loads(text)

        return self._write(work)

    def _study_attrs(self, conn: Connection, study_id: int, system: bool) -> dict[str, Any]:
        table = S.study_attrs
        rows = conn.execute(
            sa.select(table.c.key, table.c.value_json).where(
                (table.c.study_id == study_id) & (table.c.is_system == system)
            )
        ).all()
        return {row.key: json.loads(row.value_json) for row in rows}

    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            self._study_row(conn, study_id)
            return self._study_attrs(conn, study_id, system)

        return self._read(work)

    # -- trials --------------------------------------------------------------------------------
    def _insert_trial(
        self, conn: Connection, study_id: int, base: FrozenTrial, trial_id: int | None = None
    ) -> FrozenTrial:
        """Insert ``base`` under the next number (with id ``trial_id``, if one was reserved);
        the caller holds the study lock."""
        number = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(S.trials.c.number), -1) + 1).where(
                S.trials.c.study_id == study_id
            )
        ).scalar_one()
        now = _now()
        trial = normalize_template(base)
        self._check_steps_fit(list(trial.intermediate_values))
        trial.number = int(number)
        if trial.datetime_start is None and base.state != TrialState.WAITING:
            trial.datetime_start = now
        if trial.datetime_complete is None and base.state.is_finished():
            trial.datetime_complete = now
        running = base.state == TrialState.RUNNING
        row: dict[str, Any] = {}
        if trial_id is not None:
            row["trial_id"] = trial_id
        result = conn.execute(
            S.trials.insert().values(
                study_id=study_id,
                number=trial.number,
                state=base.state.value,
                datetime_start=trial.datetime_start,
                datetime_complete=trial.datetime_complete,
                fail_reason=trial.fail_reason,
                lease_expires=self._lease() if running else None,
                **row,
            )
        )
        trial.trial_id = int(result.inserted_primary_key[0])
        insert_details(conn, trial.trial_id, trial)
        return trial

    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        base = (
            template if template is not None else FrozenTrial(number=-1, state=TrialState.RUNNING)
        )

        reserved: list[int | None] = []

        def work(conn: Connection) -> FrozenTrial:
            self._lock_study(conn, study_id)
            if not reserved:
                reserved.append(self._reserve_id(conn, S.trials))
            return self._insert_trial(conn, study_id, base, reserved[0])

        def recheck(conn: Connection) -> Any:
            # A lost COMMIT that did happen must not leave a second trial (a phantom RUNNING
            # one, never told): the reserved id is this call's own.
            if not reserved or reserved[0] is None:
                return _NOT_WRITTEN
            return load_trials(conn, S.trials.c.trial_id == reserved[0]).get(
                reserved[0], _NOT_WRITTEN
            )

        return self._write(work, recheck=recheck)

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        t = S.trials
        oldest = (
            sa.select(t.c.trial_id)
            .where((t.c.study_id == study_id) & (t.c.state == "WAITING"))
            .order_by(t.c.number)
            .limit(1)
        )
        # A plain read first: most asks find no queue, and must not take a write lock for that.
        if self._read(lambda conn: conn.execute(oldest).scalar()) is None:
            return None

        claimed: list[tuple[int, datetime]] = []

        def work(conn: Connection) -> FrozenTrial | None:
            query = (
                oldest if self._dialect == "sqlite" else oldest.with_for_update(skip_locked=True)
            )
            trial_id = conn.execute(query).scalar()
            if trial_id is None:
                return None
            started = _now()
            claimed.append((trial_id, started))
            updated = conn.execute(
                t.update()
                .where((t.c.trial_id == trial_id) & (t.c.state == "WAITING"))
                .values(state="RUNNING", datetime_start=started, lease_expires=self._lease())
            )
            if updated.rowcount != 1:
                return None
            return load_trials(conn, t.c.trial_id == trial_id)[trial_id]

        def recheck(conn: Connection) -> Any:
            # The start time, to the microsecond, tells this claim from another process's.
            if not claimed:
                return _NOT_WRITTEN
            trial_id, started = claimed[-1]
            found = load_trials(conn, t.c.trial_id == trial_id).get(trial_id)
            if found is None or found.state != TrialState.RUNNING:
                return _NOT_WRITTEN
            return found if found.datetime_start == started else _NOT_WRITTEN

        return self._write(work, recheck=recheck)

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution_: Distribution
    ) -> None:
        table = S.trial_params

        def work(conn: Connection) -> None:
            row = self._trial_row(conn, trial_id, lock=True)
            known = conn.execute(
                sa.select(table.c.distribution_json).where(
                    (table.c.trial_id == trial_id) & (table.c.name == name)
                )
            ).scalar()
            current = FrozenTrial(
                number=row.number, state=TrialState(row.state), fail_reason=row.fail_reason
            )
            if known is not None:
                current.distributions[name] = distribution(known)
            check_param_write(current, name, distribution_)
            if known is not None:
                return
            conn.execute(
                table.insert().values(
                    trial_id=trial_id,
                    name=name,
                    internal_value=float(internal_value),
                    distribution_json=distribution_.to_json(),
                )
            )

        self._write(work)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        from .._frozen import encode_float

        stored, kind = encode_float(float(value))
        self._check_steps_fit([int(step)])

        def work(conn: Connection) -> None:
            self._check_running(conn, trial_id)
            table = S.trial_intermediate
            conn.execute(
                table.delete().where((table.c.trial_id == trial_id) & (table.c.step == step))
            )
            conn.execute(
                table.insert().values(trial_id=trial_id, step=int(step), value=stored, kind=kind)
            )

        self._write(work)

    def set_trial_attr(self, trial_id: int, key: str, value: Any, *, system: bool = False) -> None:
        text = json.dumps(value)

        def work(conn: Connection) -> None:
            self._check_running(conn, trial_id)
            table = S.trial_attrs
            conn.execute(
                table.delete().where(
                    (table.c.trial_id == trial_id)
                    & (table.c.is_system == system)
                    & (table.c.key == key)
                )
            )
            conn.execute(
                table.insert().values(trial_id=trial_id, is_system=system, key=key, value_json=text)
            )

        self._write(work)

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        fail_reason: str | None = None,
    ) -> FrozenTrial:
        t = S.trials
        fail_reason = clean_text(fail_reason)

        def work(conn: Connection) -> FrozenTrial:
            row = self._trial_row(conn, trial_id, lock=True)
            current = FrozenTrial(
                number=row.number, state=TrialState(row.state), fail_reason=row.fail_reason
            )
            check_trial_finish(current, state)
            conn.execute(
                t.update()
                .where(t.c.trial_id == trial_id)
                .values(
                    state=state.value,
                    datetime_complete=_now(),
                    fail_reason=fail_reason,
                    lease_expires=None,
                )
            )
            if values is not None:
                conn.execute(S.trial_values.insert(), value_rows(trial_id, list(values)))
            return load_trials(conn, t.c.trial_id == trial_id)[trial_id]

        def recheck(conn: Connection) -> Any:
            # A finish that is already stored as it was being written is this call's own.
            found = load_trials(conn, t.c.trial_id == trial_id).get(trial_id)
            if found is None or found.state != state or found.fail_reason != fail_reason:
                return _NOT_WRITTEN
            wanted = None if values is None else [encode_float(float(v)) for v in values]
            stored = None if found.values is None else [encode_float(v) for v in found.values]
            return found if stored == wanted else _NOT_WRITTEN

        finished = self._write(work, recheck=recheck)
        self._remember_finished(finished)
        return finished

    def fail_lost_trial(
        self, study_id: int, trial_id: int, fail_reason: str
    ) -> tuple[FrozenTrial, FrozenTrial | None]:
        t = S.trials
        reason = clean_text(fail_reason)

        def work(conn: Connection) -> tuple[FrozenTrial, FrozenTrial | None]:
            self._lock_study(conn, study_id)
            row = self._trial_row(conn, trial_id, lock=True)
            current = FrozenTrial(
                number=row.number, state=TrialState(row.state), fail_reason=row.fail_reason
            )
            check_trial_finish(current, TrialState.FAIL)
            conn.execute(
                t.update()
                .where(t.c.trial_id == trial_id)
                .values(
                    state="FAIL", datetime_complete=_now(), fail_reason=reason, lease_expires=None
                )
            )
            lost = load_trials(conn, t.c.trial_id == trial_id)[trial_id]
            template = retry_within(lost, _retry_limit(self._study_attrs(conn, study_id, True)))
            return lost, None if template is None else self._insert_trial(conn, study_id, template)

        lost, retry = self._write(work)
        self._remember_finished(lost)
        return lost, retry

    def _remember_finished(self, trial: FrozenTrial) -> None:
        with self._cache_lock:
            for cache in self._cache.values():
                cache.finish(trial)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        def work(conn: Connection) -> FrozenTrial:
            found = load_trials(conn, S.trials.c.trial_id == trial_id)
            if trial_id not in found:
                raise self._trial_gone(conn, trial_id)
            return found[trial_id]

        return self._read(work)

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        t = S.trials
        with self._cache_lock:
            cache = self._cache.get(study_id)
            max_id, pending = (-1, []) if cache is None else (cache.max_id, sorted(cache.pending))

            def work(conn: Connection) -> tuple[Any, dict[int, FrozenTrial]]:
                stamp = self._study_row(conn, study_id).created_at
                if cache is not None and cache.stamp != stamp:
                    # The id was reused by a new study (schema 2 on SQLite): read it all.
                    return stamp, load_trials(conn, t.c.study_id == study_id)
                chunks = [
                    pending[at : at + PENDING_CHUNK] for at in range(0, len(pending), PENDING_CHUNK)
                ]
                # The first chunk rides with the new trials: the usual read stays one query.
                wanted = [t.c.trial_id > max_id]
                if chunks:
                    wanted[0] = wanted[0] | t.c.trial_id.in_(chunks[0])
                    wanted += [t.c.trial_id.in_(chunk) for chunk in chunks[1:]]
                fresh: dict[int, FrozenTrial] = {}
                for selector in wanted:
                    fresh.update(load_trials(conn, (t.c.study_id == study_id) & selector))
                return stamp, fresh

            stamp, fresh = self._read(work)
            if cache is None or cache.stamp != stamp:
                cache = self._cache[study_id] = StudyCache(stamp)
            unfinished = cache.absorb(fresh)
            ordered = cache.merged(unfinished)
        if states is None:
            return ordered
        return [trial for trial in ordered if trial.state in states]

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        query = (
            sa.select(sa.func.count()).select_from(S.trials).where(S.trials.c.study_id == study_id)
        )
        if states is not None:
            wanted = [s.value for s in TrialState if s in states]
            query = query.where(S.trials.c.state.in_(wanted))
        return int(self._read(lambda conn: conn.execute(query).scalar_one()))

    # -- leases --------------------------------------------------------------------------------
    def heartbeat(self, trial_id: int) -> bool:
        t = S.trials
        if self.grace_period is None:
            return super().heartbeat(trial_id)

        def work(conn: Connection) -> bool:
            updated = conn.execute(
                t.update()
                .where((t.c.trial_id == trial_id) & (t.c.state == "RUNNING"))
                .values(lease_expires=self._lease())
            )
            return updated.rowcount == 1

        return self._write(work)

    def reap_stale_trials(
        self, study_id: int, retry_failed: int | None = None
    ) -> list[FrozenTrial]:
        if retry_failed is not None and (not is_int(retry_failed) or retry_failed < 0):
            raise fail(
                "retry_failed", "reap_stale_trials", "a non-negative int or None", retry_failed
            )
        # Leases last many seconds: looking more often than every heartbeat_interval finds nothing.
        moment = self._moment()
        last = self._last_reap.get(study_id)
        if last is not None and 0 <= moment - last < min(self.heartbeat_interval, 1.0):
            return []
        self._last_reap[study_id] = moment
        t = S.trials
        expired = (
            (t.c.study_id == study_id)
            & (t.c.state == "RUNNING")
            & (t.c.lease_expires < self._db_now())
        )
        if not self._read(lambda conn: conn.execute(sa.select(t.c.trial_id).where(expired)).all()):
            return []  # the usual case: a cheap read, no write lock

        asked = time.monotonic()

        def work(conn: Connection) -> list[FrozenTrial]:
            self._lock_study(conn, study_id)  # PostgreSQL waits here, SQLite at BEGIN
            if self._spare_after_stall(time.monotonic() - asked):
                # A fresh lease, as if renewed: a worker that is really gone is reaped one
                # grace_period later, a live one renews meanwhile.
                conn.execute(t.update().where(expired).values(lease_expires=self._lease()))
                return []
            limit = retry_failed
            if limit is None:
                limit = _retry_limit(self._study_attrs(conn, study_id, True))
            ids = [row.trial_id for row in conn.execute(sa.select(t.c.trial_id).where(expired))]
            reaped = []
            for trial_id in ids:
                # Conditional on the state: of two reapers, only the first one matches the row.
                updated = conn.execute(
                    t.update()
                    .where((t.c.trial_id == trial_id) & (t.c.state == "RUNNING"))
                    .values(
                        state="FAIL",
                        datetime_complete=_now(),
                        fail_reason=f"{LOST_PREFIX}: its lease expired with no heartbeat",
                        lease_expires=None,
                    )
                )
                if updated.rowcount != 1:
                    continue
                lost = load_trials(conn, t.c.trial_id == trial_id)[trial_id]
                template = retry_within(lost, limit)
                if template is not None:
                    retry = self._insert_trial(conn, study_id, template)
                    lost.fail_reason += f"; re-queued as trial {retry.number}"
                    conn.execute(
                        t.update()
                        .where(t.c.trial_id == trial_id)
                        .values(fail_reason=lost.fail_reason)
                    )
                reaped.append(lost)
            return reaped

        reaped = self._write(work)
        for trial in reaped:
            self._remember_finished(trial)
        return reaped
