"""Pareto front of a study with two or three objectives."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._constraints import is_feasible
from .._frozen import StudyDirection, TrialState
from .._pareto import front_mask
from .._validation import fail
from ..exceptions import InvalidParameterError
from ._common import INFEASIBLE_COLOR, as_study, go


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def pareto_data(
    study: Any,
    targets: Callable[[Any], Sequence[float]] | None = None,
    target_names: Sequence[str] | None = None,
    directions: Sequence[StudyDirection | str] | None = None,
) -> dict[str, Any]:
    """``{"names", "front": {"numbers", "values"}, "dominated": {...}, "infeasible": {...},
    "not_drawn": {...}}`` where ``values`` is one list per objective. ``targets`` maps a trial
    to the 2 or 3 numbers drawn (default: its values); the front is the study's, over all its
    objectives, unless ``directions`` is given, which ranks the targets themselves.

    Every feasible completed trial is ranked, those with an infinite value included; the
    completed trials that violate their constraints are not (as in ``study.best_trials``: a
    trial that breaks a constraint is no solution, however good its values) and are listed
    in ``infeasible`` instead. When no trial is feasible, the front is empty. The trials that
    cannot be drawn (a drawn number that is not finite) are left out of ``front``,
    ``dominated`` and ``infeasible`` and listed by number in ``not_drawn["front"]``,
    ``not_drawn["dominated"]`` and ``not_drawn["infeasible"]``."""
    owner = "plot_pareto_front"
    s = as_study(study, owner)
    get = targets if targets is not None else (lambda t: t.values)
    complete = s.get_trials((TrialState.COMPLETE,), deepcopy=False)
    if directions is not None:
        dirs = [StudyDirection(d) if isinstance(d, str) else d for d in directions]
        n = len(dirs)
        ranked_by_study = False
    elif targets is not None:
        if len(s.directions) == 1:
            # Ranked by the study's single objective, the "front" is the best trial alone:
            # a picture that looks like a trade-off and is not one.
            raise InvalidParameterError(
                f"plot_pareto_front cannot rank study {s.study_name!r}: it has a single "
                "objective, so its only Pareto-optimal trial is the best one. Pass "
                "directions=[...] (one per number targets returns) to rank the targets "
                "themselves, e.g. directions=['minimize', 'minimize'] for "
                "targets=lambda t: (t.value, t.duration)."
            )
        # Targets only choose what is drawn (two of three objectives, an objective and the
        # duration...): the front is the study's own, over all its objectives, as in Optuna.
        dirs = list(s.directions)
        if complete:
            n = len(list(targets(complete[0])))
        else:
            n = len(target_names) if target_names is not None else len(s.directions)
        ranked_by_study = True
    else:
        dirs = list(s.directions)
        n = len(dirs)
        ranked_by_study = False
    if n not in (2, 3):
        if targets is not None and directions is None and not complete:
            raise InvalidParameterError(
                f"plot_pareto_front cannot tell how many numbers targets returns: study "
                f"{s.study_name!r} has no completed trial yet. Pass target_names with 2 or 3 "
                "names."
            )
        if targets is not None and directions is None:
            raise InvalidParameterError(
                f"The 'targets' parameter of plot_pareto_front must return 2 or 3 numbers "
                f"per trial; it returned {n}."
            )
        if directions is not None:
            raise fail("directions", owner, "a list of 2 or 3 directions", list(directions))
        raise InvalidParameterError(
            f"plot_pareto_front draws studies with 2 or 3 objectives; study "
            f"{s.study_name!r} has {_count(n, 'objective')}. Pass targets=... to pick 2 or 3 "
            "numbers to draw" + (" and directions=[...] to rank them." if n == 1 else ".")
        )
    if target_names is None and targets is None:
        target_names = s.metric_names  # set_metric_names, when the objectives are drawn as such
    names = list(target_names) if target_names is not None else [f"Objective {i}" for i in range(n)]
    if len(names) != n:
        raise fail("target_names", owner, f"a list of {n} names", target_names)
    drawn, ranks, feasible = [], [], []
    for t in complete:
        vals = [float(v) for v in get(t)]
        if len(vals) != n:
            if targets is None:
                raise InvalidParameterError(
                    f"The 'directions' parameter of plot_pareto_front has {_count(n, 'entry')} "
                    f"but trial {t.number} of study {s.study_name!r} has {len(vals)} values."
                )
            raise InvalidParameterError(
                f"The 'targets' parameter of plot_pareto_front must return {n} numbers for "
                f"every trial; it returned {len(vals)} for trial {t.number}."
            )
        drawn.append((t.number, vals))
        ranks.append(list(t.values) if ranked_by_study else vals)
        feasible.append(is_feasible(t))
    signs = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in dirs])
    minimised = np.asarray(ranks, dtype=float).reshape(len(ranks), len(signs)) * signs
    mask = np.zeros(len(drawn), dtype=bool)
    ok = np.array(feasible, dtype=bool)
    mask[ok] = front_mask(minimised[ok])
    group = ["front" if m else "dominated" if f else "infeasible" for m, f in zip(mask, feasible)]
    finite = [all(math.isfinite(v) for v in vals) for _, vals in drawn]

    def pack(key: str) -> dict[str, Any]:
        chosen = [r for r, g, fin in zip(drawn, group, finite) if g == key and fin]
        chosen.sort(key=lambda r: r[1][0])
        return {
            "numbers": [num for num, _ in chosen],
            "values": [[vals[i] for _, vals in chosen] for i in range(n)],
        }

    keys = ("front", "dominated", "infeasible")
    not_drawn = {
        key: [num for (num, _), g, fin in zip(drawn, group, finite) if g == key and not fin]
        for key in keys
    }
    return {"names": names, **{key: pack(key) for key in keys}, "not_drawn": not_drawn}


def plot_pareto_front(
    study: Any,
    *,
    targets: Callable[[Any], Sequence[float]] | None = None,
    target_names: Sequence[str] | None = None,
    include_dominated_trials: bool = True,
    directions: Sequence[StudyDirection | str] | None = None,
) -> Any:
    data = pareto_data(study, targets, target_names, directions)
    graph = go()
    fig = graph.Figure()
    groups = [("Pareto front", data["front"], "#d62728")]
    if include_dominated_trials:
        groups.insert(0, ("Dominated", data["dominated"], "#9ecae1"))
        # Only when there are some, so an unconstrained study's figure keeps its two traces.
        # Drawn first, under the others: a grey point must not hide a point of the front.
        if data["infeasible"]["numbers"]:
            groups.insert(0, ("Infeasible", data["infeasible"], INFEASIBLE_COLOR))
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
    fig.update_layout(title=_title(data, include_dominated_trials), template="plotly_white")
    return fig


def _title(data: dict[str, Any], include_dominated_trials: bool) -> str:
    """The title, naming the trials that are ranked but cannot be drawn, and saying when no
    trial is feasible.

    A front trial at infinity is the one a reader most needs to know about: without the
    note the drawn front looks complete while the real front holds a trial it does not show.
    An empty front of a constrained study is no missing data either: it means no trial
    satisfies the constraints yet, and the figure says so instead of looking broken.
    """
    notes = []
    if not data["front"]["numbers"] and not data["not_drawn"]["front"]:
        n_infeasible = len(data["infeasible"]["numbers"]) + len(data["not_drawn"]["infeasible"])
        if n_infeasible:
            who = (
                "the only completed trial violates"
                if n_infeasible == 1
                else f"all {n_infeasible} completed trials violate"
            )
            notes.append(f"No feasible trial: {who} the constraints")
    front = data["not_drawn"]["front"]
    dominated = data["not_drawn"]["dominated"] if include_dominated_trials else []
    infeasible = data["not_drawn"]["infeasible"] if include_dominated_trials else []
    parts = []
    if front:
        shown = ", ".join(str(k) for k in front[:5]) + (", ..." if len(front) > 5 else "")
        parts.append(f"{'trial' if len(front) == 1 else 'trials'} {shown} on the front")
    if dominated:
        parts.append(_count(len(dominated), "dominated trial"))
    if infeasible:
        parts.append(_count(len(infeasible), "infeasible trial"))
    if parts:
        notes.append(f"Not drawn (a value is not finite): {', '.join(parts)}")
    if not notes:
        return "Pareto front"
    return "Pareto front<br><sup>" + "<br>".join(notes) + "</sup>"
