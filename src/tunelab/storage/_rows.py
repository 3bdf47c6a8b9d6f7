"""Turning rows into FrozenTrials and FrozenTrials into rows (SQL backend only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .._frozen import FrozenTrial, TrialState, decode_float, encode_float
from .._space import Distribution, distribution_from_json
from . import _schema as S


def aware(moment: datetime | None) -> datetime | None:
    # SQLite drops the zone on the way back; every stored moment is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def distribution(text: str) -> Distribution:
    return distribution_from_json(text)


def load_trials(conn: Connection, selector: sa.ColumnElement[bool]) -> dict[int, FrozenTrial]:
    """Whole trials (params, values, attrs) matching ``selector`` on the trials table, by id."""
    t = S.trials
    rows = conn.execute(
        sa.select(
            t.c.trial_id,
            t.c.number,
            t.c.state,
            t.c.datetime_start,
            t.c.datetime_complete,
            t.c.fail_reason,
        ).where(selector)
    ).all()
    out: dict[int, FrozenTrial] = {}
    for row in rows:
        out[row.trial_id] = FrozenTrial(
            number=row.number,
            state=TrialState(row.state),
            datetime_start=aware(row.datetime_start),
            datetime_complete=aware(row.datetime_complete),
            fail_reason=row.fail_reason,
            trial_id=row.trial_id,
        )
    if not out:
        return out
    if len(out) <= 256:
        ids: Any = list(out)
    else:  # a long literal list costs more to send than the subquery costs to run
        ids = sa.select(t.c.trial_id).where(selector)

    # One round trip for the four detail tables: on a server, latency dominates these reads.
    p, v, i, a = S.trial_params.c, S.trial_values.c, S.trial_intermediate.c, S.trial_attrs.c
    null_text = sa.null().cast(sa.Text)
    null_int = sa.null().cast(sa.Integer)
    null_float = sa.null().cast(sa.Float(precision=53))
    details = sa.union_all(
        sa.select(
            sa.literal(0).label("tag"),
            p.trial_id,
            sa.cast(p.name, sa.Text).label("key"),
            null_int.label("num"),
            p.internal_value.label("value"),
            p.distribution_json.label("text"),
        ).where(p.trial_id.in_(ids)),
        sa.select(
            sa.literal(1), v.trial_id, null_text, v.objective, v.value, sa.cast(v.kind, sa.Text)
        ).where(v.trial_id.in_(ids)),
        sa.select(
            sa.literal(2), i.trial_id, null_text, i.step, i.value, sa.cast(i.kind, sa.Text)
        ).where(i.trial_id.in_(ids)),
        sa.select(
            sa.literal(3),
            a.trial_id,
            sa.cast(a.key, sa.Text),
            sa.case((a.is_system, 1), else_=0),
            null_float,
            a.value_json,
        ).where(a.trial_id.in_(ids)),
    )
    objective_values: dict[int, dict[int, float]] = {}
    for tag, trial_id, key, num, value, text in conn.execute(details):
        trial = out.get(trial_id)
        if trial is None:
            continue
        if tag == 0:
            dist = distribution(text)
            trial.params[key] = dist.to_external(value)
            trial.distributions[key] = dist
        elif tag == 1:
            objective_values.setdefault(trial_id, {})[num] = decode_float(value, text)
        elif tag == 2:
            trial.intermediate_values[num] = decode_float(value, text)
        else:
            (trial.system_attrs if num else trial.user_attrs)[key] = json.loads(text)
    for trial_id, by_objective in objective_values.items():
        out[trial_id].values = [by_objective[k] for k in sorted(by_objective)]
    for trial in out.values():
        if len(trial.intermediate_values) > 1:
            trial.intermediate_values = dict(sorted(trial.intermediate_values.items()))
    return out


def insert_details(conn: Connection, trial_id: int, trial: FrozenTrial) -> None:
    """Write a template's params, values, intermediate values and attributes for ``trial_id``."""
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
        conn.execute(S.trial_values.insert(), value_rows(trial_id, trial.values))
    if trial.intermediate_values:
        rows = []
        for step, v in trial.intermediate_values.items():
            stored, kind = encode_float(float(v))
            rows.append({"trial_id": trial_id, "step": int(step), "value": stored, "kind": kind})
        conn.execute(S.trial_intermediate.insert(), rows)
    attrs = [
        {"trial_id": trial_id, "is_system": system, "key": k, "value_json": json.dumps(v)}
        for system, source in ((False, trial.user_attrs), (True, trial.system_attrs))
        for k, v in source.items()
    ]
    if attrs:
        conn.execute(S.trial_attrs.insert(), attrs)


def value_rows(trial_id: int, values: list[float]) -> list[dict[str, Any]]:
    rows = []
    for i, v in enumerate(values):
        stored, kind = encode_float(float(v))
        rows.append({"trial_id": trial_id, "objective": i, "value": stored, "kind": kind})
    return rows
