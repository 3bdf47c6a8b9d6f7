"""Contour of the objective over two parameters: the mean value of the trials in each cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import fail, is_int
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


def _default_pair(study: Any, rows: list, target: Target | None) -> list[str]:
    names = sorted({n for t, _ in rows for n in t.params})
    if len(names) <= 2:
        return names
    from ..importance import CorrelationRatioImportanceEvaluator

    try:
        ranked = CorrelationRatioImportanceEvaluator().evaluate(study, target=target)
    except ValueError:
        return names[:2]
    return list(ranked)[:2]


def contour_data(
    study: Any,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    n_cells: int = 24,
) -> dict[str, Any]:
    """``{"x": {...}, "y": {...}, "z", "points": {"x", "y", "value"}}`` where each axis has the
    parameter ``name``, its ``axis`` info and the cell ``centers`` (in parameter units; choice
    labels for categoricals) and ``z[j][i]`` is the mean target in cell (i, j), None if empty.

    Cells are equal in each distribution's unit space, so log ranges get log-spaced cells.
    Without ``params`` the two most important parameters (fast estimate) are used."""
    owner = "plot_contour"
    if not is_int(n_cells) or n_cells < 2:
        raise fail("n_cells", owner, "an int >= 2", n_cells)
    s = as_study(study, owner)
    rows = scored(s, resolve_target(s, target, owner))
    trials = [t for t, _ in rows]
    names = _default_pair(s, rows, target) if params is None else pick_params(trials, params, owner)
    if len(names) != 2:
        raise fail(
            "params",
            owner,
            "exactly two parameter names",
            list(names) if params else params,
            "A contour needs two parameters with values in completed trials.",
        )
    rows = [(t, y) for t, y in rows if all(n in t.params for n in names)]
    axes = []
    cells = []
    for name in names:
        dist = distribution_of(trials, name)
        info = axis_info(dist)
        k = len(info["choices"]) if info["scale"] == "categorical" else n_cells
        unit = np.array([dist.to_unit(t.params[name]) for t, _ in rows])
        cells.append(np.minimum((unit * k).astype(int), k - 1))
        centers = [dist.from_unit((i + 0.5) / k) for i in range(k)]
        if info["scale"] == "categorical":
            centers = [str(c) for c in centers]
        axes.append({"name": name, "axis": info, "centers": centers})
    kx, ky = len(axes[0]["centers"]), len(axes[1]["centers"])
    total = np.zeros((ky, kx))
    count = np.zeros((ky, kx))
    values = np.array([y for _, y in rows], dtype=float)
    if len(rows):
        np.add.at(total, (cells[1], cells[0]), values)
        np.add.at(count, (cells[1], cells[0]), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    z = [[None if c == 0 else float(m) for m, c in zip(mr, cr)] for mr, cr in zip(mean, count)]
    points = {
        "x": [
            t.params[names[0]]
            if axes[0]["axis"]["scale"] != "categorical"
            else str(t.params[names[0]])
            for t, _ in rows
        ],
        "y": [
            t.params[names[1]]
            if axes[1]["axis"]["scale"] != "categorical"
            else str(t.params[names[1]])
            for t, _ in rows
        ],
        "value": values.tolist(),
    }
    return {"x": axes[0], "y": axes[1], "z": z, "points": points}


def plot_contour(
    study: Any,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    target_name: str = "Objective value",
    n_cells: int = 24,
) -> Any:
    data = contour_data(study, params, target, n_cells)
    graph = go()
    fig = graph.Figure()
    fig.add_trace(
        graph.Contour(
            x=data["x"]["centers"],
            y=data["y"]["centers"],
            z=data["z"],
            connectgaps=True,
            colorscale="Viridis",
            colorbar={"title": {"text": target_name}},
            name=target_name,
        )
    )
    fig.add_trace(
        graph.Scattergl(
            x=data["points"]["x"],
            y=data["points"]["y"],
            mode="markers",
            name="Trials",
            marker={
                "size": 3,
                "color": "black",
                "opacity": min(0.5, 100 / max(1, len(data["points"]["value"])) ** 0.5),
            },
            showlegend=False,
        )
    )
    for key, ax in (("xaxis", data["x"]), ("yaxis", data["y"])):
        scale = ax["axis"]["scale"]
        fig.update_layout(
            {
                key: {
                    "title": {"text": ax["name"]},
                    "type": {"log": "log", "categorical": "category"}.get(scale, "linear"),
                }
            }
        )
    fig.update_layout(title="Contour", template="plotly_white")
    return fig
