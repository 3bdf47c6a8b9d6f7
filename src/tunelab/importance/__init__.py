"""Which parameters matter: each one's share of the objective's variation.

Loaded on demand (``import tunelab.importance``); it needs NumPy, and scikit-learn for fANOVA.
"""

from __future__ import annotations

from ._evaluators import BaseImportanceEvaluator as BaseImportanceEvaluator
from ._evaluators import (
    CorrelationRatioImportanceEvaluator as CorrelationRatioImportanceEvaluator,
)
from ._evaluators import FanovaImportanceEvaluator as FanovaImportanceEvaluator
from ._evaluators import get_param_importances as get_param_importances

__all__ = [
    "BaseImportanceEvaluator",
    "CorrelationRatioImportanceEvaluator",
    "FanovaImportanceEvaluator",
    "get_param_importances",
]
