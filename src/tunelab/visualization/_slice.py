"""Slice plot: the objective against each parameter on its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import (
    Target,
    as_study,
    axis_info,
    choice_label,
    distribution_of,
    go,
    pick_params,
    resolve_target,
    scored,
)


def slice_data(
    study: Any, params: Sequence[str] | None = None, target: Target | None = None
) -> dict[str, Any]:
    """``{"params": [{"name", "axis", "x", "y", "numbers"}]}``; each parameter uses the trials
    where it is set (conditional parameters included)."""
    owner = "plot_slice"
    s = as_study(study, owner)
    rows = scored(s, resolve_target(s, target, owner))
    trials = [t for t, _ in rows]
    out = []
    for name in pick_params(trials, params, owner):
        dist = distribution_of(trials, name)
        axis = axis_info(dist)
        have = [(t, y) for t, y in rows if name in t.params]
        x = [t.params[name] for t, _ in have]
        if axis["scale"] == "categorical":
            x = [choice_label(dist, axis["choices"], v) for v in x]  # type: ignore[arg-type]
        out.append(
            {
                "name": name,
                "axis": axis,
                "x": x,
                "y": [y for _, y in have],
                "numbers": [t.number for t, _ in have],
            }
        )
    return {"params": out}


def plot_slice(
    study: Any,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    target_name: str = "Objective value",
) -> Any:
    from plotly.subplots import make_subplots

    data = slice_data(study, params, target)["params"]
    graph = go()
    fig = make_subplots(
        rows=1, cols=max(1, len(data)), shared_yaxes=True, subplot_titles=[p["name"] for p in data]
    )
    for i, p in enumerate(data, start=1):
        fig.add_trace(
            graph.Scattergl(
                x=p["x"],
                y=p["y"],
                mode="markers",
                name=p["name"],
                showlegend=False,
                marker={
                    "size": 5,
                    "color": p["numbers"],
                    "colorscale": "Blues",
                    "showscale": i == 1,
                    "colorbar": {"title": {"text": "Trial"}},
                },
            ),
            row=1,
            col=i,
        )
        scale = p["axis"]["scale"]
        fig.update_xaxes(
            type={"log": "log", "categorical": "category"}.get(scale, "linear"), row=1, col=i
        )
    fig.update_yaxes(title_text=target_name, row=1, col=1)
    fig.update_layout(title="Slice", template="plotly_white")
    return fig
