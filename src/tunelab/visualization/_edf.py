"""Empirical distribution function of the objective: how often a study reaches a value."""

from __future__ import annotations

from typing import Any

from ._common import Target, as_studies, go, resolve_target, scored


def edf_data(study: Any, target: Target | None = None) -> dict[str, Any]:
    """``{"studies": [{"name", "x", "y"}]}``: sorted values and the share of trials <= each."""
    out = []
    for s in as_studies(study, "plot_edf"):
        values = sorted(y for _, y in scored(s, resolve_target(s, target, "plot_edf")))
        n = len(values)
        out.append({"name": s.study_name, "x": values, "y": [(i + 1) / n for i in range(n)]})
    return {"studies": out}


def plot_edf(study: Any, target: Target | None = None, target_name: str = "Objective value") -> Any:
    graph = go()
    fig = graph.Figure()
    for s in edf_data(study, target)["studies"]:
        fig.add_trace(
            graph.Scatter(x=s["x"], y=s["y"], mode="lines", name=s["name"], line={"shape": "hv"})
        )
    fig.update_layout(
        title="Empirical distribution of the objective",
        xaxis_title=target_name,
        yaxis_title="Share of trials",
        yaxis_range=[0, 1.02],
        template="plotly_white",
    )
    return fig
