"""Bar chart of parameter importances: one bar set per target (per objective by default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._validation import fail
from ._common import Target, as_study, go

OWNER = "plot_param_importances"


def _targets(study: Any, target: Target | None, target_name: str) -> list[tuple[str, Any]]:
    """``(name, target)`` for each bar set: the one target, or each objective of a study with
    several (named by ``set_metric_names``, else ``"<target_name> <i>"``, as in Optuna)."""
    if not isinstance(target_name, str):
        raise fail("target_name", OWNER, "a string", target_name)
    if target is not None and not callable(target):
        raise fail("target", OWNER, "None or a callable FrozenTrial -> float", target)
    names = study.metric_names
    if target is not None or len(study.directions) == 1:
        # As in Optuna, the study's metric name labels its objective over target_name.
        return [(names[0] if names is not None and target is None else target_name, target)]
    labels = names or [f"{target_name} {i}" for i in range(len(study.directions))]
    return [(label, lambda t, i=i: t.values[i]) for i, label in enumerate(labels)]


def importance_data(
    study: Any,
    evaluator: Any = None,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    target_name: str = "Objective value",
) -> dict[str, Any]:
    """``{"targets": [{"target_name", "names", "importances"}]}``, most important first (see
    ``tunelab.importance``): one entry for one objective or a ``target``, one per objective for
    a study with several and no ``target``. With a single entry, its ``names``,
    ``importances`` and ``target_name`` are also at the top level."""
    from ..importance import get_param_importances

    s = as_study(study, OWNER)
    sets = []
    for name, get in _targets(s, target, target_name):
        shares = get_param_importances(s, evaluator=evaluator, params=params, target=get)
        sets.append(
            {"target_name": name, "names": list(shares), "importances": list(shares.values())}
        )
    if len(sets) == 1:
        return {**sets[0], "targets": sets}
    return {"targets": sets}


def plot_param_importances(
    study: Any,
    evaluator: Any = None,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    target_name: str = "Objective value",
) -> Any:
    """Importance bars, most important on top; a study with several objectives and no
    ``target`` gets one bar set per objective, in a legend named by its metric names."""
    sets = importance_data(study, evaluator, params, target, target_name)["targets"]
    # One parameter order for every set (mean share over the sets), most important on top.
    mean: dict[str, float] = {}
    for one in sets:
        for name, share in zip(one["names"], one["importances"]):
            mean[name] = mean.get(name, 0.0) + share / len(sets)
    order = sorted(reversed(list(mean)), key=lambda name: mean[name])
    graph = go()
    fig = graph.Figure()
    for one in sets:
        shares = dict(zip(one["names"], one["importances"]))
        names = [name for name in order if name in shares]
        fig.add_trace(
            graph.Bar(
                x=[shares[name] for name in names],
                y=names,
                orientation="h",
                name=one["target_name"],
                text=[f"{shares[name]:.2f}" for name in names],
                textposition="outside",
                hovertemplate="%{y}: %{x:.3f}<extra>" + one["target_name"] + "</extra>",
            )
        )
    top = max((v for one in sets for v in one["importances"]), default=1)
    fig.update_layout(
        title="Parameter importances",
        xaxis_title="Share of variation",
        template="plotly_white",
        xaxis_range=[0, min(1.0, top * 1.15)],
        barmode="group",
        showlegend=len(sets) > 1,
    )
    return fig
