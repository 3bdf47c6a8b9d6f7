"""Trials and studies as JSON-ready dicts (the API's vocabulary, documented in docs/dashboard.md).

JSON has no NaN or infinity: such floats travel as the strings "nan", "inf" and "-inf".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._frozen import FrozenTrial, TrialState
from .._json import json_float as jfloat
from .._json import json_value as jvalue
from ..storage import StudySummary


def jtime(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def summary_json(s: StudySummary) -> dict[str, Any]:
    return {
        "study_id": s.study_id,
        "study_name": s.study_name,
        "directions": [d.value for d in s.directions],
        "n_trials": s.n_trials,
        "n_trials_by_state": {st.name: s.n_trials_by_state.get(st, 0) for st in TrialState},
        "best_values": None if s.best_values is None else [jfloat(v) for v in s.best_values],
        "datetime_start": jtime(s.datetime_start),
        "last_activity": jtime(s.last_activity),
        "user_attrs": jvalue(s.user_attrs),
    }


def trial_row(t: FrozenTrial) -> dict[str, Any]:
    """The compact form the trials table uses."""
    return {
        "number": t.number,
        "state": t.state.name,
        "values": None if t.values is None else [jfloat(v) for v in t.values],
        "params": jvalue(t.params),
        "datetime_start": jtime(t.datetime_start),
        "datetime_complete": jtime(t.datetime_complete),
        "duration": t.duration,
        "last_step": t.last_step,
    }


def trial_detail(t: FrozenTrial) -> dict[str, Any]:
    row = trial_row(t)
    row.update(
        trial_id=t.trial_id,
        distributions={k: jvalue(d.to_dict()) for k, d in t.distributions.items()},
        intermediate_values={
            "steps": sorted(t.intermediate_values),
            "values": [jfloat(t.intermediate_values[s]) for s in sorted(t.intermediate_values)],
        },
        user_attrs=jvalue(t.user_attrs),
        system_attrs=jvalue(t.system_attrs),
        fail_reason=t.fail_reason,
    )
    return row
