"""Trials and studies as JSON-ready dicts (the API's vocabulary, documented in docs/dashboard.md).

JSON has no NaN or infinity: such floats travel as the strings "nan", "inf" and "-inf".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._constraints import is_feasible
from .._frozen import FrozenTrial, TrialState
from .._json import json_float as jfloat
from .._json import json_value as jvalue
from ..storage import StudySummary


def jtime(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def summary_json(s: StudySummary) -> dict[str, Any]:
    # best_values counts feasible trials only (as study.best_value); n_feasible lets the page
    # say "no feasible trial" rather than show a blank best, also for several objectives.
    n_complete = s.n_trials_by_state.get(TrialState.COMPLETE, 0)
    return {
        "study_id": s.study_id,
        "study_name": s.study_name,
        "directions": [d.value for d in s.directions],
        "n_trials": s.n_trials,
        "n_trials_by_state": {st.name: s.n_trials_by_state.get(st, 0) for st in TrialState},
        "best_values": None if s.best_values is None else [jfloat(v) for v in s.best_values],
        "n_feasible": n_complete - s.n_infeasible,
        "n_infeasible": s.n_infeasible,
        "datetime_start": jtime(s.datetime_start),
        "last_activity": jtime(s.last_activity),
        "user_attrs": jvalue(s.user_attrs),
    }


def trial_row(t: FrozenTrial) -> dict[str, Any]:
    """The compact form the trials table uses."""
    row = {
        "number": t.number,
        "state": t.state.name,
        "values": None if t.values is None else [jfloat(v) for v in t.values],
        "params": jvalue(t.params),
        "datetime_start": jtime(t.datetime_start),
        "datetime_complete": jtime(t.datetime_complete),
        "duration": t.duration,
        "last_step": t.last_step,
    }
    constraints = t.constraints
    # Only on trials that have constraint values: a page polls every row of a large study,
    # and an unconstrained one should not pay for two null fields per trial.
    if constraints:
        row["constraints"] = {name: jfloat(v) for name, v in constraints.items()}
        row["feasible"] = is_feasible(t)
    return row


def trial_detail(t: FrozenTrial) -> dict[str, Any]:
    row = trial_row(t)
    row.setdefault("constraints", None)
    row.setdefault("feasible", None)
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
