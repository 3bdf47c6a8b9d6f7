"""Fold racing: stop cross-validating a configuration once it is clearly worse.

Every configuration is scored on the same folds in the same order, so after ``k`` folds it can
be compared, fold by fold, with the incumbent (the best configuration scored on every fold).
From ``min_folds`` folds on, a one-sided paired t-test on the per-fold differences decides;
paired, because fold difficulty is shared and cancels out, which makes the test far more
sensitive than comparing means.

Before ``min_folds`` a paired test has too few differences to estimate their spread, yet a
configuration scoring 0.93 against an incumbent's 0.985 on its first fold is plainly lost. The
early screen covers that case with a bound that needs no pairing: for any correlation between
the two configurations' fold scores, the spread of their difference is at most the sum of their
spreads, and the fold-to-fold spread of a configuration is estimated from the configurations
already scored on every fold (:func:`fold_spread`), never finer than one test sample's worth of
score. Because the bound assumes the worst correlation, it only stops configurations far
behind; close calls wait for the paired test.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._validation import fail, is_int, is_real

if TYPE_CHECKING:
    from ._results import Candidate

# Below this many duplicates, or this share of the configurations, they are not worth a warning.
_WARN_DUPLICATES_MIN = 3
_WARN_DUPLICATES_SHARE = 0.2

# The fold spread estimate needs this many degrees of freedom (one full 5-fold configuration
# gives 4) before the early screen may stop anything.
_MIN_SPREAD_DF = 4


@dataclass(frozen=True)
class FoldRacing:
    """Racing policy for :class:`SearchCV`.

    A configuration stops after fold ``k >= min_folds`` when a one-sided paired t-test says it
    is worse than the incumbent on the folds seen so far at level ``alpha``. With
    ``early_screen`` (default), it may also stop after its first ``k < min_folds`` folds when
    its mean score there is below the incumbent's on the same folds by more than a worst-case
    bound on the difference's spread explains (level ``alpha``). The incumbent is always the
    best configuration evaluated on every fold, so a stopped configuration can never become
    ``best_``.

    With ``stop_duplicates``, a configuration whose model makes exactly the same predictions,
    with exactly the same scores, on its first ``min_folds`` folds as one already scored on
    every fold stops there and takes its twin's CV score: it is most likely the same model under
    other parameter values (a fractional ``max_features`` rounding to the same count). Off by
    default, because agreeing folds prove nothing about the others: a ``max_depth`` the trees
    never reach on three folds can matter on the fourth (seen: decision trees with
    ``max_depth`` 7 and None agreed on four folds of breast_cancer and differed on the fifth),
    and a configuration stopped that way could have been the best.
    """

    alpha: float = 0.05
    min_folds: int = 3
    early_screen: bool = True
    stop_duplicates: bool = False

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
        if not isinstance(self.early_screen, bool):
            raise fail("early_screen", "FoldRacing", "True or False", self.early_screen)
        if not isinstance(self.stop_duplicates, bool):
            raise fail("stop_duplicates", "FoldRacing", "True or False", self.stop_duplicates)

    def p_value(
        self, candidate: np.ndarray, incumbent: np.ndarray, resolution: float = 0.0
    ) -> float:
        """One-sided p-value of "candidate is worse than incumbent" on paired fold scores.

        ``resolution`` is the step a fold score moves in, when it is counted in test samples
        (see :func:`score_resolution`). Such scores differ by whole samples, and a deficit of
        one sample on each of three folds has no spread at all; taken at face value that is a
        certain loss (seen: the grid's best stopped after three folds, one misclassification
        behind on each). So the spread is taken to be at least one step.
        """
        diff = np.asarray(candidate, float) - np.asarray(incumbent, float)
        n = diff.size
        if n < 2 or not np.all(np.isfinite(diff)):
            return 1.0
        mean = float(diff.mean())
        scale = max(1.0, float(np.abs(incumbent).max()))
        if mean >= -1e-12 * scale:
            return 1.0
        sd = max(float(diff.std(ddof=1)), resolution)
        if sd <= 1e-12 * scale:
            # A continuous score worse on every fold by the same margin: as strong as it gets.
            return 0.0
        from scipy.stats import t as student_t

        return float(student_t.cdf(mean / (sd / math.sqrt(n)), df=n - 1))

    def screen_p_value(
        self,
        candidate: np.ndarray,
        incumbent: np.ndarray,
        spread: tuple[float, int],
        resolution: float = 0.0,
    ) -> float:
        """One-sided p-value of "candidate is worse" from its first folds, with the fold spread
        ``(sd, degrees of freedom)`` of finished configurations and no pairing assumed.

        ``resolution`` (see :meth:`p_value`) floors ``sd``, as the paired test floors the
        spread of its differences: a fold score counted in test samples cannot show a spread
        finer than one sample, and with a few rows per fold the pooled spread of finished
        configurations can be smaller than that (seen: with LeaveOneOut, the grid's best, wrong
        on the first row only, was screened out after that one fold). With the floor a deficit
        of one or two samples on one fold is at most one bound's worth, never conclusive.
        """
        sd, df = spread
        diff = np.asarray(candidate, float) - np.asarray(incumbent, float)
        if diff.size < 1 or df < _MIN_SPREAD_DF or not np.all(np.isfinite(diff)):
            return 1.0
        mean = float(diff.mean())
        if mean >= 0 or not math.isfinite(sd) or sd <= 0:
            # A zero spread would make any deficit conclusive; with no spread to go by, wait.
            return 1.0
        sd = max(sd, resolution)
        from scipy.stats import t as student_t

        # Var(c - i) <= (sd_c + sd_i)^2 whatever the correlation; both spreads are sd.
        return float(student_t.cdf(mean / (2.0 * sd / math.sqrt(diff.size)), df=df))

    def should_stop(
        self,
        candidate: np.ndarray,
        incumbent: np.ndarray,
        spread: tuple[float, int] | None = None,
        resolution: float = 0.0,
    ) -> bool:
        """True when ``candidate`` (scores on the first k folds) is worse with confidence.

        ``spread`` is the pooled fold spread of finished configurations (see
        :func:`fold_spread`); without it, nothing stops before ``min_folds``. ``resolution``
        floors the spread of the paired test and of the early screen alike: see
        :meth:`p_value` and :meth:`screen_p_value`.
        """
        k = len(candidate)
        if k >= self.min_folds:
            return self.p_value(candidate, incumbent[:k], resolution) < self.alpha
        if not self.early_screen or spread is None:
            return False
        return self.screen_p_value(candidate, incumbent[:k], spread, resolution) < self.alpha


def fold_spread(finished: Sequence[np.ndarray]) -> tuple[float, int]:
    """The fold-to-fold spread the early screen assumes for a candidate, from the
    configurations scored on every fold: ``(sd, degrees of freedom)``.

    The larger of two pooled standard deviations (of fold scores around each configuration's
    own mean): over every finished configuration, and over those in contention, whose mean
    trails the incumbent's (the best mean) by less than the sum of the two configurations'
    own spreads, the screen's bound on the spread of one fold's difference.

    Why not the pool over everyone alone: the screen guards candidates that could still beat
    the incumbent, so it needs the spread of such configurations, and configurations far
    behind can be nearly constant over folds (a model that always predicts the majority class
    scores the class share on every stratified fold). Pooled in, they shrank the spread, and
    a QA pass saw the grid's best, behind on its first fold only, screened out after it. Why
    not the pool in contention alone: it has fewer degrees of freedom, and near a score's
    ceiling the best configurations vary least (accuracy 0.985 against 0.93 on digits), so it
    can be smaller than the spread of a candidate whose first folds went worse; replayed on the
    benchmark grids it screened harder than before. Each can fall short in its own case; the
    screen must only remove clear losers, so it takes the larger.
    """
    rows = [
        r
        for r in (np.asarray(scores, float) for scores in finished)
        if r.size >= 2 and np.all(np.isfinite(r))
    ]
    everyone = _pooled_spread(rows)
    if not rows:
        return everyone
    incumbent = max(rows, key=lambda r: float(r.mean()))
    top, top_sd = float(incumbent.mean()), float(incumbent.std(ddof=1))
    contenders = _pooled_spread(
        [r for r in rows if float(r.mean()) >= top - (top_sd + float(r.std(ddof=1)))]
    )
    return contenders if contenders[0] > everyone[0] else everyone


def _pooled_spread(rows: Sequence[np.ndarray]) -> tuple[float, int]:
    """Pooled standard deviation of each row around its own mean, and its degrees of freedom."""
    ss = sum(float(((r - r.mean()) ** 2).sum()) for r in rows)
    df = sum(r.size - 1 for r in rows)
    return (math.sqrt(ss / df) if df else math.nan), df


def score_resolution(rows: Sequence[np.ndarray], fold_sizes: Sequence[int]) -> float:
    """One test sample's worth of score when every score seen is counted in samples: on each
    fold ``k`` (``fold_sizes[k]`` test rows), a whole multiple of ``1 / fold_sizes[k]``, as
    accuracy is. 0 for a continuous score (r2, log loss, weighted or averaged scores)."""
    seen = False
    for row in rows:
        for k, score in enumerate(np.asarray(row, float)):
            if not math.isfinite(score):
                continue
            counted = score * fold_sizes[k]
            if abs(counted - round(counted)) > 1e-6:
                return 0.0
            seen = True
    return 1.0 / max(fold_sizes) if seen else 0.0


def resolve_racing(racing: object) -> FoldRacing | None:
    if racing is True:
        return FoldRacing()
    if racing is False or racing is None:
        return None
    if isinstance(racing, FoldRacing):
        return racing
    raise fail(
        "racing",
        "SearchCV",
        "True, False or a FoldRacing(alpha=..., min_folds=..., early_screen=..., "
        "stop_duplicates=...)",
        racing,
    )


class DuplicateConfigurationsWarning(UserWarning):
    """Many configurations of a search were the same model as another one."""


def warn_if_many_duplicates(candidates: Sequence[Candidate], stacklevel: int = 3) -> None:
    """Say so when duplicates took a large share of the budget, and name the parameter to blame.

    A duplicate stops after its first ``min_folds`` folds, yet it uses up a trial: a search whose
    sampler keeps landing in one model's parameter cell
    (a fractional ``max_features`` that rounds to the same count) tries far fewer models than
    ``n_trials`` suggests. The parameters that differ between a duplicate and its twin are the
    ones with fewer effective values than their range.
    """
    by_number = {c.trial_number: c for c in candidates}
    pairs = [
        (c.params, by_number[c.duplicate_of].params)
        for c in candidates
        if c.state == "DUPLICATE" and c.duplicate_of in by_number
    ]
    if len(pairs) < max(_WARN_DUPLICATES_MIN, _WARN_DUPLICATES_SHARE * len(candidates)):
        return
    differing = Counter(
        name for mine, twins in pairs for name in mine if mine.get(name) != twins.get(name)
    )
    blamed = [name for name, count in differing.most_common() if count >= len(pairs) / 2]
    examples = []
    for name in blamed[:3]:
        mine, twins = next(p for p in pairs if p[0].get(name) != p[1].get(name))
        examples.append(f"{name} ({_short(mine[name])} and {_short(twins[name])})")
    which = "that parameter over its" if len(examples) == 1 else "those parameters over their"
    culprit = (
        f" Their parameters differ from their twins' mostly in {', '.join(examples)}: such "
        f"values fall in one model's cell. Search {which} distinct effective values (an Int "
        "or a Categorical) to try more models per trial."
        if examples
        else ""
    )
    warnings.warn(
        f"{len(pairs)} of {len(candidates)} configurations were the same model as one already "
        f"scored (state DUPLICATE in cv_results_); each stopped early but used a trial, so the "
        f"search tried {len(candidates) - len(pairs)} distinct models.{culprit}",
        DuplicateConfigurationsWarning,
        stacklevel=stacklevel,
    )


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)
