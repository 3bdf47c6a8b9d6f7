"""Pieces shared by the integrations."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from .._frozen import StudyDirection
from ..exceptions import InvalidParameterError, TrialPruned

if TYPE_CHECKING:
    from .._trial import Trial


def require(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{extra} needs the '{module}' package, which is not installed. "
            f"Install it with: pip install {module}"
        ) from exc


def check_direction(trial: Trial, higher_is_better: bool, what: str, owner: str) -> None:
    """A metric and a study that disagree on direction would prune the best trials."""
    if len(trial.study.directions) != 1:
        raise InvalidParameterError(
            f"{owner} reports one metric; the study has {len(trial.study.directions)} objectives."
        )
    want = StudyDirection.MAXIMIZE if higher_is_better else StudyDirection.MINIMIZE
    have = trial.study.directions[0]
    if have != want:
        raise InvalidParameterError(
            f"{owner}: {what} is {'higher' if higher_is_better else 'lower'}-is-better but the "
            f"study direction is {have.value!r}. Create the study with direction="
            f"{want.value!r} (or report a metric that goes the study's way)."
        )


def report_and_check(trial: Trial, value: float, step: int, owner: str) -> None:
    trial.report(float(value), step)
    if trial.should_prune():
        raise TrialPruned(f"{owner}: trial {trial.number} was pruned at step {step}.")
