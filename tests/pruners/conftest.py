"""Helpers that build studies from hand-made learning curves."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

import tunelab as tl


def _finish(study: tl.Study, curve: Sequence[float], value: float | None = None) -> tl.FrozenTrial:
    """A completed trial that reported ``curve`` at steps 0, 1, ..."""
    trial = study.ask()
    for step, v in enumerate(curve):
        trial.report(v, step)
    return study.tell(trial, curve[-1] if value is None else value)


def _run(study: tl.Study, curve: Sequence[float]) -> int | None:
    """Report ``curve`` step by step as an objective would; the step it was pruned at, or None
    (the trial is then told PRUNED or COMPLETE accordingly)."""
    trial = study.ask()
    for step, v in enumerate(curve):
        trial.report(v, step)
        if trial.should_prune():
            study.tell(trial, state=tl.TrialState.PRUNED)
            return step
    study.tell(trial, curve[-1])
    return None


@pytest.fixture
def finish() -> Callable[..., tl.FrozenTrial]:
    return _finish


@pytest.fixture
def run() -> Callable[..., int | None]:
    return _run
