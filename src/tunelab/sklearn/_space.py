"""Turn a scikit-learn style ``param_space`` into a tunelab declarative space.

Users write spaces the way GridSearchCV and RandomizedSearchCV take them: lists of values,
scipy frozen distributions, tunelab distributions, conditional dicts, or a list of such dicts.
The study only stores JSON-able values, so every leaf gets an internal distribution plus a
decoder that turns the stored value back into what ``estimator.set_params`` receives.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._space import Categorical, Distribution, Float, Int, validate_space
from .._validation import plain_scalar
from ..exceptions import InvalidParameterError

OWNER = "SearchCV"
# Selector of a list-of-dicts space; `@` cannot appear in a scikit-learn parameter name.
GRID_SELECTOR = "@grid"

Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@dataclass
class ConvertedSpace:
    """A tunelab space plus the map from stored values back to estimator parameters."""

    space: dict[str, Any]
    decoders: dict[str, Decoder] = field(default_factory=dict)
    # internal name -> estimator parameter name (None: a selector with no estimator parameter)
    external: dict[str, str | None] = field(default_factory=dict)
    # True when every leaf is a finite list of choices, so the space can be enumerated.
    finite: bool = True

    def decode(self, internal_params: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in internal_params.items():
            target = self.external.get(name)
            if target is None:
                continue
            out[target] = self.decoders[name](value)
        return out

    def enumerate(self) -> list[dict[str, Any]]:
        """Every point of a finite space, in ParameterGrid's order (keys sorted, last fastest)."""
        return _enumerate(self.space)


def _enumerate(space: Mapping[str, Any]) -> list[dict[str, Any]]:
    options_per_key = []
    # By the parameter's own name: with the branch suffix attached, "sc2__k@0" sorted before
    # "sc@0" ('@' comes after the digits), unlike ParameterGrid's "sc" before "sc2__k".
    for name in sorted(space, key=lambda name: (name.rsplit("@", 1)[0], name)):
        node = space[name]
        if isinstance(node, Categorical):
            options_per_key.append([{name: c} for c in node.choices])
        else:
            opts = []
            for choice, sub in node.items():
                for point in _enumerate(sub) if sub else [{}]:
                    opts.append({name: choice, **point})
            options_per_key.append(opts)
    points = []
    for combo in itertools.product(*options_per_key):
        merged: dict[str, Any] = {}
        for part in combo:
            merged.update(part)
        points.append(merged)
    return points


def _storable(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _categorical(name: str, values: Sequence[Any]) -> tuple[Categorical, Decoder]:
    values = list(values)
    if not values:
        raise InvalidParameterError(
            f"Parameter {name!r} of param_space has an empty list of values; give at least one."
        )
    plain = [plain_scalar(v) for v in values]
    if all(_storable(v) for v in plain):
        choices: list[Any] = plain
    else:
        # Objects (estimators, tuples, callables) are stored by a readable unique label.
        choices, seen = [], set()
        for i, v in enumerate(values):
            label = repr(v) if len(repr(v)) <= 80 else f"{type(v).__name__}#{i}"
            if label in seen:
                label = f"{label}#{i}"
            seen.add(label)
            choices.append(label)
    try:
        dist = Categorical(choices)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"Parameter {name!r} of param_space: {exc}") from None
    return dist, lambda stored: values[dist.index(stored)]


def _from_scipy(name: str, rv: Any) -> tuple[Distribution, Decoder]:
    dist_name = getattr(getattr(rv, "dist", None), "name", "")
    low, high = (float(b) for b in rv.support())
    if math.isnan(low) or math.isnan(high):
        # scipy gives a distribution with invalid arguments a NaN support instead of an error.
        raise InvalidParameterError(
            f"Parameter {name!r} of param_space: the scipy distribution {dist_name!r} got "
            f"invalid arguments {tuple(getattr(rv, 'args', ()))!r}; check them (for example "
            "loguniform(a, b) needs 0 < a < b)."
        )
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidParameterError(
            f"Parameter {name!r} of param_space: the scipy distribution {dist_name!r} has "
            f"unbounded support ({low}, {high}); a search needs a bounded range. Use a bounded "
            "one (loguniform, uniform, randint) or tunelab.Float/Int."
        )
    if dist_name in ("loguniform", "reciprocal"):
        return Float(low, high, log=True), _identity
    if dist_name == "uniform":
        return Float(low, high), _identity
    if dist_name == "randint":
        return Int(int(low), int(high)), _identity
    is_discrete = hasattr(rv.dist, "pmf")

    # Any other bounded distribution is searched through its quantile function: the study
    # sees a uniform quantile in [0, 1] and random draws follow the distribution exactly.
    def decode(u: float) -> Any:
        value = rv.ppf(min(max(float(u), 1e-12), 1 - 1e-12))
        return int(value) if is_discrete else float(value)

    return Float(0.0, 1.0), decode


def _is_scipy_frozen(node: Any) -> bool:
    return hasattr(node, "rvs") and hasattr(node, "support") and hasattr(node, "ppf")


class _Builder:
    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.decoders: dict[str, Decoder] = {}
        self.external: dict[str, str | None] = {}
        self.finite = True

    def convert(self, space: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(space, Mapping):
            raise InvalidParameterError(
                f"The 'param_space' parameter of {OWNER} must be a dict of parameter name -> "
                f"values/distribution (or a list of such dicts). Got {space!r} instead."
            )
        out: dict[str, Any] = {}
        for name, node in space.items():
            if not isinstance(name, str) or not name:
                raise InvalidParameterError(
                    f"Parameter names in param_space must be non-empty strings, got {name!r}."
                )
            internal = name + self.suffix
            self.external[internal] = name
            if isinstance(node, Mapping):
                out[internal] = self._branches(name, internal, node)
            else:
                out[internal] = self._leaf(name, internal, node)
        return out

    def _branches(self, name: str, internal: str, node: Mapping[str, Any]) -> dict[Any, Any]:
        if not node:
            raise InvalidParameterError(
                f"Parameter {name!r} of param_space: a conditional dict must name at least one "
                "choice, e.g. {'rbf': {'gamma': Float(1e-4, 1, log=True)}, 'linear': {}}."
            )
        keys = [plain_scalar(k) for k in node]
        dist, _ = _categorical(name, keys)
        self.decoders[internal] = _identity
        return {
            key: (self.convert(sub) if sub else {}) for key, sub in zip(dist.choices, node.values())
        }

    def _leaf(self, name: str, internal: str, node: Any) -> Distribution:
        decoder: Decoder = _identity
        if isinstance(node, Categorical):
            dist: Distribution = node
        elif isinstance(node, Distribution):
            dist, self.finite = node, False
        elif _is_scipy_frozen(node):
            dist, decoder = _from_scipy(name, node)
            self.finite = False
        elif isinstance(node, (Sequence, np.ndarray)) and not isinstance(node, (str, bytes)):
            dist, decoder = _categorical(name, node)
        else:
            raise InvalidParameterError(
                f"Parameter {name!r} of param_space: expected a list of values, a tunelab "
                "distribution (Float, Int, Categorical), a bounded scipy.stats distribution or "
                f"a dict of conditional branches; got {node!r}."
            )
        self.decoders[internal] = decoder
        return dist


def convert_space(param_space: Any) -> ConvertedSpace:
    """Validate ``param_space`` and build the internal tunelab space."""
    if isinstance(param_space, Mapping):
        if not param_space:
            raise InvalidParameterError(
                f"The 'param_space' parameter of {OWNER} must name at least one parameter. Got "
                "{} instead. Add e.g. {'C': tunelab.Float(1e-3, 1e3, log=True)}."
            )
        builder = _Builder()
        space = builder.convert(param_space)
    elif isinstance(param_space, Sequence) and not isinstance(param_space, (str, bytes)):
        # A list of grids (GridSearchCV's form): one branch per dict, names made unique.
        if not param_space or not all(isinstance(s, Mapping) and s for s in param_space):
            raise InvalidParameterError(
                f"The 'param_space' parameter of {OWNER} must be a non-empty dict or a list of "
                f"non-empty dicts. Got {param_space!r} instead."
            )
        builder = _Builder()
        branches = {}
        for i, sub in enumerate(param_space):
            builder.suffix = f"@{i}"
            branches[str(i)] = builder.convert(sub)
        builder.external[GRID_SELECTOR] = None
        builder.decoders[GRID_SELECTOR] = _identity
        space = {GRID_SELECTOR: branches}
    else:
        raise InvalidParameterError(
            f"The 'param_space' parameter of {OWNER} must be a dict of parameter name -> "
            f"values/distribution (or a list of such dicts). Got {param_space!r} instead."
        )
    validate_space(space, OWNER)
    return ConvertedSpace(space, builder.decoders, builder.external, builder.finite)


def estimator_param_names(converted: ConvertedSpace) -> set[str]:
    return {name for name in converted.external.values() if name is not None}


def check_param_names(estimator: Any, converted: ConvertedSpace) -> None:
    """Every searched name must be a parameter of the estimator (or of a step being searched)."""
    valid = set(estimator.get_params(deep=True))
    searched = estimator_param_names(converted)
    for name in sorted(searched):
        if name in valid:
            continue
        # `clf__C` is fine when `clf` itself is searched: the candidate step defines `C`.
        parts = name.split("__")
        if any("__".join(parts[:i]) in searched for i in range(1, len(parts))):
            continue
        close = difflib.get_close_matches(name, valid, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listed = ", ".join(sorted(valid))
        raise InvalidParameterError(
            f"Parameter {name!r} of param_space is not a parameter of "
            f"{type(estimator).__name__}.{hint} Valid parameters: {listed}. Pipeline steps are "
            "addressed as '<step>__<param>', e.g. 'clf__C'."
        )
