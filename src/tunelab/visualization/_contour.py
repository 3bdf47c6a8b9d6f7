"""Contour of the objective over two parameters: the mean value of the trials in each cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._space import Float, Int
from .._validation import fail, is_int
from ..exceptions import InvalidParameterError
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


def _together(rows: list, a: str, b: str) -> bool:
    return any(a in t.params and b in t.params for t, _ in rows)


def _default_pair(study: Any, rows: list, target: Target | None) -> list[str]:
    """The most important pair of parameters that some trial sets together.

    In a conditional space the two most important parameters can live in different branches
    (one per choice of a parent): no trial has both, and their contour would be empty.
    """
    names = sorted({n for t, _ in rows for n in t.params})
    if len(names) < 2:
        return names
    from ..importance import CorrelationRatioImportanceEvaluator

    try:
        shares = CorrelationRatioImportanceEvaluator().evaluate(study, target=target)
    except ValueError:
        shares = {}
    order = list(shares) + [n for n in names if n not in shares]
    rank = {n: i for i, n in enumerate(order)}
    where: dict[str, set[int]] = {n: set() for n in names}
    for i, (t, _) in enumerate(rows):
        for n in t.params:
            where[n].add(i)
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
    pairs.sort(key=lambda p: (-(shares.get(p[0], 0.0) + shares.get(p[1], 0.0)), rank[p[1]]))
    for a, b in pairs:
        if not where[a].isdisjoint(where[b]):
            return [a, b]
    raise InvalidParameterError(
        f"plot_contour cannot draw study {study.study_name!r}: no completed trial with a "
        f"finite target has two parameters set together (parameters: {names})."
    )


def _grid(dist: Any, n_cells: int) -> list[Any] | None:
    """The values an Int or stepped Float takes, when they are no more than the cells."""
    if isinstance(dist, Int) or (isinstance(dist, Float) and dist.step is not None):
        n = dist.n_steps
        if n <= n_cells:
            return [dist.round_to_step(dist.low + i * dist.step) for i in range(n)]
    return None


def _distinct_centers(centers: list[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct cell centres, and for each cell the index of its centre among them.

    An Int (or stepped Float) rounds a centre to its grid: where cells are narrower than one
    step, as at the low end of a log range (Int(1, 1000, log=True): the first cells hold
    only 1), neighbours get the same centre. They are one cell: a contour needs distinct
    positions. Centres grow with the cell, so equal ones are neighbours.
    """
    distinct: list[Any] = []
    index = []
    for c in centers:
        if not distinct or c != distinct[-1]:
            distinct.append(c)
        index.append(len(distinct) - 1)
    return distinct, np.array(index, dtype=int)


def contour_data(
    study: Any,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    n_cells: int = 24,
) -> dict[str, Any]:
    """``{"x": {...}, "y": {...}, "z", "points": {"x", "y", "value"}}`` where each axis has the
    parameter ``name``, its ``axis`` info and the cell ``centers`` (in parameter units; choice
    labels for categoricals) and ``z[j][i]`` is the mean target in cell (i, j), None if empty.

    Cells are equal in each distribution's unit space, so log ranges get log-spaced cells; a
    categorical, and an Int or stepped Float with at most ``n_cells`` values, get one cell per
    value, and neighbouring cells of a larger Int or stepped Float that round to the same value
    (narrower than one step) are merged. Without ``params`` the most important pair (fast estimate) that completed trials set
    together is used; explicit ``params`` that no completed trial sets together are refused."""
    owner = "plot_contour"
    if not is_int(n_cells) or n_cells < 2:
        raise fail("n_cells", owner, "an int >= 2", n_cells)
    s = as_study(study, owner)
    rows = scored(s, resolve_target(s, target, owner))
    trials = [t for t, _ in rows]
    names = _default_pair(s, rows, target) if params is None else pick_params(trials, params, owner)
    if params is None and len(names) < 2:
        # The caller named no parameter: the study is what falls short, not an argument.
        have = f"only {names[0]!r}" if names else "none"
        raise InvalidParameterError(
            f"plot_contour cannot draw study {s.study_name!r}: a contour needs two "
            f"parameters, and its completed trials with a finite target have {have}."
        )
    if len(names) != 2:
        raise fail(
            "params",
            owner,
            "exactly two parameter names",
            list(names) if params else params,
            "A contour needs two parameters with values in completed trials.",
        )
    if not _together(rows, *names):
        raise InvalidParameterError(
            f"plot_contour cannot draw {names[0]!r} against {names[1]!r}: no completed trial "
            f"with a finite target of study {s.study_name!r} has both (they are set in "
            "different branches of the search space). Pick two parameters set together."
        )
    rows = [(t, y) for t, y in rows if all(n in t.params for n in names)]
    axes = []
    cells = []
    labels = []
    for name in names:
        dist = distribution_of(trials, name)
        info = axis_info(dist)
        raw = [t.params[name] for t, _ in rows]
        grid = _grid(dist, n_cells)
        if info["scale"] == "categorical":
            centers = info["choices"]
            k = len(centers)
            cells.append(np.array([dist.index(v) for v in raw], dtype=int))
            labels.append([choice_label(dist, centers, v) for v in raw])
        elif grid is not None:
            centers, k = grid, len(grid)
            steps = np.rint((np.array(raw, dtype=float) - dist.low) / dist.step).astype(int)
            cells.append(np.clip(steps, 0, k - 1))
            labels.append(raw)
        else:
            unit = np.array([dist.to_unit(v) for v in raw])
            fine = np.minimum((unit * n_cells).astype(int), n_cells - 1)
            centers, merged = _distinct_centers(
                [dist.from_unit((i + 0.5) / n_cells) for i in range(n_cells)]
            )
            cells.append(merged[fine])
            labels.append(raw)
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
    points = {"x": labels[0], "y": labels[1], "value": values.tolist()}
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
