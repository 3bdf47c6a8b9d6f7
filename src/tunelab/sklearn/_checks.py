"""Constructor-argument checks for SearchCV (run in ``fit``, as scikit-learn expects) and the
one place that turns ``cv`` and ``random_state`` into splits and seeds."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._validation import fail, is_int, is_real, positive_int_or_none, positive_number_or_none
from ..exceptions import InvalidParameterError

OWNER = "SearchCV"


def check_scoring(scoring: Any) -> None:
    from sklearn.metrics import get_scorer_names

    names = set(get_scorer_names())
    rule = (
        "None, a scorer name (see sklearn.metrics.get_scorer_names()), a callable, or a "
        "list/tuple/dict of them"
    )

    def check_name(name: Any) -> None:
        if isinstance(name, str) and name in names:
            return
        close = difflib.get_close_matches(str(name), names, n=3) if isinstance(name, str) else []
        hint = f"Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise fail("scoring", OWNER, rule, name, hint)

    if scoring is None or callable(scoring):
        return
    if isinstance(scoring, str):
        check_name(scoring)
    elif isinstance(scoring, (list, tuple, set)):
        if not scoring or len(set(scoring)) != len(scoring):
            raise fail("scoring", OWNER, "a non-empty list of distinct scorer names", scoring)
        for name in scoring:
            check_name(name)
    elif isinstance(scoring, Mapping):
        if not scoring:
            raise fail("scoring", OWNER, "a non-empty dict of name -> scorer", scoring)
        for key, value in scoring.items():
            if not isinstance(key, str):
                raise fail("scoring", OWNER, "a dict with string keys", scoring)
            if not callable(value):
                check_name(value)
    else:
        raise fail("scoring", OWNER, rule, scoring)


def check_refit(refit: Any, scoring: Any) -> None:
    if not (isinstance(refit, (bool, str)) or callable(refit)):
        raise fail("refit", OWNER, "a bool, a scorer key or a callable", refit)
    multi = isinstance(scoring, (list, tuple, set, Mapping))
    if multi and refit is not False and not callable(refit):
        keys = list(scoring)
        if not (isinstance(refit, str) and refit in keys):
            raise fail(
                "refit",
                OWNER,
                f"one of the scoring keys {keys}, False, or a callable when several metrics "
                "are scored",
                refit,
                f"Say which metric picks the best configuration, e.g. refit={keys[0]!r}.",
            )


def check_init_params(search: Any) -> None:
    positive_int_or_none(search.n_trials, "n_trials", OWNER)
    positive_number_or_none(search.timeout, "timeout", OWNER)
    if search.n_jobs is not None and (not is_int(search.n_jobs) or search.n_jobs == 0):
        raise fail("n_jobs", OWNER, "a non-zero int or None (-1: every core)", search.n_jobs)
    if not (
        search.error_score == "raise"
        if isinstance(search.error_score, str)
        else is_real(search.error_score)
    ):
        raise fail(
            "error_score", OWNER, "'raise' or a number (np.nan by default)", search.error_score
        )
    if not isinstance(search.return_train_score, (bool, np.bool_)):
        raise fail("return_train_score", OWNER, "a bool", search.return_train_score)
    if not (isinstance(search.verbose, (bool, numbers.Integral)) and search.verbose >= 0):
        raise fail("verbose", OWNER, "a non-negative int", search.verbose)
    rs = search.random_state
    if not (rs is None or (is_int(rs) and rs >= 0) or isinstance(rs, np.random.RandomState)):
        raise fail("random_state", OWNER, "None, a non-negative int or a RandomState", rs)
    check_scoring(search.scoring)
    check_refit(search.refit, search.scoring)
    check_pruner(search.pruner)
    if not is_int(search.n_steps) or search.n_steps < 1:
        raise fail(
            "n_steps",
            OWNER,
            "a positive int",
            search.n_steps,
            "It is the number of training steps per fold when a pruner is set.",
        )
    check_cv_arg(search.cv, "cv")
    if search.outer_cv is not None:
        check_cv_arg(search.outer_cv, "outer_cv")


def check_pruner(pruner: Any) -> None:
    from ..pruners import BasePruner

    if pruner is None or isinstance(pruner, (bool, np.bool_, BasePruner)):
        return
    hint = ""
    if isinstance(pruner, type) and issubclass(pruner, BasePruner):
        hint = f"Pass an instance, {pruner.__name__}(), not the class."
    raise fail(
        "pruner",
        OWNER,
        "None, False, True (a MedianPruner) or a tunelab pruner such as "
        "tunelab.pruners.SuccessiveHalvingPruner()",
        pruner,
        hint,
    )


def check_cv_arg(cv: Any, param: str) -> None:
    rule = "None, an int >= 2, a CV splitter (with split and get_n_splits) or a list of (train, test) index pairs"
    if cv is None:
        return
    if isinstance(cv, bool) or (is_real(cv) and not is_int(cv)):
        raise fail(param, OWNER, rule, cv)
    if is_int(cv):
        if cv < 2:
            raise fail(param, OWNER, rule, cv, "Cross-validation needs at least 2 folds.")
        return
    if hasattr(cv, "split") and hasattr(cv, "get_n_splits"):
        return
    if isinstance(cv, Iterable) and not isinstance(cv, (str, bytes, Mapping)):
        return
    raise fail(param, OWNER, rule, cv)


def seeds(random_state: Any) -> tuple[int | None, int]:
    """(seed of the default sampler, seed of the fold shuffling and bootstrap)."""
    if random_state is None:
        return None, int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if isinstance(random_state, np.random.RandomState):
        a, b = random_state.randint(0, 2**31 - 1, size=2)
        return int(a), int(b)
    return int(random_state), int(random_state)


def make_cv(cv: Any, y: Any, classifier: bool, seed: int) -> Any:
    """An int becomes shuffled (Stratified)KFold seeded by ``seed``; splitters pass through."""
    from sklearn.model_selection import KFold, StratifiedKFold, check_cv
    from sklearn.utils.multiclass import type_of_target

    if cv is None:
        cv = 5
    if is_int(cv):
        stratify = classifier and y is not None and type_of_target(y) in ("binary", "multiclass")
        splitter = StratifiedKFold if stratify else KFold
        return splitter(int(cv), shuffle=True, random_state=seed)
    try:
        return check_cv(cv, y, classifier=classifier)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"The 'cv' parameter of {OWNER} is not usable: {exc}") from None
