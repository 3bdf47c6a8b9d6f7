"""Optimization history: each completed trial's value and the best so far, for one or more studies."""

from __future__ import annotations

import math
from typing import Any

from .._frozen import TrialState
from ._common import Target, as_studies, go, minimizing, resolve_target


def history_data(study: Any, target: Target | None = None) -> dict[str, Any]:
    """``{"studies": [{"name", "numbers", "values", "best", "infinite"}]}``.

    ``numbers`` and ``values`` are the completed trials with a finite target and ``best`` the
    running best at each of them (None when a custom target has no direction). A trial whose
    target is infinite is no point on a chart, yet it can be the best: ``best`` counts it (so
    it holds -inf once a minimised study returned -inf, like ``study.best_value``), and
    ``infinite`` lists those trials as ``{"numbers", "values", "best"}``."""
    out = []
    for s in as_studies(study, "plot_optimization_history"):
        get = resolve_target(s, target, "plot_optimization_history")
        direction = minimizing(s, target)
        finite: dict[str, list[Any]] = {"numbers": [], "values": [], "best": []}
        infinite: dict[str, list[Any]] = {"numbers": [], "values": [], "best": []}
        current: float | None = None
        for t in s.get_trials((TrialState.COMPLETE,)):
            y = float(get(t))
            if math.isnan(y):
                continue
            if direction is not None and (
                current is None or (y < current if direction else y > current)
            ):
                current = y
            into = finite if math.isfinite(y) else infinite
            into["numbers"].append(t.number)
            into["values"].append(y)
            into["best"].append(current)
        if direction is None:
            infinite["best"] = [None] * len(infinite["numbers"])
        out.append(
            {
                "name": s.study_name,
                "numbers": finite["numbers"],
                "values": finite["values"],
                "best": finite["best"] if direction is not None else None,
                "infinite": infinite,
            }
        )
    return {"studies": out}


def _edges(studies: list[dict[str, Any]]) -> tuple[float, float]:
    """Where -inf and +inf are drawn: just beyond every finite value and best on the chart."""
    seen = [
        v
        for s in studies
        for v in s["values"] + (s["best"] or []) + s["infinite"]["best"]
        if v is not None and math.isfinite(v)
    ]
    lo, hi = (min(seen), max(seen)) if seen else (0.0, 1.0)
    pad = 0.1 * (hi - lo) if hi > lo else max(1.0, 0.1 * abs(lo))
    return lo - pad, hi + pad


def plot_optimization_history(
    study: Any, target: Target | None = None, target_name: str = "Objective value"
) -> Any:
    data = history_data(study, target)
    graph = go()
    fig = graph.Figure()
    several = len(data["studies"]) > 1
    bottom, top = _edges(data["studies"])

    def clip(v: float) -> float:
        return v if math.isfinite(v) else (bottom if v < 0 else top)

    n_infinite = 0
    for s in data["studies"]:
        prefix = f"{s['name']}: " if several else ""
        inf = s["infinite"]
        n_infinite += len(inf["numbers"])
        fig.add_trace(
            graph.Scattergl(
                x=s["numbers"],
                y=s["values"],
                mode="markers",
                name=prefix + target_name,
                marker={"size": 5},
            )
        )
        if inf["numbers"]:
            fig.add_trace(
                graph.Scatter(
                    x=inf["numbers"],
                    y=[clip(v) for v in inf["values"]],
                    mode="markers",
                    name=prefix + "Infinite (at the edge)",
                    text=[f"Trial {k}: {v}" for k, v in zip(inf["numbers"], inf["values"])],
                    hoverinfo="text",
                    cliponaxis=False,
                    marker={
                        "size": 9,
                        "symbol": [
                            "triangle-down" if v < 0 else "triangle-up" for v in inf["values"]
                        ],
                    },
                )
            )
        if s["best"] is not None:
            steps = sorted(
                zip(s["numbers"] + inf["numbers"], s["best"] + inf["best"]), key=lambda p: p[0]
            )
            fig.add_trace(
                graph.Scatter(
                    x=[k for k, _ in steps],
                    y=[clip(b) for _, b in steps],
                    text=[f"Best so far: {b}" for _, b in steps],
                    mode="lines",
                    name=prefix + "Best so far",
                    line={"shape": "hv"},
                )
            )
    title = "Optimization history"
    if n_infinite:
        # No axis reaches infinity: an infinite value or best is drawn at the edge it lies
        # beyond, and the title says so, so the chart never shows a finite best that is not.
        title += (
            f"<br><sup>{n_infinite} infinite value{'s' if n_infinite > 1 else ''} drawn at "
            "the axis edge (-inf bottom, +inf top)</sup>"
        )
        fig.update_layout(yaxis_range=[bottom, top])
    fig.update_layout(
        title=title,
        xaxis_title="Trial",
        yaxis_title=target_name,
        template="plotly_white",
    )
    return fig
