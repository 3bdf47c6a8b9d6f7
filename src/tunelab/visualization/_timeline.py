"""Timeline: when each trial ran and how it ended."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ._common import STATE_COLORS, as_study, go


def timeline_data(study: Any, now: datetime | None = None) -> dict[str, Any]:
    """``{"trials": [{"number", "state", "start", "end", "duration"}]}`` for started trials;
    a running trial ends at ``now`` (times are datetimes, durations seconds)."""
    now = now or datetime.now(UTC)
    rows = []
    for t in as_study(study, "plot_timeline").get_trials(deepcopy=False):
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


def plot_timeline(study: Any) -> Any:
    rows = timeline_data(study)["trials"]
    graph = go()
    fig = graph.Figure()
    for state, color in STATE_COLORS.items():
        chosen = [r for r in rows if r["state"] == state]
        if not chosen:
            continue
        fig.add_trace(
            graph.Bar(
                base=[r["start"].isoformat() for r in chosen],
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
        xaxis={"type": "date", "title": {"text": "Time"}},
        yaxis_title="Trial",
        barmode="overlay",
        template="plotly_white",
    )
    return fig
