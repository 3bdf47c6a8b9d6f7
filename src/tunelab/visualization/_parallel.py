"""Parallel coordinates: one line per completed trial across its parameters and the objective."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._common import (
    Target,
    as_study,
    axis_info,
    distribution_of,
    go,
    pick_params,
    resolve_target,
    scored,
)


def parallel_data(
    study: Any, params: Sequence[str] | None = None, target: Target | None = None
) -> dict[str, Any]:
    """``{"numbers", "target", "dimensions": [{"name", "values", "axis"}]}``.

    By default the parameters every completed trial has (a line needs a value on each axis);
    log parameters are given as log10 values, categorical ones as choice indices.
    """
    owner = "plot_parallel_coordinate"
    s = as_study(study, owner)
    rows = scored(s, resolve_target(s, target, owner))
    trials = [t for t, _ in rows]
    if params is None:
        names = sorted(set.intersection(*(set(t.params) for t in trials))) if trials else []
    else:
        names = pick_params(trials, params, owner)
    rows = [(t, y) for t, y in rows if all(n in t.params for n in names)]
    dims = []
    for name in names:
        dist = distribution_of(trials, name)
        axis = axis_info(dist)
        values: list[float] = []
        for t, _ in rows:
            v = t.params[name]
            if axis["scale"] == "categorical":
                values.append(float(dist.to_internal(v)))
            elif axis["scale"] == "log":
                values.append(math.log10(v))
            else:
                values.append(float(v))
        dims.append({"name": name, "values": values, "axis": axis})
    return {
        "numbers": [t.number for t, _ in rows],
        "target": [y for _, y in rows],
        "dimensions": dims,
    }


def plot_parallel_coordinate(
    study: Any,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    target_name: str = "Objective value",
) -> Any:
    data = parallel_data(study, params, target)
    graph = go()
    dims = [{"label": target_name, "values": data["target"]}]
    for d in data["dimensions"]:
        entry: dict[str, Any] = {"label": d["name"], "values": d["values"]}
        axis = d["axis"]
        if axis["scale"] == "categorical":
            entry["tickvals"] = list(range(len(axis["choices"])))
            entry["ticktext"] = axis["choices"]
        elif axis["scale"] == "log":
            # plotly draws the axis over the values given (its default range): tick those.
            values = d["values"] or [math.log10(axis["low"]), math.log10(axis["high"])]
            entry["tickvals"], entry["ticktext"] = _log_ticks(min(values), max(values))
        dims.append(entry)
    line = {
        "color": data["target"],
        "colorscale": "Viridis",
        "showscale": True,
        "colorbar": {"title": {"text": target_name}},
    }
    fig = graph.Figure(graph.Parcoords(dimensions=dims, line=line))
    fig.update_layout(title="Parallel coordinates", template="plotly_white")
    return fig


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks (log10 positions, labels) at round numbers between ``10**lo`` and ``10**hi``.

    Decades when the range holds three of them; a narrower range (2 to 8 holds none) gets
    1-2-5 or 1-to-9 steps within each decade, and one too narrow even for those (2.1 to 2.9)
    its two ends: ticks outside the axis would leave it without a single label.
    """
    eps = 1e-9  # a value drawn exactly at a round number keeps its tick
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    inside = [k for k in decades if lo - eps <= k <= hi + eps]
    if len(inside) >= 3:
        return [float(k) for k in inside], [f"1e{k}" for k in inside]
    for mantissas in ((1, 2, 5), range(1, 10)):
        values = [m * 10.0**k for k in decades for m in mantissas]
        steps = [v for v in values if lo - eps <= math.log10(v) <= hi + eps]
        if len(steps) >= 3:
            break
    if len(steps) < 2:
        ends = sorted({lo, hi})
        return ends, [f"{10**p:.3g}" for p in ends]
    return [math.log10(v) for v in steps], [f"{v:g}" for v in steps]
