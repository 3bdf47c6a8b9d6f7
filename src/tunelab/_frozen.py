"""Trial records as the storage keeps them: states, directions and the immutable FrozenTrial."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ._space import Distribution
from ._suggest import SuggestMethods
from .exceptions import InvalidParameterError


class TrialState(enum.Enum):
    RUNNING = "RUNNING"
    WAITING = "WAITING"  # enqueued by the user, not yet picked up by a worker
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    def __repr__(self) -> str:
        return f"TrialState.{self.name}"


class StudyDirection(enum.Enum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass
class FrozenTrial(SuggestMethods):
    """A snapshot of one trial. Finished trials never change; treat them as read-only.

    It can stand in for a live trial: ``objective(study.best_trial)`` re-runs the objective on
    the trial's own parameters (to refit the best model, say); ``suggest_*`` return the stored
    values, ``report`` records nothing and ``should_prune`` is False.
    """

    number: int
    state: TrialState
    values: list[float] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    intermediate_values: dict[int, float] = field(default_factory=dict)
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None
    fail_reason: str | None = None
    trial_id: int = -1

    @property
    def value(self) -> float | None:
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise ValueError(
                f"Trial {self.number} has {len(self.values)} objective values; use `values`."
            )
        return self.values[0]

    @property
    def duration(self) -> float | None:
        """Seconds from start to completion, or None while running."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return (self.datetime_complete - self.datetime_start).total_seconds()

    @property
    def constraints(self) -> dict[str, float]:
        """Constraint values by name (each <= 0 when satisfied), from ``Trial.set_constraint``
        and a sampler's ``constraints_func`` (named "0", "1", ...); empty when none."""
        from ._constraints import constraint_values

        return constraint_values(self)

    @property
    def feasible(self) -> bool:
        """Every constraint satisfied (True for a trial without constraint values)."""
        from ._constraints import is_feasible

        return is_feasible(self)

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate_values) if self.intermediate_values else None

    def suggest(self, name: str, distribution: Distribution) -> Any:
        """The value this trial holds for ``name``, checked against ``distribution``."""
        if name not in self.params:
            raise InvalidParameterError(
                f"Trial {self.number} has no parameter {name!r} (it holds "
                f"{sorted(self.params)}); a finished trial can only replay the parameters it ran."
            )
        value = self.params[name]
        if not distribution.contains(value):
            raise InvalidParameterError(
                f"Parameter {name!r}: trial {self.number} holds {value!r}, which {distribution!r} "
                "does not contain; the objective's space changed since this trial ran."
            )
        return value

    def report(self, value: float, step: int) -> None:
        """Nothing to record: the trial is finished (kept so an objective can be replayed)."""

    def report_values(self, values: Sequence[float], step: int) -> None:
        """Nothing to record, as ``report``."""

    def should_prune(self) -> bool:
        return False

    def heartbeat(self) -> None:
        """Nothing to renew: a finished trial holds no lease."""

    def set_user_attr(self, key: str, value: Any) -> None:
        """Set on this snapshot only; the stored trial is finished and does not change."""
        self.user_attrs[key] = value

    def set_constraint(self, name: str, value: float) -> None:
        """Set on this snapshot only, as ``set_user_attr``: a replayed objective's constraint
        shows in ``constraints`` and ``feasible`` of the snapshot."""
        from ._constraints import check_constraint_value, constraint_key

        self.system_attrs[constraint_key(name)] = check_constraint_value(name, value)

    def copy(self) -> FrozenTrial:
        return replace(
            self,
            values=None if self.values is None else list(self.values),
            params=dict(self.params),
            distributions=dict(self.distributions),
            user_attrs=dict(self.user_attrs),
            system_attrs=dict(self.system_attrs),
            intermediate_values=dict(self.intermediate_values),
        )

    def __repr__(self) -> str:
        value = self.values if self.values is None or len(self.values) != 1 else self.values[0]
        return f"FrozenTrial(number={self.number}, state={self.state!r}, value={value!r}, params={self.params!r})"


def encode_float(value: float) -> tuple[float | None, str]:
    """Split a float into a portable (value, kind) pair: SQLite turns NaN into NULL."""
    if math.isnan(value):
        return None, "nan"
    if math.isinf(value):
        return None, "inf" if value > 0 else "-inf"
    return float(value), "finite"


def decode_float(value: float | None, kind: str) -> float:
    if kind == "finite":
        return float(value)  # type: ignore[arg-type]
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[kind]
