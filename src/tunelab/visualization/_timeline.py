"""Timeline: when each trial ran and how it ended."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .._validation import positive_int_or_none
from ._common import STATE_COLORS, as_study, go


def timeline_data(
    study: Any, now: datetime | None = None, n_recent_trials: int | None = None
) -> dict[str, Any]:
    """``{"trials": [{"number", "state", "start", "end", "duration"}]}`` for started trials;
    a running trial ends at ``now`` (times are datetimes, durations seconds).

    ``n_recent_trials=N`` keeps the last N trials by number, as Optuna does (those of them
    still waiting have not started, so they have no row)."""
    owner = "plot_timeline"
    s = as_study(study, owner)
    n_recent_trials = positive_int_or_none(n_recent_trials, "n_recent_trials", owner)
    now = now or datetime.now(UTC)
    trials = s.get_trials(deepcopy=False)
    if n_recent_trials is not None:
        trials = trials[-n_recent_trials:]
    rows = []
    for t in trials:
        if t.datetime_start is None:
            continue
        end = t.datetime_complete
        if end is None:
            end = now
            # Storages differ in whether they keep the zone: compare like with like.
            if (end.tzinfo is None) != (t.datetime_start.tzinfo is None):
                end = end.replace(tzinfo=t.datetime_start.tzinfo)
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "start": t.datetime_start,
                "end": end,
                "duration": (end - t.datetime_start).total_seconds(),
            }
        )
    return {"trials": rows}


def _utc_text(moment: datetime) -> str:
    """``moment`` in UTC as plotly.js reads a date: it has no time zones and drops an offset
    (10:00+09:00 would be drawn at 10:00), so the time is sent in UTC, and the axis says so.
    A naive moment is local time, as the storages read it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def plot_timeline(study: Any, n_recent_trials: int | None = None) -> Any:
    """Bars from each trial's start to its end, in UTC (the axis title says "Time (UTC)"; the
    dashboard redraws them in the browser's time zone). ``n_recent_trials=N`` draws the last
    N trials only."""
    rows = timeline_data(study, n_recent_trials=n_recent_trials)["trials"]
    graph = go()
    fig = graph.Figure()
    for state, color in STATE_COLORS.items():
        chosen = [r for r in rows if r["state"] == state]
        if not chosen:
            continue
        fig.add_trace(
            graph.Bar(
                base=[_utc_text(r["start"]) for r in chosen],
                x=[max(r["duration"], 1e-3) * 1000 for r in chosen],
                y=[r["number"] for r in chosen],
                orientation="h",
                name=state,
                marker={"color": color},
                hovertemplate="Trial %{y}: %{x:.0f} ms<extra>" + state + "</extra>",
            )
        )
    fig.update_layout(
        title="Timeline",
        xaxis={"type": "date", "title": {"text": "Time (UTC)"}},
        yaxis_title="Trial",
        barmode="overlay",
        template="plotly_white",
    )
    return fig
