"""Pareto front of a study with two or three objectives."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .._frozen import StudyDirection, TrialState
from .._validation import fail
from ._common import as_study, go


def _front_mask(points: list[list[float]]) -> list[bool]:
    """True for each point no other point dominates (all coordinates minimized)."""
    keep = []
    for a in points:
        dominated = any(
            all(x <= y for x, y in zip(b, a)) and any(x < y for x, y in zip(b, a)) for b in points
        )
        keep.append(not dominated)
    return keep


def pareto_data(
    study: Any,
    targets: Callable[[Any], Sequence[float]] | None = None,
    target_names: Sequence[str] | None = None,
    directions: Sequence[StudyDirection | str] | None = None,
) -> dict[str, Any]:
    """``{"names", "front": {"numbers", "values"}, "dominated": {...}}`` where ``values`` is
    one list per objective. ``targets`` maps a trial to the 2 or 3 numbers drawn (default: its
    values); the front is the study's, over all its objectives, unless ``directions`` is given,
    which ranks the targets themselves."""
    owner = "plot_pareto_front"
    s = as_study(study, owner)
    get = targets if targets is not None else (lambda t: t.values)
    complete = s.get_trials((TrialState.COMPLETE,))
    if targets is not None and directions is None and complete:
        # Targets only choose what is drawn (two of three objectives, an objective and the
        # duration...): the front is the study's own, over all its objectives, as in Optuna.
        n = len(list(targets(complete[0])))
        ranked_by_study = True
    else:
        n = len(directions) if directions is not None else len(s.directions)
        ranked_by_study = False
    if n not in (2, 3):
        raise fail("study", owner, "a study (or targets) with 2 or 3 objectives", f"{n} objectives")
    names = list(target_names) if target_names is not None else [f"Objective {i}" for i in range(n)]
    if len(names) != n:
        raise fail("target_names", owner, f"a list of {n} names", target_names)
    rows, ranks = [], []
    for t in complete:
        vals = [float(v) for v in get(t)]
        if len(vals) != n:
            raise fail("targets", owner, f"a callable returning {n} numbers", vals)
        if all(math.isfinite(v) for v in vals):
            rows.append((t.number, vals))
            ranks.append(list(t.values) if ranked_by_study else vals)
    dirs = s.directions if ranked_by_study else (directions or s.directions)
    dirs = [StudyDirection(d) if isinstance(d, str) else d for d in dirs]
    signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in dirs]
    mask = _front_mask([[sg * v for sg, v in zip(signs, vals)] for vals in ranks])

    def pack(keep: bool) -> dict[str, Any]:
        chosen = [r for r, m in zip(rows, mask) if m == keep]
        chosen.sort(key=lambda r: r[1][0])
        return {
            "numbers": [num for num, _ in chosen],
            "values": [[vals[i] for _, vals in chosen] for i in range(n)],
        }

    return {"names": names, "front": pack(True), "dominated": pack(False)}


def plot_pareto_front(
    study: Any,
    targets: Callable[[Any], Sequence[float]] | None = None,
    target_names: Sequence[str] | None = None,
    include_dominated: bool = True,
) -> Any:
    data = pareto_data(study, targets, target_names)
    graph = go()
    fig = graph.Figure()
    groups = [("Pareto front", data["front"], "#d62728")]
    if include_dominated:
        groups.insert(0, ("Dominated", data["dominated"], "#9ecae1"))
    for label, group, color in groups:
        text = [f"Trial {k}" for k in group["numbers"]]
        if len(data["names"]) == 2:
            trace = graph.Scatter(
                x=group["values"][0],
                y=group["values"][1],
                mode="markers",
                name=label,
                text=text,
                marker={"color": color, "size": 7},
            )
        else:
            trace = graph.Scatter3d(
                x=group["values"][0],
                y=group["values"][1],
                z=group["values"][2],
                mode="markers",
                name=label,
                text=text,
                marker={"color": color, "size": 4},
            )
        fig.add_trace(trace)
    names = data["names"]
    if len(names) == 2:
        fig.update_layout(xaxis_title=names[0], yaxis_title=names[1])
    else:
        fig.update_layout(
            scene={"xaxis_title": names[0], "yaxis_title": names[1], "zaxis_title": names[2]}
        )
    fig.update_layout(title="Pareto front", template="plotly_white")
    return fig
