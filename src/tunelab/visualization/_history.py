"""Optimization history: each completed trial's value and the best so far, for one or more studies."""

from __future__ import annotations

import math
from typing import Any

from .._constraints import is_feasible
from .._frozen import TrialState
from ._common import INFEASIBLE_COLOR, Target, as_studies, go, minimizing, resolve_target


def history_data(study: Any, target: Target | None = None) -> dict[str, Any]:
    """``{"studies": [{"name", "numbers", "values", "best", "infeasible", "infinite"}]}``.

    ``numbers`` and ``values`` are the feasible completed trials with a finite target and
    ``best`` the running best at each of them (None when a custom target has no direction).
    Only feasible trials count for the best, as for ``study.best_value``, so the line ends at
    it; before the first feasible trial the best is None. ``infeasible`` lists the completed
    trials that violate their constraints and have a finite target as ``{"numbers", "values",
    "best"}`` (``best``: the feasible best so far at each, which they never change).

    A trial whose target is infinite is no point on a chart, yet it can be the best: ``best``
    counts it when it is feasible (so it holds -inf once a minimised study returned -inf, like
    ``study.best_value``), and ``infinite`` lists those trials, feasible or not, as
    ``{"numbers", "values", "best", "feasible"}``."""
    out = []
    for s in as_studies(study, "plot_optimization_history"):
        get = resolve_target(s, target, "plot_optimization_history")
        direction = minimizing(s, target)
        finite: dict[str, list[Any]] = {"numbers": [], "values": [], "best": []}
        infeasible: dict[str, list[Any]] = {"numbers": [], "values": [], "best": []}
        infinite: dict[str, list[Any]] = {"numbers": [], "values": [], "best": [], "feasible": []}
        current: float | None = None
        for t in s.get_trials((TrialState.COMPLETE,), deepcopy=False):
            y = float(get(t))
            if math.isnan(y):
                continue
            feasible = is_feasible(t)
            if (
                feasible
                and direction is not None
                and (current is None or (y < current if direction else y > current))
            ):
                current = y
            if not math.isfinite(y):
                into = infinite
                infinite["feasible"].append(feasible)
            else:
                into = finite if feasible else infeasible
            into["numbers"].append(t.number)
            into["values"].append(y)
            into["best"].append(current)
        if direction is None:
            infeasible["best"] = [None] * len(infeasible["numbers"])
            infinite["best"] = [None] * len(infinite["numbers"])
        out.append(
            {
                "name": s.study_name,
                "numbers": finite["numbers"],
                "values": finite["values"],
                "best": finite["best"] if direction is not None else None,
                "infeasible": infeasible,
                "infinite": infinite,
            }
        )
    return {"studies": out}


def _edges(studies: list[dict[str, Any]]) -> tuple[float, float]:
    """Where -inf and +inf are drawn: just beyond every finite value and best on the chart."""
    seen = [
        v
        for s in studies
        for v in s["values"]
        + (s["best"] or [])
        + s["infeasible"]["values"]
        + s["infeasible"]["best"]
        + s["infinite"]["best"]
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
        bad = s["infeasible"]
        if bad["numbers"]:
            fig.add_trace(
                graph.Scattergl(
                    x=bad["numbers"],
                    y=bad["values"],
                    mode="markers",
                    name=prefix + "Infeasible trial",
                    marker={"size": 5, "color": INFEASIBLE_COLOR},
                )
            )
        for ok, label in ((True, "Infinite (at the edge)"), (False, "Infeasible, infinite")):
            picked = [
                (k, v) for k, v, f in zip(inf["numbers"], inf["values"], inf["feasible"]) if f == ok
            ]
            if not picked:
                continue
            marker: dict[str, Any] = {
                "size": 9,
                "symbol": ["triangle-down" if v < 0 else "triangle-up" for _, v in picked],
            }
            if not ok:
                marker["color"] = INFEASIBLE_COLOR
            fig.add_trace(
                graph.Scatter(
                    x=[k for k, _ in picked],
                    y=[clip(v) for _, v in picked],
                    mode="markers",
                    name=prefix + label,
                    text=[f"Trial {k}: {v}" for k, v in picked],
                    hoverinfo="text",
                    cliponaxis=False,
                    marker=marker,
                )
            )
        if s["best"] is not None:
            # Infeasible trials carry the best on to their numbers (the line spans every
            # trial); before the first feasible trial there is no best, hence no line.
            steps = sorted(
                (
                    (k, b)
                    for k, b in zip(
                        s["numbers"] + bad["numbers"] + inf["numbers"],
                        s["best"] + bad["best"] + inf["best"],
                    )
                    if b is not None
                ),
                key=lambda p: p[0],
            )
            if steps:
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
