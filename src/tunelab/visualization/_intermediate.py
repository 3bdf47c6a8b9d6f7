"""Intermediate values (learning curves) reported by each trial, coloured by final state."""

from __future__ import annotations

import math
from typing import Any

from ._common import STATE_COLORS, as_study, go


def intermediate_data(study: Any) -> dict[str, Any]:
    """``{"trials": [{"number", "state", "steps", "values"}]}`` for trials that reported any."""
    rows = []
    for t in as_study(study, "plot_intermediate_values").get_trials(deepcopy=False):
        if not t.intermediate_values:
            continue
        steps = sorted(s for s, v in t.intermediate_values.items() if math.isfinite(v))
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "steps": steps,
                "values": [t.intermediate_values[s] for s in steps],
            }
        )
    return {"trials": rows}


def plot_intermediate_values(study: Any) -> Any:
    graph = go()
    fig = graph.Figure()
    for row in intermediate_data(study)["trials"]:
        fig.add_trace(
            graph.Scatter(
                x=row["steps"],
                y=row["values"],
                mode="lines+markers",
                name=f"Trial {row['number']}",
                line={"color": STATE_COLORS.get(row["state"], "#444"), "width": 1},
                marker={"size": 3},
                opacity=0.7,
                legendgroup=row["state"],
                showlegend=False,
            )
        )
    fig.update_layout(
        title="Intermediate values",
        xaxis_title="Step",
        yaxis_title="Intermediate value",
        template="plotly_white",
    )
    return fig
