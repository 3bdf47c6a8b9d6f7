"""A study as HTML for notebooks: who it is, how its trials went, and the best result."""

from __future__ import annotations

import html
from typing import Any

from .._constraints import is_feasible
from .._frozen import TrialState
from ._common import as_study


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def study_html(study: Any, max_params: int = 12) -> str:
    """A compact, self-contained HTML summary (no scripts), for ``Study._repr_html_``."""
    s = as_study(study, "study_html")
    trials = s.get_trials(deepcopy=False)
    counts = {state: 0 for state in TrialState}
    for t in trials:
        counts[t.state] += 1
    esc = html.escape
    directions = ", ".join(d.value for d in s.directions)
    rows = [
        ("Directions", directions),
        ("Trials", " · ".join(f"{n} {st.name.lower()}" for st, n in counts.items() if n) or "none"),
    ]
    judged = [t for t in trials if t.state == TrialState.COMPLETE and t.constraints]
    if judged:
        # The best below is the best feasible trial; without this row a study whose trials
        # all break a constraint would just show no best, and no reason.
        n_ok = sum(is_feasible(t) for t in judged)
        rows.append(
            (
                "Feasible",
                f"{n_ok} of {len(judged)} completed trials"
                + ("" if n_ok else " (no best until one satisfies the constraints)"),
            )
        )
    best = s.best_trials if counts[TrialState.COMPLETE] else []
    if len(s.directions) == 1 and best:
        b = s.best_trial
        rows.append(("Best value", f"{_fmt(b.values[0])} (trial {b.number})"))  # type: ignore[index]
        params = list(b.params.items())
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in params[:max_params])
        if len(params) > max_params:
            shown += f", … ({len(params) - max_params} more)"
        rows.append(("Best params", shown or "—"))
    elif best:
        rows.append(("Pareto front", f"{len(best)} trials"))
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{esc(k)}</th><td>{esc(v)}</td></tr>"
        for k, v in rows
    )
    return (
        "<div class='tunelab-study'>"
        f"<strong>Study {esc(s.study_name)}</strong>"
        f"<table>{body}</table></div>"
    )
