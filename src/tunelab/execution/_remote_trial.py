"""The trial an objective sees inside a worker: a proxy whose calls the driver answers.

Validation of arguments happens here, in the worker, so a bad ``suggest_float`` raises where the
user wrote it; everything that needs the study (sampling, storage, pruning) goes to the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .._space import (
    Distribution,
)
from .._trial import SuggestMethods, check_report

# The only Trial methods a worker may invoke on the driver.
REMOTE_METHODS = frozenset(
    {"suggest", "report", "report_values", "should_prune", "set_user_attr", "heartbeat"}
)


class RemoteTrial(SuggestMethods):
    """Stands in for :class:`tunelab.Trial` in another process or on another machine."""

    def __init__(
        self,
        call: Callable[[str, tuple[Any, ...]], Any],
        number: int,
        params: dict[str, Any],
        user_attrs: dict[str, Any],
        datetime_start: datetime | None,
        prefetched: dict[str, tuple[Distribution, Any]] | None = None,
    ) -> None:
        self._call = call
        self.number = number
        self._params = dict(params)
        self._user_attrs = dict(user_attrs)
        self._intermediate: dict[int, float] = {}
        self.datetime_start = datetime_start
        # Values the driver drew before dispatch: answered here without a round trip, and
        # reported back with the result so the driver stores them.
        self._prefetched = dict(prefetched or {})
        self.used_prefetched: dict[str, Distribution] = {}

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    def suggest(self, name: str, distribution: Distribution) -> Any:
        if name in self._params:
            return self._params[name]
        ahead = self._prefetched.get(name)
        if ahead is not None and ahead[0] == distribution:
            self.used_prefetched[name] = distribution
            self._params[name] = ahead[1]
            return ahead[1]
        value = self._call("suggest", (name, distribution))
        self._params[name] = value
        return value

    def report(self, value: float, step: int) -> None:
        # Checked here too, because some executors send reports without waiting for an answer.
        check_report(value, step)
        self._call("report", (value, step))
        self._intermediate[int(step)] = float(value)

    def report_values(self, values: Sequence[float], step: int) -> None:
        self._call("report_values", (list(values), step))

    def should_prune(self) -> bool:
        return bool(self._call("should_prune", ()))

    def set_user_attr(self, key: str, value: Any) -> None:
        self._call("set_user_attr", (key, value))
        self._user_attrs[key] = value

    def heartbeat(self) -> None:
        self._call("heartbeat", ())

    def __repr__(self) -> str:
        return f"RemoteTrial(number={self.number}, params={self._params!r})"


def serve_call(trial: Any, method: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """Run a worker's call on the driver's live trial; errors travel back to the worker."""
    if method not in REMOTE_METHODS:
        return "error", RuntimeError(f"Trial.{method} cannot be called from a worker.")
    try:
        return "ok", getattr(trial, method)(*args)
    except Exception as exc:
        return "error", exc
