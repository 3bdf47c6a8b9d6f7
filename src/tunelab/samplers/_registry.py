"""Samplers by short name, for job files and the CLI."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .._space import Categorical, Distribution, Float, Int
from ..exceptions import InvalidParameterError
from ._base import BaseSampler
from ._grid import MAX_POINTS

_BY_NAME = {
    "auto": "AutoSampler",
    "random": "RandomSampler",
    "qmc": "QMCSampler",
    "grid": "GridSampler",
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "cmaes": "CmaEsSampler",
    "nsga2": "NSGAIISampler",
}
#: Every name :func:`sampler_from_name` knows; job files are validated against this same list.
SAMPLER_NAMES = tuple(_BY_NAME)


class GridSpaceError(InvalidParameterError):
    """A search space that has no finite grid; ``name`` is the parameter at fault."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name


def grid_from_space(space: Mapping[str, Any]) -> dict[str, Distribution]:
    """The grid :class:`GridSampler` takes for a declarative ``space``: every parameter must
    have finitely many values (categorical, int, or float with ``step``) and the space must be
    flat (a conditional branch would repeat each of its points once per value of the
    parameters it does not use)."""
    grid: dict[str, Distribution] = {}
    size = 1
    for name, node in space.items():
        if not isinstance(node, Distribution):
            raise GridSpaceError(
                name,
                "the grid sampler needs a flat space, and this categorical opens conditional "
                "parameters; use another sampler, or one job per choice",
            )
        if isinstance(node, Float) and node.step is None:
            raise GridSpaceError(
                name,
                "the grid sampler needs a finite set of values, and a float without `step` has "
                "none; give it a step, or list the values as a categorical",
            )
        if not isinstance(node, (Categorical, Int, Float)):
            raise GridSpaceError(name, f"the grid sampler cannot enumerate {node!r}")
        grid[name] = node
        size *= _n_values(node)
    if size > MAX_POINTS:
        raise GridSpaceError(
            max(grid, key=lambda n: _n_values(grid[n])),
            f"the grid has {size:,} points (more than the {MAX_POINTS:,} an exhaustive search "
            "can go through); use larger steps or fewer values",
        )
    return grid


def _n_values(dist: Distribution) -> int:
    if isinstance(dist, Categorical):
        return len(dist.choices)
    assert isinstance(dist, (Int, Float)) and dist.n_steps is not None
    return dist.n_steps


def sampler_from_name(
    name: str, seed: int | None = None, space: Mapping[str, Any] | None = None
) -> BaseSampler | None:
    """The sampler called ``name`` seeded with ``seed``; None for 'auto' when no AutoSampler
    exists yet (the study then uses its default). 'grid' needs the declarative ``space`` it
    enumerates (see :func:`grid_from_space`)."""
    if name not in _BY_NAME:
        raise InvalidParameterError(
            f"Unknown sampler {name!r}; use one of {', '.join(SAMPLER_NAMES)}."
        )
    samplers = importlib.import_module("tunelab.samplers")
    cls = getattr(samplers, _BY_NAME[name], None)
    if cls is None:
        if name == "auto":
            return None
        raise InvalidParameterError(f"The {name!r} sampler is not available in this tunelab.")
    if name == "grid":
        if space is None:
            raise InvalidParameterError(
                "The 'grid' sampler enumerates a search space; it needs one (a job file's "
                "`space`), so it cannot be chosen here."
            )
        return cls(grid_from_space(space), seed=seed)
    return cls(seed=seed)
