"""Optimization history: each completed trial's value and the best so far, for one or more studies."""

from __future__ import annotations

import math
from typing import Any

from .._constraints import is_feasible
from .._frozen import TrialState
from .._validation import fail
from ._common import INFEASIBLE_COLOR, Target, as_studies, go, minimizing, resolve_target


def history_data(
    study: Any, target: Target | None = None, error_bar: bool = False
) -> dict[str, Any]:
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
    ``{"numbers", "values", "best", "feasible"}``.

    ``error_bar=True`` adds ``"error_bar": {"numbers", "mean", "std", "best_mean",
    "best_std"}``, Optuna's summary of several studies (one study works too, with a zero
    spread): for each trial number where some study has a feasible trial with a finite
    target, the mean and standard deviation of those values, and of the finite best so far
    of the studies that reached that number (``best_*`` None when a custom target has no
    direction)."""
    if not isinstance(error_bar, bool):
        raise fail("error_bar", "plot_optimization_history", "True or False", error_bar)
    out = []
    lasts = []  # each study's last trial number: its best so far ends there
    for s in as_studies(study, "plot_optimization_history"):
        get = resolve_target(s, target, "plot_optimization_history")
        direction = minimizing(s, target)
        finite: dict[str, list[Any]] = {"numbers": [], "values": [], "best": []}
        infeasible: dict[str, list[Any]] = {"numbers": [], "values": [], "best": []}
        infinite: dict[str, list[Any]] = {"numbers": [], "values": [], "best": [], "feasible": []}
        current: float | None = None
        trials = s.get_trials(deepcopy=False)
        lasts.append(trials[-1].number if trials else -1)
        for t in trials:
            if t.state != TrialState.COMPLETE:
                continue
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
    if error_bar:
        return {"studies": out, "error_bar": _spread(out, lasts)}
    return {"studies": out}


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _spread(studies: list[dict[str, Any]], lasts: list[int]) -> dict[str, Any]:
    """Mean and standard deviation over the studies at each trial number (see history_data);
    a study's best counts up to its last trial (``lasts``), as in Optuna."""
    values: dict[int, list[float]] = {}
    for s in studies:
        for k, v in zip(s["numbers"], s["values"]):
            values.setdefault(k, []).append(v)
    numbers = sorted(values)
    out: dict[str, Any] = {"numbers": numbers, "mean": [], "std": []}
    for k in numbers:
        mean, std = _mean_std(values[k])
        out["mean"].append(mean)
        out["std"].append(std)
    out["best_mean"] = out["best_std"] = None
    if any(s["best"] is None for s in studies):
        return out
    # Each study's best so far is a step function over the trial numbers: read it at each one.
    columns = []
    for s, last in zip(studies, lasts):
        pairs = zip(
            s["numbers"] + s["infeasible"]["numbers"] + s["infinite"]["numbers"],
            s["best"] + s["infeasible"]["best"] + s["infinite"]["best"],
        )
        steps = sorted((k, b) for k, b in pairs if b is not None)
        column, i, current = [], 0, None
        for k in numbers:
            while i < len(steps) and steps[i][0] <= k:
                current = steps[i][1]
                i += 1
            column.append(current if k <= last else None)
        columns.append(column)
    out["best_mean"], out["best_std"] = [], []
    for j in range(len(numbers)):
        bests = [c[j] for c in columns if c[j] is not None and math.isfinite(c[j])]
        mean, std = _mean_std(bests) if bests else (None, None)
        out["best_mean"].append(mean)
        out["best_std"].append(std)
    return out


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
    study: Any,
    target: Target | None = None,
    target_name: str = "Objective value",
    error_bar: bool = False,
) -> Any:
    """Each completed trial's value and the best so far; a list of studies compares them, and
    ``error_bar=True`` draws their mean and standard deviation at each trial number instead."""
    data = history_data(study, target, error_bar)
    graph = go()
    if error_bar:
        return _error_bar_figure(graph, data, target_name)
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


def _error_bar_figure(graph: Any, data: dict[str, Any], target_name: str) -> Any:
    spread = data["error_bar"]
    fig = graph.Figure()
    fig.add_trace(
        graph.Scatter(
            x=spread["numbers"],
            y=spread["mean"],
            error_y={"type": "data", "array": spread["std"], "visible": True},
            mode="markers",
            name=target_name,
            marker={"size": 5},
        )
    )
    if spread["best_mean"] is not None:
        kept = [
            (k, m, d)
            for k, m, d in zip(spread["numbers"], spread["best_mean"], spread["best_std"])
            if m is not None
        ]
        x = [k for k, _, _ in kept]
        fig.add_trace(
            graph.Scatter(
                x=x,
                y=[m + d for _, m, d in kept],
                mode="lines",
                line={"width": 0, "shape": "hv"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            graph.Scatter(
                x=x,
                y=[m - d for _, m, d in kept],
                mode="lines",
                line={"width": 0, "shape": "hv"},
                fill="tonexty",
                fillcolor="rgba(255,0,0,0.2)",
                name="Best so far ± std",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            graph.Scatter(
                x=x,
                y=[m for _, m, _ in kept],
                mode="lines",
                name="Best so far (mean)",
                line={"shape": "hv"},
            )
        )
    n = len(data["studies"])
    fig.update_layout(
        title=(
            "Optimization history<br><sup>mean and standard deviation over "
            f"{n} stud{'ies' if n > 1 else 'y'}</sup>"
        ),
        xaxis_title="Trial",
        yaxis_title=target_name,
        template="plotly_white",
    )
    return fig
