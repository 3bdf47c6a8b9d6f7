"""Early stopping: pruners decide from intermediate values whether a trial continues."""

from ._base import BasePruner as BasePruner
from ._base import NopPruner as NopPruner

__all__ = ["BasePruner", "NopPruner"]
