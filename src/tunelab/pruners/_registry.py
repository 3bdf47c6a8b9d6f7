"""Pruners by short name, for the CLI (each with its default settings)."""

from __future__ import annotations

from ..exceptions import InvalidParameterError
from ._base import BasePruner

_BY_NAME = {
    "median": "MedianPruner",
    "asha": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
    "wilcoxon": "WilcoxonPruner",
    "none": "NopPruner",
}
#: Every name :func:`pruner_from_name` knows.
PRUNER_NAMES = tuple(_BY_NAME)


def pruner_from_name(name: str) -> BasePruner:
    """The pruner called ``name``, with its default settings."""
    if name not in _BY_NAME:
        raise InvalidParameterError(
            f"Unknown pruner {name!r}; use one of {', '.join(PRUNER_NAMES)}."
        )
    from .. import pruners

    return getattr(pruners, _BY_NAME[name])()
