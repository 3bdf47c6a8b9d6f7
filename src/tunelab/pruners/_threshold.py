"""Prune a trial whose latest value leaves a fixed band (or is NaN)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._validation import fail, is_real
from ._base import BasePruner
from ._common import is_check_step, non_negative_int, positive_int, single_direction

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

OWNER = "ThresholdPruner"


def _bound(value: Any, param: str) -> float | None:
    if value is None:
        return None
    if not is_real(value) or math.isnan(value):
        raise fail(param, OWNER, "a number or None", value)
    return float(value)


class ThresholdPruner(BasePruner):
    """Stop a trial whose latest report is below ``lower``, above ``upper``, or NaN.

    Needs no other trial, so it works from the first trial. It reads ``trial.report``, which
    only single-objective studies have; a multi-objective study is refused (ParetoPruner reads
    ``report_values``).

    Args:
        lower: prune below this value (None: no lower bound).
        upper: prune above this value (None: no upper bound). At least one bound is needed.
        n_warmup_steps: no pruning before this step.
        interval_steps: check every this many steps after the warm-up.
    """

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        self.lower = _bound(lower, "lower")
        self.upper = _bound(upper, "upper")
        if self.lower is None and self.upper is None:
            raise fail(
                "lower",
                OWNER,
                "a number when upper is None",
                lower,
                "Give at least one of lower and upper.",
            )
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise fail("lower", OWNER, f"<= upper ({self.upper!r})", lower)
        self.n_warmup_steps = non_negative_int(n_warmup_steps, "n_warmup_steps", OWNER)
        self.interval_steps = positive_int(interval_steps, "interval_steps", OWNER)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        single_direction(study, OWNER)
        step = trial.last_step
        if step is None or not is_check_step(
            step, trial.intermediate_values, self.n_warmup_steps, self.interval_steps
        ):
            return False
        value = trial.intermediate_values[step]
        if math.isnan(value):
            return True
        if self.lower is not None and value < self.lower:
            return True
        return self.upper is not None and value > self.upper

    def __repr__(self) -> str:
        return (
            f"ThresholdPruner(lower={self.lower!r}, upper={self.upper!r}, "
            f"n_warmup_steps={self.n_warmup_steps}, interval_steps={self.interval_steps})"
        )
