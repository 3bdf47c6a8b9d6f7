"""Optimization history: each completed trial's value and the best so far, for one or more studies."""

from __future__ import annotations

from typing import Any

from ._common import Target, as_studies, go, minimizing, resolve_target, scored


def history_data(study: Any, target: Target | None = None) -> dict[str, Any]:
    """``{"studies": [{"name", "numbers", "values", "best"}]}``; ``best`` is the running
    best (None when a custom target has no direction)."""
    out = []
    for s in as_studies(study, "plot_optimization_history"):
        rows = scored(s, resolve_target(s, target, "plot_optimization_history"))
        values = [y for _, y in rows]
        best: list[float] | None = None
        direction = minimizing(s, target)
        if direction is not None:
            best, current = [], None
            for y in values:
                if current is None or (y < current if direction else y > current):
                    current = y
                best.append(current)
        out.append(
            {
                "name": s.study_name,
                "numbers": [t.number for t, _ in rows],
                "values": values,
                "best": best,
            }
        )
    return {"studies": out}


def plot_optimization_history(
    study: Any, target: Target | None = None, target_name: str = "Objective value"
) -> Any:
    data = history_data(study, target)
    graph = go()
    fig = graph.Figure()
    several = len(data["studies"]) > 1
    for s in data["studies"]:
        prefix = f"{s['name']}: " if several else ""
        fig.add_trace(
            graph.Scattergl(
                x=s["numbers"],
                y=s["values"],
                mode="markers",
                name=prefix + target_name,
                marker={"size": 5},
            )
        )
        if s["best"] is not None:
            fig.add_trace(
                graph.Scatter(
                    x=s["numbers"],
                    y=s["best"],
                    mode="lines",
                    name=prefix + "Best so far",
                    line={"shape": "hv"},
                )
            )
    fig.update_layout(
        title="Optimization history",
        xaxis_title="Trial",
        yaxis_title=target_name,
        template="plotly_white",
    )
    return fig
