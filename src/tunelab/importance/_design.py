"""Turn a study's finished trials into the numeric design matrix the importance methods share.

Each parameter becomes one column in ``[-1, 1]``: an active value is the distribution's unit
coordinate in ``[0, 1]`` (so log ranges count uniformly in log space and each categorical choice
owns an equal slice), and a trial where a conditional parameter is absent gets ``-0.5``. The
measure of a column puts the share of trials where the parameter is absent on ``[-1, 0)`` and the
rest on ``[0, 1]``, so variance is attributed over the space the study actually searched.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._frozen import FrozenTrial, TrialState
from .._space import Categorical, Distribution
from .._validation import fail
from ..exceptions import InvalidParameterError

INACTIVE = -0.5


@dataclass
class Design:
    names: list[str]
    distributions: list[Distribution]
    X: np.ndarray  # (n_trials, n_params), columns in [-1, 1]
    y: np.ndarray  # (n_trials,)
    inactive_share: np.ndarray  # (n_params,): fraction of trials without the parameter
    # For each column, the categorical columns whose value decides whether it is set (its
    # parents in a conditional space, as the trials show them); empty for an unconditional one.
    parents: list[tuple[int, ...]] = field(default_factory=list)

    def measure(self, dim: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The measure of ``[low, high]`` along column ``dim`` (the whole column measures 1)."""
        p = self.inactive_share[dim]
        lo_in, hi_in = np.clip(low, -1.0, 0.0), np.clip(high, -1.0, 0.0)
        lo_act, hi_act = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
        return p * (hi_in - lo_in) + (1.0 - p) * (hi_act - lo_act)


def default_target(owner: str, n_objectives: int) -> Callable[[FrozenTrial], float]:
    if n_objectives != 1:
        raise InvalidParameterError(
            f"The 'target' parameter of {owner} must be given for a study with "
            f"{n_objectives} objectives. Pass e.g. target=lambda t: t.values[0]."
        )
    return lambda t: t.values[0]  # type: ignore[index]


def build_design(
    study: Any,
    params: Sequence[str] | None,
    target: Callable[[FrozenTrial], float] | None,
    owner: str,
) -> Design:
    if target is None:
        target = default_target(owner, len(study.directions))
    elif not callable(target):
        raise fail("target", owner, "None or a callable FrozenTrial -> float", target)
    trials = study.get_trials((TrialState.COMPLETE,), deepcopy=False)
    rows: list[FrozenTrial] = []
    ys: list[float] = []
    for t in trials:
        y = float(target(t))
        if math.isfinite(y):
            rows.append(t)
            ys.append(y)
    known: dict[str, Distribution] = {}
    for t in rows:
        for name, dist in t.distributions.items():
            known.setdefault(name, dist)
    if params is None:
        names = sorted(known)
    else:
        if isinstance(params, str) or not isinstance(params, Sequence):
            raise fail("params", owner, "None or a list of parameter names", params)
        missing = [p for p in params if p not in known]
        if missing:
            raise fail(
                "params",
                owner,
                f"a list of parameters of completed trials ({sorted(known)})",
                list(params),
                f"Unknown: {missing}.",
            )
        names = list(dict.fromkeys(params))
    if len(rows) < 2 or not names:
        raise InvalidParameterError(
            f"{owner} needs at least 2 completed trials with a finite target and at least one "
            f"parameter; study {study.study_name!r} has {len(rows)} such trials and "
            f"{len(names)} parameters. Run more trials first."
        )
    dists = [known[n] for n in names]
    X = np.full((len(rows), len(names)), INACTIVE)
    for r, t in enumerate(rows):
        for c, (name, dist) in enumerate(zip(names, dists)):
            if name in t.params:
                X[r, c] = dist.to_unit(t.params[name])
    inactive = (X < 0).mean(axis=0)
    return Design(
        names, dists, X, _unit_spread(np.asarray(ys, dtype=float)), inactive, _parents(X, dists)
    )


def _unit_spread(y: np.ndarray) -> np.ndarray:
    """``y`` centred and scaled to unit standard deviation (as is when constant).

    Importances are shares of variance, the same at any scale, but the evaluators' numerics are
    not: an objective around 1e-8 fell under fANOVA's "constant tree" threshold (every
    parameter got an equal share and a warning that the objective may be constant), and one
    around 1e300 overflowed when squared. Divided by its largest magnitude first, so that the
    spread itself can be computed."""
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak == 0.0:
        return y
    shrunk = y / peak
    spread = float(shrunk.std())
    if spread == 0.0:
        return y
    return (shrunk - shrunk.mean()) / spread


def _parents(X: np.ndarray, dists: Sequence[Distribution]) -> list[tuple[int, ...]]:
    """The categorical columns that decide, in these trials, whether each column is set: set
    wherever a conditional column is, and with every value of theirs either always or never
    going with it. ``if optimizer == "sgd": momentum`` makes optimizer momentum's parent."""
    active = X >= 0
    out: list[tuple[int, ...]] = []
    for c in range(X.shape[1]):
        present = active[:, c]
        if present.all() or not present.any():
            out.append(())
            continue
        found = []
        for k, dist in enumerate(dists):
            if k == c or not isinstance(dist, Categorical) or not active[present, k].all():
                continue
            values = X[active[:, k], k]
            decided = all(
                len(set(present[active[:, k]][values == v].tolist())) == 1
                for v in np.unique(values)
            )
            if decided:
                found.append(k)
        out.append(tuple(found))
    return out


def normalized(names: Sequence[str], scores: np.ndarray) -> dict[str, float]:
    """Scores clipped at 0 and scaled to sum to 1, largest first (equal shares if all are 0)."""
    scores = np.clip(np.nan_to_num(np.asarray(scores, dtype=float)), 0.0, None)
    total = scores.sum()
    if total <= 0 and len(scores) > 1:
        # Equal shares would read as "all equally important"; say that nothing was found.
        warnings.warn(
            "No parameter explains any of the objective's variance here, so the importances "
            "are equal shares, not a ranking. The objective may be constant, pure noise, or "
            "driven by an interaction, which only FanovaImportanceEvaluator (the default) sees.",
            stacklevel=3,
        )
    shares = scores / total if total > 0 else np.full(len(scores), 1.0 / len(scores))
    order = sorted(range(len(names)), key=lambda i: (-shares[i], names[i]))
    return {names[i]: float(shares[i]) for i in order}
