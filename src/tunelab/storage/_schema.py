"""Table definitions. Every table carries the ``tunelab_`` prefix so a database shared with other
tools (Optuna, Alembic, an application's own tables) never sees a name collision."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Bump with a migration in ``_migrate.py``; the table keeps one row per version ever applied.
# Version 3: SQLite never reuses study and trial ids (AUTOINCREMENT), steps are 64-bit.
SCHEMA_VERSION = 3

metadata = MetaData()

schema_version = Table(
    "tunelab_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

studies = Table(
    "tunelab_studies",
    metadata,
    Column("study_id", Integer, primary_key=True),
    Column("study_name", String(512), nullable=False, unique=True),
    Column("directions", Text, nullable=False),  # JSON list of "minimize"/"maximize"
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Without AUTOINCREMENT SQLite hands the id of a deleted study to the next one, and a stale
    # worker of the deleted study would write into it.
    sqlite_autoincrement=True,
)

study_attrs = Table(
    "tunelab_study_attrs",
    metadata,
    Column(
        "study_id",
        Integer,
        ForeignKey("tunelab_studies.study_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("is_system", Boolean, primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("value_json", Text, nullable=False),
)

trials = Table(
    "tunelab_trials",
    metadata,
    Column("trial_id", Integer, primary_key=True),
    Column(
        "study_id",
        Integer,
        ForeignKey("tunelab_studies.study_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("datetime_start", DateTime(timezone=True)),
    Column("datetime_complete", DateTime(timezone=True)),
    Column("fail_reason", Text),
    Column("heartbeat", DateTime(timezone=True)),
    # Version 2: seconds since the epoch, by the database's clock, after which a RUNNING trial
    # counts as lost. NULL: no lease (never reaped).
    Column("lease_expires", Float(precision=53)),
    UniqueConstraint("study_id", "number", name="tunelab_trials_study_number"),
    Index("tunelab_trials_study_state", "study_id", "state"),
    # A trial id reused after a delete would take the writes of the deleted trial's worker.
    sqlite_autoincrement=True,
)


def _trial_fk() -> Column:
    return Column(
        "trial_id",
        Integer,
        ForeignKey("tunelab_trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    )


trial_values = Table(
    "tunelab_trial_values",
    metadata,
    _trial_fk(),
    Column("objective", Integer, primary_key=True, autoincrement=False),
    Column("value", Float(precision=53)),
    Column("kind", String(8), nullable=False),
)

trial_params = Table(
    "tunelab_trial_params",
    metadata,
    _trial_fk(),
    Column("name", String(512), primary_key=True),
    Column("internal_value", Float(precision=53), nullable=False),
    Column("distribution_json", Text, nullable=False),
)

trial_intermediate = Table(
    "tunelab_trial_intermediate_values",
    metadata,
    _trial_fk(),
    # SQLite's INTEGER already holds 64 bits; keeping its name there leaves the DDL of older
    # SQLite databases identical, so they need no rebuild of this table.
    Column(
        "step",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("value", Float(precision=53)),
    Column("kind", String(8), nullable=False),
)

trial_attrs = Table(
    "tunelab_trial_attrs",
    metadata,
    _trial_fk(),
    Column("is_system", Boolean, primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("value_json", Text, nullable=False),
)
