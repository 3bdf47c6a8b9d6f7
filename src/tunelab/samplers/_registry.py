"""Samplers by short name, for job files and the CLI."""

from __future__ import annotations

import importlib

from ..exceptions import InvalidParameterError
from ._base import BaseSampler

_BY_NAME = {
    "random": "RandomSampler",
    "qmc": "QMCSampler",
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "cmaes": "CmaEsSampler",
    "auto": "AutoSampler",
}


def sampler_from_name(name: str, seed: int | None = None) -> BaseSampler | None:
    """The sampler called ``name`` seeded with ``seed``; None for 'auto' when no AutoSampler
    exists yet (the study then uses its default)."""
    if name not in _BY_NAME:
        raise InvalidParameterError(
            f"Unknown sampler {name!r}; use one of {', '.join(sorted(_BY_NAME))}."
        )
    samplers = importlib.import_module("tunelab.samplers")
    cls = getattr(samplers, _BY_NAME[name], None)
    if cls is None:
        if name == "auto":
            return None
        raise InvalidParameterError(f"The {name!r} sampler is not available in this tunelab.")
    return cls(seed=seed)
