"""Importance evaluators and ``get_param_importances``, the one call users make."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._frozen import FrozenTrial
from .._validation import fail, is_int, seed_or_none
from ._design import Design, build_design, default_target, normalized

if TYPE_CHECKING:
    from .._study import Study


class BaseImportanceEvaluator:
    """Scores each parameter of a :class:`Design`; ``evaluate`` turns them into shares."""

    def _scores(self, design: Design) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(
        self,
        study: Study,
        params: Sequence[str] | None = None,
        target: Callable[[FrozenTrial], float] | None = None,
    ) -> dict[str, float]:
        owner = f"{type(self).__name__}.evaluate"
        design = build_design(study, params, target, owner)
        return normalized(design.names, self._scores(design))


class FanovaImportanceEvaluator(BaseImportanceEvaluator):
    """Functional ANOVA on a random-forest surrogate (the default).

    A parameter's importance is its share of the surrogate's variance over the search space:
    its main effect plus half of each pairwise interaction it is part of (``interactions=False``
    keeps main effects only, faster with many parameters). Costs a forest fit and a pass over
    its leaves: about 5 s for 5,000 trials of 4 parameters on one core (Optuna's fANOVA took
    about 20 times as long on the same trials).
    """

    def __init__(
        self,
        n_trees: int = 64,
        max_depth: int | None = 16,
        min_samples_leaf: int = 2,
        interactions: bool = True,
        seed: int | None = 0,
    ) -> None:
        owner = "FanovaImportanceEvaluator"
        if not is_int(n_trees) or n_trees < 1:
            raise fail("n_trees", owner, "a positive int", n_trees)
        if max_depth is not None and (not is_int(max_depth) or max_depth < 1):
            raise fail("max_depth", owner, "a positive int or None", max_depth)
        if not is_int(min_samples_leaf) or min_samples_leaf < 1:
            raise fail("min_samples_leaf", owner, "a positive int", min_samples_leaf)
        self.n_trees = n_trees
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.interactions = bool(interactions)
        self.seed = seed_or_none(seed, "seed", owner)

    def _scores(self, design: Design) -> Any:
        from ._fanova import fanova_scores

        return fanova_scores(
            design,
            self.n_trees,
            self.max_depth,
            self.min_samples_leaf,
            self.seed,
            self.interactions,
        )


class CorrelationRatioImportanceEvaluator(BaseImportanceEvaluator):
    """The fast one: the share of variance explained by binning each parameter (omega squared).

    No model, one pass over the trials, so it suits live dashboards on large studies; it sees
    main effects only (a parameter that matters only through an interaction scores about 0).
    """

    def __init__(self, n_bins: int | None = None) -> None:
        if n_bins is not None and (not is_int(n_bins) or n_bins < 2):
            raise fail(
                "n_bins", "CorrelationRatioImportanceEvaluator", "an int >= 2 or None", n_bins
            )
        self.n_bins = n_bins

    def _scores(self, design: Design) -> Any:
        from ._ratio import ratio_scores

        return ratio_scores(design, self.n_bins)


def get_param_importances(
    study: Study,
    evaluator: BaseImportanceEvaluator | None = None,
    params: Sequence[str] | None = None,
    target: Callable[[FrozenTrial], float] | None = None,
) -> dict[str, float]:
    """Each parameter's share of the objective's variation, largest first, summing to 1.

    Uses the completed trials with a finite target. ``params`` restricts the parameters
    (default: every parameter of a completed trial, conditional ones included); ``target`` maps
    a trial to the number to explain (required for several objectives). ``evaluator`` defaults
    to :class:`FanovaImportanceEvaluator`.
    """
    if evaluator is None:
        evaluator = FanovaImportanceEvaluator()
    elif not isinstance(evaluator, BaseImportanceEvaluator):
        raise fail(
            "evaluator", "get_param_importances", "None or an importance evaluator", evaluator
        )
    if target is None and hasattr(study, "directions"):
        # Raises for several objectives, naming this function rather than the evaluator.
        default_target("get_param_importances", len(study.directions))
    return evaluator.evaluate(study, params=params, target=target)
