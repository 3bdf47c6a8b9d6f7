"""AutoML behind one scikit-learn estimator: a timed search over preprocessing and models with
fold racing, Caruana ensemble selection and a held-out generalization estimate.

Loaded on demand only (``import tunelab`` does not import it): it needs scikit-learn and pandas.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._estimators import AutoClassifier as AutoClassifier
    from ._estimators import AutoRegressor as AutoRegressor

__all__ = ["AutoClassifier", "AutoRegressor"]


def __getattr__(name: str) -> Any:
    # Lazy, so the `tunelab` command can register `automl` without importing scikit-learn.
    if name in __all__:
        from . import _estimators

        return getattr(_estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
