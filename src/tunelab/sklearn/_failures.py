"""Failed fits: one warning (or one error when nothing worked) that groups them by message."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..exceptions import AllFitsFailedError as AllFitsFailedError


def error_summary(traceback_text: str) -> str:
    """ "ValueError: message" from a formatted traceback: the first unindented line after the
    last frame (messages may span several lines, and those lines may be indented)."""
    lines = traceback_text.rstrip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=-1)
    for line in lines[last_frame + 1 :]:
        if line.strip() and not line[0].isspace():
            return line.strip()
    return lines[-1].strip() if lines else "unknown error"


def _grouped(errors: Sequence[str]) -> str:
    counts = Counter(error_summary(e) for e in errors)
    return "\n".join(f"  {n} fit(s) failed with: {msg}" for msg, n in counts.most_common())


def report_fit_failures(fold_results: Sequence[dict[str, Any]], n_configurations: int) -> None:
    """Raise when every fit failed; otherwise warn once with the failures grouped."""
    errors = [r["fit_error"] for r in fold_results if r.get("fit_error") is not None]
    if not errors:
        return
    if len(errors) == len(fold_results):
        raise AllFitsFailedError(
            f"All {len(errors)} fits failed ({n_configurations} configuration(s)); there is no "
            f"best configuration. The errors, grouped:\n{_grouped(errors)}\n"
            "Check the estimator and param_space, or set error_score='raise' to see the first "
            "error with its full traceback."
        )
    from sklearn.exceptions import FitFailedWarning

    warnings.warn(
        f"{len(errors)} of {len(fold_results)} fits failed; their configurations score "
        f"error_score (their trials are FAIL when it is NaN). The errors, grouped:\n"
        f"{_grouped(errors)}\nSet error_score='raise' to see the full traceback.",
        FitFailedWarning,
        stacklevel=3,
    )


def report_no_finite_score(
    states: Sequence[str], scoring: Any, fit_errors: Sequence[Sequence[str]] | None = None
) -> None:
    """Warn once, plainly, when no configuration got a finite CV score, and say why: fits that
    failed (``fit_errors[i]``: configuration ``i``'s fit errors), or a scorer that gave NaN on
    every configuration; best_score_ is then NaN with an arbitrary best_params_. A warning, not
    an error, as GridSearchCV does (scikit-learn's estimator checks fit such searches and expect
    them to succeed), but one that says what to do instead of a warning per fold."""
    if not states or any(state != "FAIL" for state in states):
        return
    errors = list(fit_errors) if fit_errors is not None else [[] for _ in states]
    n_fit = sum(1 for config in errors if config)
    n_scorer = len(states) - n_fit
    advice = (
        "The scorer probably does not fit this task (for example 'roc_auc' on more than two "
        "classes: use 'roc_auc_ovr'); set error_score='raise' to see its error."
    )
    if not n_fit:
        message = (
            f"No configuration got a finite CV score: scoring={scoring!r} gave NaN on every one "
            f"of the {len(states)} configuration(s), so best_score_ is NaN and best_params_ "
            f"means nothing. {advice}"
        )
    else:
        # Blaming the scorer here sent a QA pass looking at the metric when grouped splits had
        # left training folds with a single class: the fits had failed, not the scoring.
        message = (
            f"No configuration got a finite CV score (0 of {len(states)}), so best_score_ is "
            f"NaN and best_params_ means nothing. {n_fit} configuration(s) had fits that "
            "failed, and a failed fit scores error_score (NaN). The fit errors, grouped:\n"
            f"{_grouped([e for config in errors for e in config])}\n"
            "Fix what makes these fits fail (splits whose training folds lack a class, for "
            "example with grouped or unshuffled splits), or give error_score a number to score "
            "the failed folds; error_score='raise' shows the first error's full traceback."
        )
        if n_scorer:
            message += (
                f" Besides, scoring={scoring!r} gave NaN on the {n_scorer} configuration(s) "
                f"whose fits worked. {advice}"
            )
    warnings.warn(message, UserWarning, stacklevel=3)
