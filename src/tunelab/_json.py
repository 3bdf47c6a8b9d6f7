"""Stored values as strict JSON, for the CLI's output and the dashboard's API.

JSON has no NaN or infinity: such floats travel as the strings "nan", "inf" and "-inf", wherever
they sit (values, parameters, attributes), so any JSON parser reads what tunelab prints.
"""

from __future__ import annotations

import math
from typing import Any


def json_float(value: float | None) -> float | str | None:
    if value is None:
        return None
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def json_value(value: Any) -> Any:
    """Any stored value (attributes, parameters) made JSON-safe, recursively."""
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)
