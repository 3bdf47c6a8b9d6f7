"""Fold racing: stop cross-validating a configuration once it is clearly worse.

Every configuration is scored on the same folds in the same order, so after ``k`` folds it can
be compared, fold by fold, with the incumbent (the best configuration scored on every fold).
A one-sided paired t-test on the per-fold differences decides; paired, because fold difficulty
is shared and cancels out, which makes the test far more sensitive than comparing means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import fail, is_int, is_real


@dataclass(frozen=True)
class FoldRacing:
    """Racing policy for :class:`SearchCV`.

    A configuration stops after fold ``k >= min_folds`` when a one-sided paired t-test says it
    is worse than the incumbent on the folds seen so far at level ``alpha``. The incumbent is
    always the best configuration evaluated on every fold, so a stopped configuration can never
    become ``best_``.
    """

    alpha: float = 0.05
    min_folds: int = 3

    def __post_init__(self) -> None:
        if not is_real(self.alpha) or not 0 < self.alpha < 1:
            raise fail("alpha", "FoldRacing", "a number in (0, 1)", self.alpha)
        if not is_int(self.min_folds) or self.min_folds < 2:
            raise fail(
                "min_folds",
                "FoldRacing",
                "an int >= 2",
                self.min_folds,
                "A paired test needs at least two folds.",
            )

    def p_value(self, candidate: np.ndarray, incumbent: np.ndarray) -> float:
        """One-sided p-value of "candidate is worse than incumbent" on paired fold scores."""
        diff = np.asarray(candidate, float) - np.asarray(incumbent, float)
        n = diff.size
        if n < 2 or not np.all(np.isfinite(diff)):
            return 1.0
        mean = float(diff.mean())
        scale = max(1.0, float(np.abs(incumbent).max()))
        if mean >= -1e-12 * scale:
            return 1.0
        sd = float(diff.std(ddof=1))
        if sd <= 1e-12 * scale:
            # Worse on every fold by the same margin: as strong as evidence gets.
            return 0.0
        from scipy.stats import t as student_t

        return float(student_t.cdf(mean / (sd / math.sqrt(n)), df=n - 1))

    def should_stop(self, candidate: np.ndarray, incumbent: np.ndarray) -> bool:
        """True when ``candidate`` (scores on the first k folds) is worse with confidence."""
        if len(candidate) < self.min_folds:
            return False
        return self.p_value(candidate, incumbent[: len(candidate)]) < self.alpha


def resolve_racing(racing: object) -> FoldRacing | None:
    if racing is True:
        return FoldRacing()
    if racing is False or racing is None:
        return None
    if isinstance(racing, FoldRacing):
        return racing
    raise fail(
        "racing", "SearchCV", "True, False or a FoldRacing(alpha=..., min_folds=...)", racing
    )
