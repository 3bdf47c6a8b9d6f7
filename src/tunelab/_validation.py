"""One place, one message shape for argument checks (modelled on scikit-learn's).

"The 'n_trials' parameter of Study.optimize must be a positive int or None. Got -3 instead."
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from .exceptions import InvalidParameterError


def fail(param: str, owner: str, rule: str, value: Any, hint: str = "") -> InvalidParameterError:
    message = f"The {param!r} parameter of {owner} must be {rule}. Got {value!r} instead."
    if hint:
        message += f" {hint}"
    return InvalidParameterError(message)


def plain_scalar(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (np.float64 -> float, np.str_ -> str).

    Storages hand back plain JSON values, so a numpy choice or fixed value kept as given would
    never equal its stored twin. Tested by module name: ``import tunelab`` loads no numpy."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return value.item()
    return value


def is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def positive_int_or_none(value: Any, param: str, owner: str) -> int | None:
    if value is None:
        return None
    if not is_int(value) or value <= 0:
        raise fail(param, owner, "a positive int or None", value)
    return int(value)


def non_negative_int_or_none(value: Any, param: str, owner: str) -> int | None:
    if value is None:
        return None
    if not is_int(value) or value < 0:
        raise fail(param, owner, "a non-negative int or None", value)
    return int(value)


def positive_number_or_none(value: Any, param: str, owner: str) -> float | None:
    if value is None:
        return None
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        raise fail(param, owner, "a positive number of seconds or None", value)
    return float(value)


def finite_number(value: Any, param: str, owner: str) -> float:
    if not is_real(value) or not math.isfinite(value):
        raise fail(param, owner, "a finite number", value)
    return float(value)


def one_of(value: Any, options: tuple[str, ...], param: str, owner: str) -> str:
    if value not in options:
        rule = "one of " + ", ".join(repr(o) for o in options)
        raise fail(param, owner, rule, value)
    return value


def seed_or_none(value: Any, param: str, owner: str) -> int | None:
    if value is None:
        return None
    if not is_int(value) or value < 0:
        raise fail(param, owner, "a non-negative int or None", value)
    return int(value)


def json_attr(owner: str, key: Any, value: Any) -> Any:
    """A user attribute as every storage returns it: JSON's own types, so memory and SQL agree
    (a tuple comes back a list, an int key a string) and numpy results (np.argmin, an array of
    scores) are stored as the numbers they hold instead of failing on SQL storages only."""
    if not isinstance(key, str):
        raise fail("key", owner, "a str", key)
    check_name(f"{owner}: attribute key", key)

    def plain(item: Any) -> Any:
        if type(item).__module__ == "numpy" and hasattr(item, "tolist"):
            return item.tolist()
        raise TypeError(type(item).__name__)

    try:
        return json.loads(json.dumps(value, default=plain))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{owner}: the value of attribute {key!r} cannot be stored ({exc}): attributes are "
            "kept as JSON (numbers, strings, bools, None, lists and dicts with string keys). "
            "Convert it, for example to a list, a string or a number."
        ) from None


# Names live in 512-character columns of the SQL storages, and PostgreSQL text refuses NUL: one
# rule for every backend, so a study that works in memory also works in a database.
MAX_NAME_LENGTH = 512


def check_name(what: str, name: str) -> None:
    """Refuse a study, parameter or attribute name no storage could hold alike."""
    if "\x00" in name:
        reason = "it contains a NUL character (\\x00), which databases refuse"
    elif len(name) > MAX_NAME_LENGTH:
        reason = f"it has {len(name)} characters; names take at most {MAX_NAME_LENGTH}"
    else:
        return
    shown = repr(name) if len(name) <= 60 else repr(name[:60]) + "..."
    raise InvalidParameterError(f"{what} {shown} cannot be stored: {reason}.")


def array_ndim(value: Any) -> int:
    """The number of dimensions of an array or tensor (numpy, torch, pandas...), else 0."""
    ndim = getattr(value, "ndim", 0)
    return ndim if isinstance(ndim, int) else 0


def as_float(value: Any) -> float | None:
    """``float(value)`` for one objective value or report, None for what is not one: anything
    ``float()`` takes (numpy and torch scalars, 0-d arrays, ``Decimal``) but strings, booleans,
    sequences and arrays (Study._check_values explains why)."""
    if isinstance(value, (str, bytes, bool, complex)) or isinstance(value, Sequence):
        return None
    if array_ndim(value):
        return None
    dtype = getattr(value, "dtype", None)
    if dtype is not None and (getattr(dtype, "kind", None) == "b" or str(dtype) == "torch.bool"):
        return None  # numpy's and torch's booleans, refused like Python's
    if dtype is not None and (getattr(dtype, "kind", None) == "c" or "complex" in str(dtype)):
        # float() of a numpy complex drops the imaginary part with only a ComplexWarning.
        return None
    try:
        return float(value)
    except Exception:  # TypeError, ValueError, or whatever a __float__ raises
        return None
