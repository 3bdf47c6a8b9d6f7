"""scikit-learn integration: ``SearchCV``, a drop-in for GridSearchCV/RandomizedSearchCV with
fold racing and bias-corrected estimates. Importing this module imports scikit-learn, so
``tunelab/__init__.py`` never does."""

from __future__ import annotations

from ._failures import AllFitsFailedError as AllFitsFailedError
from ._generalization import Generalization as Generalization
from ._generalization import OptimismWarning as OptimismWarning
from ._nested import NestedCVResult as NestedCVResult
from ._nested import nested_cv_score as nested_cv_score
from ._racing import DuplicateConfigurationsWarning as DuplicateConfigurationsWarning
from ._racing import FoldRacing as FoldRacing
from ._search import SearchCV as SearchCV

__all__ = [
    "AllFitsFailedError",
    "DuplicateConfigurationsWarning",
    "FoldRacing",
    "Generalization",
    "NestedCVResult",
    "OptimismWarning",
    "SearchCV",
    "nested_cv_score",
]
