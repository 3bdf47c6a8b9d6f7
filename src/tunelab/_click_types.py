"""Click parameter types the commands share."""

from __future__ import annotations

import math
from typing import Any

import click


class Seconds(click.ParamType):
    """A positive, finite number of seconds. ``click.FloatRange(min=0, min_open=True)`` lets
    ``nan`` and ``inf`` through, which the library then refused naming its own parameter
    (``Study.optimize``'s ``timeout`` for ``--timeout``), after a study had been created."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            seconds = value
        else:
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(
                f"{value!r} is not a positive, finite number of seconds (or leave the option out).",
                param,
                ctx,
            )
        return seconds


SECONDS = Seconds()
