"""Pruning integrations with training libraries. Each loads its library only when used.

- :class:`LightGBMPruningCallback`: ``lightgbm.train(..., callbacks=[...])``.
- :class:`XGBoostPruningCallback`: ``xgboost.train(..., callbacks=[...])`` or the sklearn API.
- :func:`fit_iteratively`: a scikit-learn estimator trained step by step (``partial_fit`` or
  ``warm_start``), reporting a validation score each step.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._lightgbm import LightGBMPruningCallback as LightGBMPruningCallback
    from ._sklearn import fit_iteratively as fit_iteratively
    from ._xgboost import XGBoostPruningCallback as XGBoostPruningCallback

__all__ = ["LightGBMPruningCallback", "XGBoostPruningCallback", "fit_iteratively"]

_WHERE = {
    "LightGBMPruningCallback": "._lightgbm",
    "XGBoostPruningCallback": "._xgboost",
    "fit_iteratively": "._sklearn",
}


def __getattr__(name: str) -> Any:
    # Importing xgboost takes a second and may not be installed: load a module on first use.
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
