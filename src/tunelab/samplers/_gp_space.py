"""How the GP sees a search space: one column per parameter, in the unit cube.

Floats, ints and stepped floats use ``Distribution.to_unit`` (log ranges are then in log space;
ints and steps own equal cells of the interval). Categoricals keep their choice index, and the
kernel compares those columns by equality (a Hamming distance) rather than by difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._space import Categorical, Distribution, Float

# Grids with more values than this are optimised as continuous and only the final point is
# rounded: a table of every cell centre would cost more than it helps.
_MAX_GRID_TABLE = 2000


@dataclass(frozen=True)
class EncodedSpace:
    names: tuple[str, ...]
    distributions: tuple[Distribution, ...]
    is_categorical: np.ndarray  # bool per column
    n_choices: np.ndarray  # choices per categorical column, 0 elsewhere
    centres: tuple[np.ndarray | None, ...]  # sorted unit-cell centres of grid columns

    @property
    def n_dims(self) -> int:
        return len(self.names)

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        row = np.empty(self.n_dims)
        for j, (name, dist) in enumerate(zip(self.names, self.distributions)):
            value = params[name]
            row[j] = dist.index(value) if isinstance(dist, Categorical) else dist.to_unit(value)
        return row

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for j, (name, dist) in enumerate(zip(self.names, self.distributions)):
            if isinstance(dist, Categorical):
                out[name] = dist.choices[int(round(row[j]))]
            else:
                out[name] = dist.from_unit(float(row[j]))
        return out

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Move every point onto a value the space can take (grid cell centres, whole choices)."""
        X = np.array(X, dtype=float, copy=True)
        for j, dist in enumerate(self.distributions):
            if self.is_categorical[j]:
                X[:, j] = np.clip(np.round(X[:, j]), 0, self.n_choices[j] - 1)
                continue
            centres = self.centres[j]
            if centres is not None:
                # Nearest centre: cells are contiguous, so the midpoints are their edges.
                edges = (centres[1:] + centres[:-1]) / 2
                X[:, j] = centres[np.searchsorted(edges, X[:, j])]
            elif _is_grid(dist):
                X[:, j] = [dist.to_unit(dist.from_unit(u)) for u in X[:, j]]
            else:
                X[:, j] = np.clip(X[:, j], 0.0, 1.0)
        return X

    def neighbours(self, x: np.ndarray) -> np.ndarray:
        """Points one discrete move away: the adjacent cell of a grid column, any other choice
        of a categorical column."""
        out = []
        for j in range(self.n_dims):
            if self.is_categorical[j]:
                for c in range(int(self.n_choices[j])):
                    if c != int(x[j]):
                        y = x.copy()
                        y[j] = c
                        out.append(y)
                continue
            centres = self.centres[j]
            if centres is None:
                continue
            k = int(np.argmin(np.abs(centres - x[j])))
            for step in (-1, 1):
                if 0 <= k + step < len(centres):
                    y = x.copy()
                    y[j] = centres[k + step]
                    out.append(y)
        return np.array(out).reshape(-1, self.n_dims)

    def all_points(self, limit: int) -> np.ndarray | None:
        """Every point of the space, in a fixed order; None if a column is continuous (or a grid
        too fine to table) or if there are more than ``limit`` points."""
        axes = []
        size = 1
        for j in range(self.n_dims):
            if self.is_categorical[j]:
                values = np.arange(self.n_choices[j], dtype=float)
            elif self.centres[j] is not None:
                values = self.centres[j]
            else:
                return None
            size *= len(values)
            if size > limit:
                return None
            axes.append(values)
        columns = np.meshgrid(*axes, indexing="ij")
        return np.stack([c.ravel() for c in columns], axis=1).reshape(-1, self.n_dims)

    def random_points(self, n: int, rng: np.random.Generator, sobol: bool = True) -> np.ndarray:
        """``n`` feasible points spread over the space (scrambled Sobol by default)."""
        if sobol and self.n_dims > 0:
            from scipy.stats import qmc

            engine = qmc.Sobol(d=self.n_dims, scramble=True, seed=rng)
            U = engine.random_base2(int(np.ceil(np.log2(max(n, 2)))))[:n]
        else:
            U = rng.random((n, self.n_dims))
        U = U.copy()
        cat = self.is_categorical
        U[:, cat] = np.floor(U[:, cat] * self.n_choices[cat])
        return self.snap(U)


def _is_grid(dist: Distribution) -> bool:
    return not isinstance(dist, Categorical) and (
        not isinstance(dist, Float) or dist.step is not None
    )


def encode_space(names: Sequence[str], distributions: Sequence[Distribution]) -> EncodedSpace:
    is_cat = np.array([isinstance(d, Categorical) for d in distributions], dtype=bool)
    n_choices = np.array(
        [len(d.choices) if isinstance(d, Categorical) else 0 for d in distributions], dtype=int
    )
    centres: list[np.ndarray | None] = []
    for dist in distributions:
        if _is_grid(dist) and dist.n_steps <= _MAX_GRID_TABLE:  # type: ignore[attr-defined]
            values = [dist.low + k * dist.step for k in range(dist.n_steps)]  # type: ignore[attr-defined]
            centres.append(np.array(sorted(dist.to_unit(v) for v in values)))
        else:
            centres.append(None)
    return EncodedSpace(tuple(names), tuple(distributions), is_cat, n_choices, tuple(centres))
