"""Search-space distributions: validation, membership, and the map to and from the unit interval.

Every distribution maps its values onto [0, 1] so that quasi-random and model-based samplers can
work in one cube. Log-scaled ranges are uniform in log space; integer and stepped ranges widen by
half a step on each side so every grid value owns an equal share of the interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._validation import is_int, is_real, plain_scalar
from .exceptions import InvalidParameterError

CategoricalChoice = None | bool | int | float | str


def _bound_error(name: str, message: str) -> InvalidParameterError:
    where = f"Parameter {name!r}: " if name else ""
    return InvalidParameterError(where + message)


class Distribution:
    """Common behaviour of Float, Int and Categorical (frozen dataclasses)."""

    def to_unit(self, value: Any) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_internal(self, value: Any) -> float:
        """The float stored in the database (categoricals store the choice's index)."""
        return float(value)

    def to_external(self, internal: float) -> Any:
        return internal

    def contains(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def is_single(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def check(self, name: str = "") -> Distribution:
        """Re-run validation with the parameter's name in the message."""
        try:
            return type(self)(**{k: v for k, v in self.to_dict().items() if k != "type"})
        except InvalidParameterError as exc:
            raise _bound_error(name, str(exc)) from None


def _warn_shortened(kind: str, low: str, high: str, step: str, last: str) -> None:
    import warnings

    # stacklevel 4: past this helper, __post_init__ and the dataclass __init__, to the caller.
    warnings.warn(
        f"{kind}(low={low}, high={high}, step={step}): the range is not a whole number of "
        f"steps, so it ends at {last}, the last step inside it. Change high or step to "
        "silence this.",
        stacklevel=4,
    )


def _checked_log(log: Any) -> bool:
    log = plain_scalar(log)
    if not isinstance(log, bool):
        # A quoted "false" from a job file is truthy: taken as given it meant log scale.
        raise InvalidParameterError(f"`log` must be True or False, got log={log!r}.")
    return log


@dataclass(frozen=True)
class Float(Distribution):
    """A real number in ``[low, high]``; ``log=True`` samples uniformly in log space."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "log", _checked_log(self.log))
        for label, bound in (("low", self.low), ("high", self.high)):
            if not is_real(bound) or not math.isfinite(bound):
                raise InvalidParameterError(
                    f"`{label}` must be a finite number, got {label}={bound!r}."
                )
        if self.low > self.high:
            raise InvalidParameterError(
                f"`low <= high` must hold, got low={self.low!r}, high={self.high!r}. "
                "Swap the bounds."
            )
        if self.log and self.low <= 0:
            raise InvalidParameterError(
                f"`low > 0` must hold when log=True, got low={self.low!r}. "
                "Use a positive lower bound or log=False."
            )
        if self.step is not None:
            if self.log:
                raise InvalidParameterError(
                    f"`step` cannot be combined with log=True, got step={self.step!r}. "
                    "Drop one of them."
                )
            if not is_real(self.step) or not math.isfinite(self.step):
                raise InvalidParameterError(
                    f"`step` must be a finite number or None, got step={self.step!r}."
                )
            if self.step <= 0:
                raise InvalidParameterError(f"`step > 0` must hold, got step={self.step!r}.")
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        if not self.log and not math.isfinite(self.high - self.low):
            # Every draw is low + u * (high - low): with an infinite width it is an edge.
            raise InvalidParameterError(
                f"the range low={self.low!r}, high={self.high!r} is wider than a float can "
                "hold (high - low overflows); narrow it, or use log=True on a positive range."
            )
        if self.step is not None:
            object.__setattr__(self, "step", float(self.step))
            # A range that is not a whole number of steps ends at the last step inside it,
            # written as the user would (0.9, not 0.8999999999999999 from 3 * 0.3).
            n = math.floor((self.high - self.low) / self.step + 1e-9)
            last = float(f"{self.low + n * self.step:.15g}")
            # Relative to the range's own scale: an absolute 1e-9 hid the shortening of
            # Float(0, 1e-10, step=3e-11).
            if abs(last - self.high) > 1e-9 * max(abs(self.low), abs(self.high), self.step):
                _warn_shortened(
                    "Float", f"{self.low:g}", f"{self.high:g}", f"{self.step:g}", f"{last:g}"
                )
            object.__setattr__(self, "high", last)

    @property
    def n_steps(self) -> int | None:
        if self.step is None:
            return None
        return int(round((self.high - self.low) / self.step)) + 1

    def is_single(self) -> bool:
        return self.low == self.high

    def contains(self, value: Any) -> bool:
        if not is_real(value) or not math.isfinite(value) or (self.log and value <= 0):
            return False
        # Float noise is forgiven relative to the range's scale: an absolute 1e-12 took in
        # 0 and negative values for Float(1e-14, 1e-10, log=True), whose log then failed.
        slack = 1e-12 * max(abs(self.low), abs(self.high))
        if not self.low - slack <= value <= self.high + slack:
            return False
        if self.step is not None:
            k = (value - self.low) / self.step
            return abs(k - round(k)) < 1e-6
        return True

    def _edges(self) -> tuple[float, float]:
        if self.step is not None:
            return self.low - self.step / 2, self.high + self.step / 2
        if self.log:
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def to_unit(self, value: Any) -> float:
        lo, hi = self._edges()
        if hi == lo:
            return 0.5
        x = math.log(value) if self.log else float(value)
        return min(1.0, max(0.0, (x - lo) / (hi - lo)))

    def from_unit(self, u: float) -> float:
        lo, hi = self._edges()
        x = lo + min(1.0, max(0.0, float(u))) * (hi - lo)
        if self.step is not None:
            k = min(self.n_steps - 1, max(0, round((x - self.low) / self.step)))  # type: ignore[operator]
            return self.round_to_step(self.low + k * self.step)
        value = math.exp(x) if self.log else x
        return min(self.high, max(self.low, value))

    def round_to_step(self, value: float) -> float:
        if self.step is None:
            return float(value)
        k = round((value - self.low) / self.step)
        # Round away float noise of `low + k * step` (0.30000000000000004 prints as 0.3), to
        # 12 decimals or, for a step below 1e-6, six digits finer than the step (a fixed 12
        # decimals merged every point of a 1e-14 step into its neighbours).
        digits = max(12, 6 - math.floor(math.log10(self.step)))
        return float(round(self.low + k * self.step, digits))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "float",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
        }


_LARGEST_EXACT_INT = 2**53


@dataclass(frozen=True)
class Int(Distribution):
    """An integer in ``[low, high]`` on a grid of ``step``; ``log=True`` needs ``low >= 1``.

    Both bounds lie within ``+-2**53``, the integers a float64 (a stored parameter) holds exactly.
    """

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "log", _checked_log(self.log))
        for label, bound in (("low", self.low), ("high", self.high)):
            if not is_int(bound):
                if is_real(bound) and math.isfinite(bound) and float(bound).is_integer():
                    object.__setattr__(self, label, int(bound))
                    continue
                raise InvalidParameterError(f"`{label}` must be an integer, got {label}={bound!r}.")
        if self.low > self.high:
            raise InvalidParameterError(
                f"`low <= high` must hold, got low={self.low!r}, high={self.high!r}. "
                "Swap the bounds."
            )
        if not is_int(self.step):
            # Integral floats pass, as they do for the bounds (step=2.0 is step 2).
            if not (is_real(self.step) and math.isfinite(self.step) and self.step.is_integer()):
                raise InvalidParameterError(
                    f"`step` must be a positive integer, got step={self.step!r}."
                )
            object.__setattr__(self, "step", int(self.step))
        if self.step <= 0:
            raise InvalidParameterError(f"`step > 0` must hold, got step={self.step!r}.")
        if self.log and self.step != 1:
            raise InvalidParameterError(
                f"`step` cannot be combined with log=True, got step={self.step!r}. "
                "Drop one of them."
            )
        if self.log and self.low < 1:
            raise InvalidParameterError(
                f"`low >= 1` must hold when log=True, got low={self.low!r}. "
                "Use a positive lower bound or log=False."
            )
        for label, bound in (("low", self.low), ("high", self.high)):
            # Storages keep a parameter as a float64, which holds every integer only up to
            # 2**53: a larger one would come back as a neighbour of the value the objective saw.
            if abs(int(bound)) > _LARGEST_EXACT_INT:
                raise InvalidParameterError(
                    f"`{label}` must lie within +-2**53 ({_LARGEST_EXACT_INT}), got "
                    f"{label}={bound!r}: larger integers are not stored exactly. Draw a smaller "
                    "integer (an offset or an exponent), or list the values in a Categorical."
                )
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "step", int(self.step))
        last = int(self.low + (int(self.high) - self.low) // self.step * self.step)
        if last != self.high:
            _warn_shortened("Int", str(self.low), str(self.high), str(self.step), str(last))
        object.__setattr__(self, "high", last)

    @property
    def n_steps(self) -> int:
        return (self.high - self.low) // self.step + 1

    def is_single(self) -> bool:
        return self.low == self.high

    def contains(self, value: Any) -> bool:
        if not is_real(value) or not math.isfinite(value) or not float(value).is_integer():
            return False
        return self.low <= value <= self.high and (int(value) - self.low) % self.step == 0

    def _edges(self) -> tuple[float, float]:
        if self.log:
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.low - self.step / 2, self.high + self.step / 2

    def to_unit(self, value: Any) -> float:
        lo, hi = self._edges()
        x = math.log(value) if self.log else float(value)
        return min(1.0, max(0.0, (x - lo) / (hi - lo)))

    def from_unit(self, u: float) -> int:
        lo, hi = self._edges()
        x = lo + min(1.0, max(0.0, float(u))) * (hi - lo)
        value = math.exp(x) if self.log else x
        return self.round_to_step(value)

    def round_to_step(self, value: float) -> int:
        k = round((value - self.low) / self.step)
        return int(min(self.high, max(self.low, self.low + k * self.step)))

    def to_internal(self, value: Any) -> float:
        return float(value)

    def to_external(self, internal: float) -> int:
        return int(round(internal))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "int",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "step": self.step,
        }


@dataclass(frozen=True)
class Categorical(Distribution):
    """One of a fixed list of choices (None, bool, int, float or str, so they store as JSON)."""

    choices: tuple[CategoricalChoice, ...] = field()

    def __init__(self, choices: Sequence[CategoricalChoice]) -> None:
        if getattr(choices, "ndim", None) == 1 and hasattr(choices, "tolist"):
            choices = choices.tolist()  # a 1-d array (np.array([16, 32, 64])), as Optuna takes
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            raise InvalidParameterError(
                f"`choices` must be a list or tuple of values, got {choices!r}."
            )
        if len(choices) == 0:
            raise InvalidParameterError(
                "`choices` must not be empty, got []. Give at least one choice."
            )
        choices = [plain_scalar(choice) for choice in choices]
        for choice in choices:
            if choice is not None and not isinstance(choice, (bool, int, float, str)):
                raise InvalidParameterError(
                    f"each choice must be None, bool, int, float or str (so it can be stored), "
                    f"got {choice!r} of type {type(choice).__name__}. Use a string key and map it "
                    "to the object inside the objective."
                )
        seen: list[Any] = []
        for choice in choices:
            if any(_same_choice(choice, other) for other in seen):
                raise InvalidParameterError(f"`choices` must be unique, got {choice!r} twice.")
            seen.append(choice)
        object.__setattr__(self, "choices", tuple(choices))

    # Choice by choice, as the choices themselves are told apart: a NaN choice equals itself
    # (tuple equality said no, so every trial after the first failed "is Categorical((1.0,
    # nan)) here but was Categorical((1.0, nan))"), and 0 is not False (tuple equality said
    # yes, so [0, 1] and [False, True] passed for one distribution).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        return len(self.choices) == len(other.choices) and all(
            _same_choice(a, b) for a, b in zip(self.choices, other.choices)
        )

    def __hash__(self) -> int:
        return hash(tuple((type(c).__name__, repr(c)) for c in self.choices))

    def is_single(self) -> bool:
        return len(self.choices) == 1

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.choices):
            if _same_choice(choice, value):
                return i
        raise InvalidParameterError(f"{value!r} is not one of the choices {list(self.choices)!r}.")

    def contains(self, value: Any) -> bool:
        return any(_same_choice(choice, value) for choice in self.choices)

    def to_internal(self, value: Any) -> float:
        return float(self.index(value))

    def to_external(self, internal: float) -> CategoricalChoice:
        return self.choices[int(round(internal))]

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> CategoricalChoice:
        i = min(len(self.choices) - 1, max(0, int(math.floor(float(u) * len(self.choices)))))
        return self.choices[i]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "categorical", "choices": list(self.choices)}

    def check(self, name: str = "") -> Distribution:
        return self


def as_given(distribution: Distribution, value: Any) -> Any:
    """``value`` as ``distribution`` holds it: for a categorical, the one choice of another
    number type equal to it (an enqueued ``1`` for the choice ``1.0``, as Optuna takes it);
    anything else unchanged. A bool never stands for a number, nor a number for a bool."""
    if not isinstance(distribution, Categorical) or distribution.contains(value):
        return value
    if isinstance(value, bool) or not is_real(value):
        return value
    equal = [
        c for c in distribution.choices if is_real(c) and not isinstance(c, bool) and c == value
    ]
    return equal[0] if len(equal) == 1 else value


def outside_message(name: str, what: str, value: Any, distribution: Distribution) -> str:
    """Why ``value`` (``what``: "the enqueued value", "grid value") is refused for ``name``."""
    if isinstance(distribution, Categorical):
        equal = [c for c in distribution.choices if _equal_but_typed(c, value)]
        if equal:
            return (
                f"Parameter {name!r}: {what} {value!r} ({type(value).__name__}) is not one of "
                f"the choices {list(distribution.choices)!r}: it equals the choice "
                f"{equal[0]!r} ({type(equal[0]).__name__}), but choices are told apart by type "
                f"(0 is not False). Give {equal[0]!r}."
            )
        return (
            f"Parameter {name!r}: {what} {value!r} is not one of the choices "
            f"{list(distribution.choices)!r}."
        )
    if (
        isinstance(distribution, Int)
        and is_real(value)
        and distribution.low <= value <= distribution.high
    ):
        why = "not a whole number" if not float(value).is_integer() else "off the step grid"
        return (
            f"Parameter {name!r}: {what} {value!r} is not a value of {distribution!r}: it is {why}."
        )
    return f"Parameter {name!r}: {what} {value!r} lies outside {distribution!r}."


def _equal_but_typed(choice: Any, value: Any) -> bool:
    try:
        return bool(choice == value) and type(choice) is not type(value)
    except Exception:  # noqa: BLE001 - an exotic value's __eq__ just means "not equal"
        return False


def _same_choice(a: Any, b: Any) -> bool:
    # True == 1 in Python; as choices they are different things.
    return type(a) is type(b) and (
        a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
    )


def distribution_from_dict(data: Mapping[str, Any]) -> Distribution:
    kind = data.get("type")
    args = {k: v for k, v in data.items() if k != "type"}
    if kind == "float":
        return Float(**args)
    if kind == "int":
        return Int(**args)
    if kind == "categorical":
        return Categorical(args["choices"])
    raise InvalidParameterError(f"Unknown distribution type {kind!r} in {dict(data)!r}.")


def distribution_from_json(text: str) -> Distribution:
    return distribution_from_dict(json.loads(text))


# ---------------------------------------------------------------------------------------------
# Declarative spaces. A space is a dict {name: Distribution | {choice: sub-space, ...}}: a dict
# value is a conditional categorical whose chosen branch adds that branch's parameters.
# ---------------------------------------------------------------------------------------------

SpaceNode = Distribution | Mapping[str, Any]


def validate_space(
    space: Mapping[str, Any],
    owner: str = "Study.ask",
    _seen: dict[str, Distribution | None] | None = None,
) -> None:
    """Check a declarative space once, naming the first bad parameter.

    A name may recur in several branches with the same distribution (``C`` for both an SVM and
    a logistic regression), as job files and define-by-run objectives allow: a study holds one
    distribution per name, so a recurring name with another one, or a branch choice's name
    reused for a parameter, is refused.
    """
    if not isinstance(space, Mapping):
        raise InvalidParameterError(
            f"The 'space' parameter of {owner} must be a dict of name -> distribution. "
            f"Got {space!r} instead."
        )
    seen: dict[str, Distribution | None] = {} if _seen is None else _seen  # None: a choice
    for name, node in space.items():
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(f"Parameter names must be non-empty strings, got {name!r}.")
        if isinstance(node, Distribution):
            _check_recurring(name, node, seen)
            seen[name] = node
            continue
        if isinstance(node, Mapping):
            if not node:
                raise InvalidParameterError(
                    f"Parameter {name!r}: a conditional branch dict must name at least one choice."
                )
            Categorical(list(node.keys()))
            _check_recurring(name, None, seen)
            seen[name] = None
            for sub in node.values():
                if sub is None:
                    continue
                validate_space(sub, owner, seen)
            continue
        raise InvalidParameterError(
            f"Parameter {name!r}: expected a tunelab distribution (Float, Int, Categorical) or a "
            f"dict of choice -> sub-space, got {node!r}."
        )


def _check_recurring(
    name: str, node: Distribution | None, seen: Mapping[str, Distribution | None]
) -> None:
    if name not in seen:
        return
    earlier = seen[name]
    if node is not None and earlier is not None:
        if node == earlier:
            return
        raise InvalidParameterError(
            f"Parameter {name!r} appears twice in the space, as {earlier!r} and as {node!r}; a "
            "study gives a name one distribution: use the same one, or give each its own name."
        )
    raise InvalidParameterError(
        f"Parameter {name!r} names both a branch choice and another parameter of the space; "
        "give them different names."
    )


def unconditional_part(space: Mapping[str, Any]) -> dict[str, Distribution]:
    """The parameters every trial of this space has: what a sampler can suggest jointly."""
    flat: dict[str, Distribution] = {}
    for name, node in space.items():
        if isinstance(node, Distribution):
            flat[name] = node
        else:
            flat[name] = Categorical(list(node.keys()))
    return flat


def sample_space(trial: Any, space: Mapping[str, Any]) -> dict[str, Any]:
    """Draw every parameter of a declarative space through ``trial.suggest`` (define-by-run),
    following conditional branches; returns the parameters drawn, in order."""
    drawn: dict[str, Any] = {}
    for name, node in space.items():
        if isinstance(node, Distribution):
            drawn[name] = trial.suggest(name, node)
            continue
        choice = trial.suggest(name, Categorical(list(node.keys())))
        drawn[name] = choice
        branch = node[choice]
        if branch:
            drawn.update(sample_space(trial, branch))
    return drawn
