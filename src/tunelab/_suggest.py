"""The ``suggest_*`` shorthands, shared by every object an objective can be handed: the live
trial, a worker's remote trial, and a finished trial replayed (``objective(study.best_trial)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._space import (
    Categorical,
    CategoricalChoice,
    Distribution,
    Float,
    Int,
    sample_space,
    validate_space,
)
from .exceptions import InvalidParameterError

if TYPE_CHECKING:
    import numpy as np

# The choice's own type comes back: suggest_categorical("kernel", ["rbf", "linear"]) is a str
# to a type checker, as in Optuna.
ChoiceT = TypeVar("ChoiceT", bound=CategoricalChoice)


class SuggestMethods:
    """The ``suggest_*`` shorthands, written once for the driver's Trial, the workers'
    RemoteTrial and FrozenTrial: each builds (and validates) a distribution and hands it to
    ``suggest``."""

    def suggest(self, name: str, distribution: Distribution) -> Any:  # pragma: no cover
        raise NotImplementedError

    def suggest_float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float:
        return self.suggest(name, _named(name, lambda: Float(low, high, log=log, step=step)))

    def suggest_int(
        self, name: str, low: int, high: int, *, log: bool = False, step: int = 1
    ) -> int:
        return self.suggest(name, _named(name, lambda: Int(low, high, log=log, step=step)))

    @overload
    def suggest_categorical(self, name: str, choices: Sequence[ChoiceT]) -> ChoiceT: ...

    @overload
    def suggest_categorical(self, name: str, choices: np.ndarray) -> Any: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.suggest(name, _named(name, lambda: Categorical(choices)))

    # Optuna's older spellings (deprecated there too): ported programs run and are told the
    # current one.
    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_uniform(name, low, high)", "suggest_float(name, low, high)")
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        _deprecated(
            "suggest_loguniform(name, low, high)", "suggest_float(name, low, high, log=True)"
        )
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        _deprecated(
            "suggest_discrete_uniform(name, low, high, q)",
            "suggest_float(name, low, high, step=q)",
        )
        return self.suggest_float(name, low, high, step=q)

    def suggest_space(self, space: Mapping[str, Any]) -> dict[str, Any]:
        """Suggest every parameter of a declarative space (conditional branches followed)."""
        validate_space(space, "Trial.suggest_space")
        return sample_space(self, space)


def _deprecated(old: str, new: str) -> None:
    import warnings

    warnings.warn(f"{old} is deprecated, as in Optuna; use {new}.", FutureWarning, stacklevel=3)


def _named(name: str, build: Any) -> Distribution:
    try:
        return build()
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"Parameter {name!r}: {exc}") from None
