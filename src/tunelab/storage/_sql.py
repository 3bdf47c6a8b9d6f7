"""SQLAlchemy storage for SQLite (the embedded default) and PostgreSQL.

Writes run in one short transaction each. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so two processes never both read "the next number is 7" before either writes;
lock errors are retried with backoff. Finished trials are immutable, so each storage object keeps
them in a cache and later reads fetch only trials that are new or were still unfinished.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from .._frozen import FrozenTrial, StudyDirection, TrialState, decode_float, encode_float
from .._space import Distribution, distribution_from_json
from ..exceptions import (
    DuplicatedStudyError,
    InvalidParameterError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
)
from . import _schema as S
from ._base import BaseStorage, StudySummary
from ._rules import check_param_write, check_trial_finish, check_writable, summarize

T = TypeVar("T")

_MAX_ATTEMPTS = 12


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite drops the zone on the way back; every stored moment is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def _distribution(text: str) -> Distribution:
    return distribution_from_json(text)


def _is_transient(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(
        word in text
        for word in (
            "database is locked",
            "database table is locked",
            "busy",
            "deadlock",
            "could not serialize",
            "lock timeout",
        )
    )


@dataclass
class _StudyCache:
    finished: dict[int, FrozenTrial] = field(default_factory=dict)  # trial_id -> trial
    read_from_id: int = 0  # every trial with a smaller id is finished and cached


def make_engine(url: str, **engine_kwargs: Any) -> Engine:
    try:
        parsed = sa.engine.make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise InvalidParameterError(
            f"Storage URL {url!r} is not a database URL ({exc}). "
            "Use for example 'sqlite:///tunelab.db' or 'postgresql+psycopg://user@host/db'."
        ) from None
    kwargs = dict(engine_kwargs)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", 60)
        kwargs["connect_args"].setdefault("check_same_thread", False)
        if parsed.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", sa.pool.StaticPool)
    else:
        kwargs.setdefault("pool_pre_ping", True)
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
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves: pysqlite's implicit transactions would start writes
        # as deferred, and two deferred writers deadlock instead of waiting for each other.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("tunelab_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class SQLStorage(BaseStorage):
    """Storage in a relational database reached through SQLAlchemy.

    ``SQLStorage("sqlite:///tunelab.db")`` or ``SQLStorage("postgresql+psycopg://u@h/db")``.
    """

    def __init__(self, url: str, *, engine_kwargs: dict[str, Any] | None = None) -> None:
        if not isinstance(url, str):
            raise InvalidParameterError(
                f"The 'url' parameter of SQLStorage must be a database URL string. Got {url!r} instead."
            )
        self.url = url
        self._engine = make_engine(url, **(engine_kwargs or {}))
        self._is_sqlite = self._engine.dialect.name == "sqlite"
        self._cache: dict[int, _StudyCache] = {}
        self._cache_lock = threading.Lock()
        self._prepare_schema()

    def __repr__(self) -> str:
        return f"SQLStorage({self._engine.url.render_as_string(hide_password=True)!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    def close(self) -> None:
        self._engine.dispose()

    # -- plumbing ------------------------------------------------------------------------------
    def _prepare_schema(self) -> None:
        try:
            with self._engine.connect() as conn:
                has_version = sa.inspect(conn).has_table(S.schema_version.name)
        except OperationalError as exc:
            raise StorageError(
                f"Cannot open storage {self!r}: {str(exc.orig).strip()}. "
                "Check that the server is running and the URL is right."
            ) from None
        if has_version:
            self._check_version()
            return

        def create(conn: Connection) -> None:
            S.metadata.create_all(conn, checkfirst=True)
            if conn.execute(sa.select(S.schema_version.c.version)).first() is None:
                conn.execute(
                    S.schema_version.insert().values(version=S.SCHEMA_VERSION, created_at=_now())
                )

        try:
            self._write(create)
        except IntegrityError:
            pass  # another process created the schema at the same moment
        self._check_version()

    def _check_version(self) -> None:
        with self._engine.connect() as conn:
            found = conn.execute(sa.select(sa.func.max(S.schema_version.c.version))).scalar()
        if found != S.SCHEMA_VERSION:
            raise SchemaVersionError(
                f"Storage {self!r} has tunelab schema version {found}, this tunelab uses "
                f"{S.SCHEMA_VERSION}. Run `tunelab storage upgrade {self.url}` to migrate it."
            )

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying transient lock errors with backoff."""
        delay = 0.01
        for attempt in range(_MAX_ATTEMPTS):
            try:
                with self._engine.connect().execution_options(tunelab_write=True) as conn:
                    with conn.begin():
                        return work(conn)
            except OperationalError as exc:
                if not _is_transient(exc) or attempt == _MAX_ATTEMPTS - 1:
                    raise StorageError(
                        f"Write to {self!r} failed: {str(exc.orig).strip()}"
                    ) from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            with conn.begin():
                yield conn

    def _lock_study(self, conn: Connection, study_id: int) -> None:
        query = sa.select(S.studies.c.study_id).where(S.studies.c.study_id == study_id)
        if not self._is_sqlite:
            query = query.with_for_update()
        if conn.execute(query).first() is None:
            raise StudyNotFoundError(f"No study with id {study_id} in {self!r}.")

    # -- studies -------------------------------------------------------------------------------
    def create_study(self, study_name: str, directions: Sequence[StudyDirection]) -> int:
        def work(conn: Connection) -> int:
            result = conn.execute(
                S.studies.insert().values(
                    study_name=study_name,
                    directions=json.dumps([d.value for d in directions]),
                    created_at=_now(),
                )
            )
            return int(result.inserted_primary_key[0])

        try:
            return self._write(work)
        except IntegrityError:
            raise DuplicatedStudyError(
                f"A study named {study_name!r} already exists in {self!r}. Pass "
                "load_if_exists=True to continue it, or choose another name."
            ) from None

    def delete_study(self, study_id: int) -> None:
        def work(conn: Connection) -> None:
            self._lock_study(conn, study_id)
            trial_ids = sa.select(S.trials.c.trial_id).where(S.trials.c.study_id == study_id)
            for table in (S.trial_values, S.trial_params, S.trial_intermediate, S.trial_attrs):
                conn.execute(table.delete().where(table.c.trial_id.in_(trial_ids)))
            conn.execute(S.trials.delete().where(S.trials.c.study_id == study_id))
            conn.execute(S.study_attrs.delete().where(S.study_attrs.c.study_id == study_id))
            conn.execute(S.studies.delete().where(S.studies.c.study_id == study_id))

        self._write(work)
        with self._cache_lock:
            self._cache.pop(study_id, None)

    def get_study_id(self, study_name: str) -> int:
        with self._read() as conn:
            found = conn.execute(
                sa.select(S.studies.c.study_id).where(S.studies.c.study_name == study_name)
            ).scalar()
        if found is None:
            raise StudyNotFoundError(
                f"No study named {study_name!r} in {self!r}. "
                f"List the studies with `tunelab studies --storage {self.url}`."
            )
        return int(found)

    def _study_row(self, conn: Connection, study_id: int) -> Any:
        row = conn.execute(sa.select(S.studies).where(S.studies.c.study_id == study_id)).first()
        if row is None:
            raise StudyNotFoundError(f"No study with id {study_id} in {self!r}.")
        return row

    def get_study_name(self, study_id: int) -> str:
        with self._read() as conn:
            return str(self._study_row(conn, study_id).study_name)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        with self._read() as conn:
            row = self._study_row(conn, study_id)
        return [StudyDirection(d) for d in json.loads(row.directions)]

    def list_studies(self) -> list[StudySummary]:
        with self._read() as conn:
            rows = conn.execute(sa.select(S.studies).order_by(S.studies.c.study_id)).all()
        summaries = []
        for row in rows:
            directions = [StudyDirection(d) for d in json.loads(row.directions)]
            trials = self.get_all_trials(row.study_id)
            attrs = self.get_study_attrs(row.study_id)
            summaries.append(
                summarize(
                    row.study_id, row.study_name, directions, trials, _aware(row.created_at), attrs
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

    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]:
        table = S.study_attrs
        with self._read() as conn:
            self._study_row(conn, study_id)
            rows = conn.execute(
                sa.select(table.c.key, table.c.value_json).where(
                    (table.c.study_id == study_id) & (table.c.is_system == system)
                )
            ).all()
        return {row.key: json.loads(row.value_json) for row in rows}

    # -- trials --------------------------------------------------------------------------------
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        base = (
            template if template is not None else FrozenTrial(number=-1, state=TrialState.RUNNING)
        )
        now = _now()
        start = base.datetime_start or (now if base.state != TrialState.WAITING else None)
        complete = base.datetime_complete or (now if base.state.is_finished() else None)

        def work(conn: Connection) -> int:
            self._lock_study(conn, study_id)
            number = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(S.trials.c.number), -1) + 1).where(
                    S.trials.c.study_id == study_id
                )
            ).scalar_one()
            result = conn.execute(
                S.trials.insert().values(
                    study_id=study_id,
                    number=number,
                    state=base.state.value,
                    datetime_start=start,
                    datetime_complete=complete,
                    fail_reason=base.fail_reason,
                    heartbeat=now if base.state == TrialState.RUNNING else None,
                )
            )
            trial_id = int(result.inserted_primary_key[0])
            self._insert_details(conn, trial_id, base)
            return trial_id

        trial_id = self._write(work)
        return self.get_trial(trial_id)

    def _insert_details(self, conn: Connection, trial_id: int, trial: FrozenTrial) -> None:
        if trial.params:
            conn.execute(
                S.trial_params.insert(),
                [
                    {
                        "trial_id": trial_id,
                        "name": name,
                        "internal_value": trial.distributions[name].to_internal(value),
                        "distribution_json": trial.distributions[name].to_json(),
                    }
                    for name, value in trial.params.items()
                ],
            )
        if trial.values is not None:
            rows = []
            for i, v in enumerate(trial.values):
                stored, kind = encode_float(v)
                rows.append({"trial_id": trial_id, "objective": i, "value": stored, "kind": kind})
            conn.execute(S.trial_values.insert(), rows)
        if trial.intermediate_values:
            rows = []
            for step, v in trial.intermediate_values.items():
                stored, kind = encode_float(v)
                rows.append({"trial_id": trial_id, "step": step, "value": stored, "kind": kind})
            conn.execute(S.trial_intermediate.insert(), rows)
        attrs = [
            {"trial_id": trial_id, "is_system": system, "key": k, "value_json": json.dumps(v)}
            for system, source in ((False, trial.user_attrs), (True, trial.system_attrs))
            for k, v in source.items()
        ]
        if attrs:
            conn.execute(S.trial_attrs.insert(), attrs)

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        def work(conn: Connection) -> int | None:
            query = (
                sa.select(S.trials.c.trial_id)
                .where((S.trials.c.study_id == study_id) & (S.trials.c.state == "WAITING"))
                .order_by(S.trials.c.number)
                .limit(1)
            )
            if not self._is_sqlite:
                query = query.with_for_update(skip_locked=True)
            trial_id = conn.execute(query).scalar()
            if trial_id is None:
                return None
            now = _now()
            updated = conn.execute(
                S.trials.update()
                .where((S.trials.c.trial_id == trial_id) & (S.trials.c.state == "WAITING"))
                .values(state="RUNNING", datetime_start=now, heartbeat=now)
            )
            return int(trial_id) if updated.rowcount == 1 else None

        trial_id = self._write(work)
        return None if trial_id is None else self.get_trial(trial_id)

    def _trial_for_write(self, conn: Connection, trial_id: int) -> FrozenTrial:
        trial = self._load_trials(conn, [trial_id]).get(trial_id)
        if trial is None:
            raise StudyNotFoundError(f"No trial with id {trial_id} in {self!r}.")
        return trial

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: Distribution
    ) -> None:
        def work(conn: Connection) -> None:
            trial = self._trial_for_write(conn, trial_id)
            check_param_write(trial, name, distribution)
            if name in trial.params:
                return
            conn.execute(
                S.trial_params.insert().values(
                    trial_id=trial_id,
                    name=name,
                    internal_value=float(internal_value),
                    distribution_json=distribution.to_json(),
                )
            )

        self._write(work)

    def _assert_running(self, conn: Connection, trial_id: int) -> None:
        row = conn.execute(
            sa.select(S.trials.c.state, S.trials.c.number).where(S.trials.c.trial_id == trial_id)
        ).first()
        if row is None:
            raise StudyNotFoundError(f"No trial with id {trial_id} in {self!r}.")
        check_writable(FrozenTrial(number=row.number, state=TrialState(row.state)))

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        stored, kind = encode_float(float(value))

        def work(conn: Connection) -> None:
            self._assert_running(conn, trial_id)
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
            self._assert_running(conn, trial_id)
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
        def work(conn: Connection) -> None:
            row = conn.execute(
                sa.select(S.trials.c.state, S.trials.c.number, S.trials.c.fail_reason).where(
                    S.trials.c.trial_id == trial_id
                )
            ).first()
            if row is None:
                raise StudyNotFoundError(f"No trial with id {trial_id} in {self!r}.")
            current = FrozenTrial(
                number=row.number, state=TrialState(row.state), fail_reason=row.fail_reason
            )
            check_trial_finish(current, state)
            updated = conn.execute(
                S.trials.update()
                .where((S.trials.c.trial_id == trial_id) & (S.trials.c.state == "RUNNING"))
                .values(state=state.value, datetime_complete=_now(), fail_reason=fail_reason)
            )
            if updated.rowcount != 1:
                raise StorageError(f"Trial {row.number} changed state while being finished; retry.")
            if values is not None:
                rows = []
                for i, v in enumerate(values):
                    stored, kind = encode_float(float(v))
                    rows.append(
                        {"trial_id": trial_id, "objective": i, "value": stored, "kind": kind}
                    )
                conn.execute(S.trial_values.insert(), rows)

        self._write(work)
        return self.get_trial(trial_id)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._read() as conn:
            return self._trial_for_write(conn, trial_id)

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._cache_lock:
            cache = self._cache.setdefault(study_id, _StudyCache())
            with self._read() as conn:
                self._study_row(conn, study_id)
                fresh = self._load_trials(conn, None, study_id=study_id, from_id=cache.read_from_id)
            unfinished_ids = []
            for trial_id, trial in fresh.items():
                if trial.state.is_finished():
                    cache.finished[trial_id] = trial
                else:
                    unfinished_ids.append(trial_id)
            if fresh:
                cache.read_from_id = min(unfinished_ids) if unfinished_ids else max(fresh) + 1
            merged = dict(cache.finished)
        for trial_id, trial in fresh.items():
            merged[trial_id] = trial
        ordered = sorted(merged.values(), key=lambda t: t.number)
        if states is None:
            return ordered
        return [t for t in ordered if t.state in states]

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        query = (
            sa.select(sa.func.count()).select_from(S.trials).where(S.trials.c.study_id == study_id)
        )
        if states is not None:
            wanted = [s.value for s in TrialState if s in states]
            query = query.where(S.trials.c.state.in_(wanted))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def _load_trials(
        self,
        conn: Connection,
        trial_ids: list[int] | None,
        *,
        study_id: int | None = None,
        from_id: int = 0,
    ) -> dict[int, FrozenTrial]:
        """Load whole trials either by id or every trial of a study from ``from_id`` on."""
        t = S.trials
        if trial_ids is not None:
            selector = t.c.trial_id.in_(trial_ids)
        else:
            selector = (t.c.study_id == study_id) & (t.c.trial_id >= from_id)
        rows = conn.execute(sa.select(t).where(selector).order_by(t.c.trial_id)).all()
        out: dict[int, FrozenTrial] = {}
        for row in rows:
            out[row.trial_id] = FrozenTrial(
                number=row.number,
                state=TrialState(row.state),
                datetime_start=_aware(row.datetime_start),
                datetime_complete=_aware(row.datetime_complete),
                fail_reason=row.fail_reason,
                trial_id=row.trial_id,
            )
        if not out:
            return out
        ids = sa.select(t.c.trial_id).where(selector)

        for row in conn.execute(
            sa.select(S.trial_params).where(S.trial_params.c.trial_id.in_(ids))
        ):
            trial = out.get(row.trial_id)
            if trial is None:
                continue
            dist = _distribution(row.distribution_json)
            trial.params[row.name] = dist.to_external(row.internal_value)
            trial.distributions[row.name] = dist
        value_rows = conn.execute(
            sa.select(S.trial_values)
            .where(S.trial_values.c.trial_id.in_(ids))
            .order_by(S.trial_values.c.trial_id, S.trial_values.c.objective)
        )
        for row in value_rows:
            trial = out.get(row.trial_id)
            if trial is None:
                continue
            if trial.values is None:
                trial.values = []
            trial.values.append(decode_float(row.value, row.kind))
        for row in conn.execute(
            sa.select(S.trial_intermediate).where(S.trial_intermediate.c.trial_id.in_(ids))
        ):
            trial = out.get(row.trial_id)
            if trial is not None:
                trial.intermediate_values[row.step] = decode_float(row.value, row.kind)
        for row in conn.execute(sa.select(S.trial_attrs).where(S.trial_attrs.c.trial_id.in_(ids))):
            trial = out.get(row.trial_id)
            if trial is not None:
                target = trial.system_attrs if row.is_system else trial.user_attrs
                target[row.key] = json.loads(row.value_json)
        for trial in out.values():
            trial.intermediate_values = dict(sorted(trial.intermediate_values.items()))
        return out
