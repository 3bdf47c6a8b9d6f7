"""Search strategies. Each module holds one sampler; this package re-exports them."""

from ._auto import AutoSampler as AutoSampler
from ._base import BaseSampler as BaseSampler
from ._cmaes import CmaEsSampler as CmaEsSampler
from ._gp import GPSampler as GPSampler
from ._grid import GridSampler as GridSampler
from ._nsga2 import NSGAIISampler as NSGAIISampler
from ._qmc import QMCSampler as QMCSampler
from ._random import RandomSampler as RandomSampler
from ._tpe import TPESampler as TPESampler

__all__ = [
    "AutoSampler",
    "BaseSampler",
    "CmaEsSampler",
    "GPSampler",
    "GridSampler",
    "NSGAIISampler",
    "QMCSampler",
    "RandomSampler",
    "TPESampler",
]
