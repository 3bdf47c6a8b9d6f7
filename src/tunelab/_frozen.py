"""Trial records as the storage keeps them: states, directions and the immutable FrozenTrial."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ._space import Distribution


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
class FrozenTrial:
    """A snapshot of one trial. Finished trials never change; treat them as read-only."""

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
