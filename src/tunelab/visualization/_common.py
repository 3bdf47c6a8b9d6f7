"""What every figure shares: the studies and target it plots, and plotly loaded on demand."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._frozen import FrozenTrial, StudyDirection, TrialState
from .._space import Categorical, Distribution, Float, Int
from .._validation import fail
from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    from .._study import Study

Target = Callable[[FrozenTrial], float]


def as_studies(study: Any, owner: str) -> list[Study]:
    """One study or a list of them (to compare), checked."""
    from .._study import Study

    studies = list(study) if isinstance(study, (list, tuple)) else [study]
    if not studies or not all(isinstance(s, Study) for s in studies):
        raise fail("study", owner, "a Study or a non-empty list of studies", study)
    return studies


def as_study(study: Any, owner: str) -> Study:
    from .._study import Study

    if not isinstance(study, Study):
        raise fail("study", owner, "a Study", study)
    return study


def resolve_target(study: Study, target: Target | None, owner: str) -> Target:
    if target is not None:
        if not callable(target):
            raise fail("target", owner, "None or a callable FrozenTrial -> float", target)
        return target
    if len(study.directions) != 1:
        raise InvalidParameterError(
            f"The 'target' parameter of {owner} must be given for study {study.study_name!r}, "
            f"which has {len(study.directions)} objectives. Pass e.g. target=lambda t: t.values[0]."
        )
    return lambda t: t.values[0]  # type: ignore[index]


def minimizing(study: Study, target: Target | None) -> bool | None:
    """The direction of a best-so-far line, or None when a custom target has no known one."""
    if target is not None or len(study.directions) != 1:
        return None
    return study.directions[0] == StudyDirection.MINIMIZE


def scored(study: Study, target: Target) -> list[tuple[FrozenTrial, float]]:
    """Completed trials with a finite target, in number order."""
    out = []
    for t in study.get_trials((TrialState.COMPLETE,), deepcopy=False):
        y = float(target(t))
        if math.isfinite(y):
            out.append((t, y))
    return out


def pick_params(
    trials: Sequence[FrozenTrial], params: Sequence[str] | None, owner: str
) -> list[str]:
    known = sorted({name for t in trials for name in t.params})
    if params is None:
        return known
    if isinstance(params, str) or not isinstance(params, Sequence):
        raise fail("params", owner, "None or a list of parameter names", params)
    missing = [p for p in params if p not in known]
    if missing:
        raise fail("params", owner, f"a list of known parameters ({known})", list(params))
    return list(dict.fromkeys(params))


def choice_labels(dist: Categorical) -> list[str]:
    """One distinct label per choice: its plain text, or its repr where plain texts collide.

    A category axis merges equal labels, so None and "None", 1 and "1", True and "True" would
    share one tick and their trials one column; repr tells them apart, and only they need it,
    so an ordinary axis keeps labels such as a, b rather than 'a', 'b'.
    """
    plain = [str(c) for c in dist.choices]
    counts = Counter(plain)
    labels = [repr(c) if counts[text] > 1 else text for c, text in zip(dist.choices, plain)]
    if len(set(labels)) < len(labels):
        # A plain label can equal another choice's repr (["1", 1, "'1'"]); repr alone is
        # distinct for distinct choices.
        labels = [repr(c) for c in dist.choices]
    return labels


def choice_label(dist: Categorical, labels: list[str], value: Any) -> str:
    """The label of a trial's value on its axis."""
    if dist.contains(value):
        return labels[dist.index(value)]
    # A trial stored with another distribution under the same name: show what it holds.
    return str(value)


def axis_info(dist: Distribution) -> dict[str, Any]:
    """How an axis shows a parameter: 'log', 'categorical' (with its choices) or 'linear'."""
    if isinstance(dist, Categorical):
        return {"scale": "categorical", "choices": choice_labels(dist)}
    if isinstance(dist, (Float, Int)) and dist.log:
        return {"scale": "log", "low": dist.low, "high": dist.high}
    return {"scale": "linear", "low": dist.low, "high": dist.high}  # type: ignore[attr-defined]


def distribution_of(trials: Sequence[FrozenTrial], name: str) -> Distribution:
    for t in trials:
        if name in t.distributions:
            return t.distributions[name]
    raise KeyError(name)


def go() -> Any:
    """plotly.graph_objects, or an ImportError that names the extra to install."""
    try:
        import plotly.graph_objects as graph_objects
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tunelab.visualization needs plotly: pip install 'tunelab[plot]'."
        ) from exc
    return graph_objects


STATE_COLORS = {
    "COMPLETE": "#1f77b4",
    "PRUNED": "#ff7f0e",
    "FAIL": "#d62728",
    "RUNNING": "#2ca02c",
    "WAITING": "#7f7f7f",
}

# Optuna's grey for trials that violate their constraints: drawn, but never a candidate.
INFEASIBLE_COLOR = "#cccccc"
