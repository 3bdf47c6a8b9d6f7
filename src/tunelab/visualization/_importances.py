"""Bar chart of parameter importances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import Target, as_study, go


def importance_data(
    study: Any,
    evaluator: Any = None,
    params: Sequence[str] | None = None,
    target: Target | None = None,
) -> dict[str, Any]:
    """``{"names", "importances"}``, most important first (see ``tunelab.importance``)."""
    from ..importance import get_param_importances

    shares = get_param_importances(
        as_study(study, "plot_param_importances"), evaluator=evaluator, params=params, target=target
    )
    return {"names": list(shares), "importances": list(shares.values())}


def plot_param_importances(
    study: Any,
    evaluator: Any = None,
    params: Sequence[str] | None = None,
    target: Target | None = None,
) -> Any:
    data = importance_data(study, evaluator, params, target)
    graph = go()
    fig = graph.Figure(
        graph.Bar(
            x=data["importances"][::-1],
            y=data["names"][::-1],
            orientation="h",
            text=[f"{v:.2f}" for v in data["importances"][::-1]],
            textposition="outside",
        )
    )
    fig.update_layout(
        title="Parameter importances",
        xaxis_title="Share of variation",
        template="plotly_white",
        xaxis_range=[0, min(1.0, max(data["importances"], default=1) * 1.15)],
    )
    return fig
