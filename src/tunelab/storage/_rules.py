"""Checks and summaries shared by every backend, so they all refuse the same writes alike."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .._constraints import is_feasible
from .._frozen import FrozenTrial, StudyDirection, TrialState
from .._space import Distribution
from .._trial import FIXED_PARAMS_ATTR, GRID_POINT_ATTR
from ..exceptions import InvalidParameterError, StaleTrialError, TrialAlreadyFinishedError
from ._base import RETRY_COUNT_ATTR, RETRY_OF_ATTR, StudySummary

LOST_PREFIX = "worker lost"

# Steps are 64-bit integers in every backend (PostgreSQL BIGINT, SQLite INTEGER): memory accepts
# no more than the databases do, so a study moves between backends without surprises.
MIN_STEP = -(2**63)
MAX_STEP = 2**63 - 1


def clean_text(text: str | None) -> str | None:
    """``text`` without NUL characters, which PostgreSQL text columns refuse.

    Exception messages may hold them (decoded binary data); failing the write would leave the
    trial RUNNING. Every backend stores the same replacement so all of them read back alike.
    """
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime; a naive one is local time, as Python reads it.

    SQLite keeps wall-clock digits only, so an aware non-UTC moment must be shifted before it is
    written. A naive moment comes from the user (``datetime.now()`` in an ``add_trial``
    template): local time is what it means there.
    """
    if moment is None:
        return None
    return moment.astimezone(UTC)


def check_step(step: int) -> None:
    if not MIN_STEP <= step <= MAX_STEP:
        raise InvalidParameterError(
            f"Step {step} of an intermediate value is out of range: a step must fit in 64 bits "
            f"({MIN_STEP} to {MAX_STEP})."
        )


def normalize_template(template: FrozenTrial) -> FrozenTrial:
    """A copy of ``template`` as every backend stores it: UTC moments, text without NUL."""
    for step in template.intermediate_values:
        check_step(int(step))
    trial = template.copy()
    trial.datetime_start = as_utc(template.datetime_start)
    trial.datetime_complete = as_utc(template.datetime_complete)
    trial.fail_reason = clean_text(template.fail_reason)
    return trial


def was_reaped(trial: FrozenTrial) -> bool:
    return trial.fail_reason is not None and trial.fail_reason.startswith(LOST_PREFIX)


def check_writable(trial: FrozenTrial) -> None:
    if was_reaped(trial):
        raise StaleTrialError(
            f"Trial {trial.number} was failed by another worker ({trial.fail_reason}); "
            "its worker may not write to it any more."
        )
    if trial.state.is_finished():
        raise TrialAlreadyFinishedError(
            f"Trial {trial.number} is already finished ({trial.state.name}); "
            "a finished trial cannot be changed."
        )


def check_param_write(trial: FrozenTrial, name: str, distribution: Distribution) -> None:
    check_writable(trial)
    known = trial.distributions.get(name)
    if known is not None and known != distribution:
        raise InvalidParameterError(
            f"Parameter {name!r} of trial {trial.number} is already set with {known!r}; "
            f"cannot set it again with {distribution!r}."
        )


def check_trial_finish(trial: FrozenTrial, state: TrialState) -> None:
    if not state.is_finished():
        raise InvalidParameterError(
            f"A trial can only be finished as COMPLETE, PRUNED or FAIL, got {state!r}."
        )
    if trial.state.is_finished():
        error = StaleTrialError if was_reaped(trial) else TrialAlreadyFinishedError
        raise error(
            f"Trial {trial.number} is already finished ({trial.state.name}"
            + (f": {trial.fail_reason}" if trial.fail_reason else "")
            + "); it cannot be told again."
        )
    if trial.state == TrialState.WAITING:
        raise InvalidParameterError(
            f"Trial {trial.number} is WAITING (enqueued, never started); it cannot be finished."
        )


def best_values(
    directions: Sequence[StudyDirection], trials: Sequence[FrozenTrial]
) -> list[float] | None:
    """The best value of a single-objective study over its feasible completed trials, as
    ``Study.best_value`` (None for several objectives, or when no trial qualifies)."""
    if len(directions) != 1:
        return None
    done = [
        t.values[0]
        for t in trials
        if t.state == TrialState.COMPLETE
        and t.values
        and not math.isnan(t.values[0])
        and is_feasible(t)
    ]
    if not done:
        return None
    return [max(done) if directions[0] == StudyDirection.MAXIMIZE else min(done)]


def summarize(
    study_id: int,
    name: str,
    directions: Sequence[StudyDirection],
    trials: Sequence[FrozenTrial],
    created: datetime | None,
    user_attrs: dict[str, Any],
) -> StudySummary:
    counts: dict[TrialState, int] = {}
    last: datetime | None = None
    n_infeasible = 0
    for t in trials:
        counts[t.state] = counts.get(t.state, 0) + 1
        if t.state == TrialState.COMPLETE and not is_feasible(t):
            n_infeasible += 1
        for moment in (t.datetime_start, t.datetime_complete):
            if moment is not None and (last is None or moment > last):
                last = moment
    return StudySummary(
        study_id=study_id,
        study_name=name,
        directions=list(directions),
        n_trials_by_state=counts,
        best_values=best_values(directions, trials),
        datetime_start=created,
        last_activity=last,
        user_attrs=dict(user_attrs),
        n_infeasible=n_infeasible,
    )


def retry_within(lost: FrozenTrial, limit: int) -> FrozenTrial | None:
    """The WAITING re-run of ``lost`` while its chain of re-runs is shorter than ``limit``
    (the study's ``retry_failed``), else None; the one rule of the reaper and of a lost worker."""
    count = int(lost.system_attrs.get(RETRY_COUNT_ATTR, 0))
    return retry_template(lost, count + 1) if count < limit else None


def retry_template(lost: FrozenTrial, count: int) -> FrozenTrial:
    """The WAITING copy of a trial whose worker was lost, to be run again (``retry_failed``):
    its parameters, and ``retry_of``/``retry_count`` saying which trial it repeats."""
    system_attrs: dict[str, Any] = {RETRY_OF_ATTR: lost.number, RETRY_COUNT_ATTR: count}
    # A grid trial lost between two suggests had its whole point decided: the retry runs that
    # point. With only the parameters drawn so far, the grid handed it another point agreeing
    # with them, and the lost one, counted as tried, never ran. One lost before its first
    # suggest never ran: its point is free for any trial (the grid takes it over), and tied to
    # the retry as well, it could run twice.
    point = lost.system_attrs.get(GRID_POINT_ATTR) if lost.params else None
    fixed = {**(point or {}), **(lost.system_attrs.get(FIXED_PARAMS_ATTR) or {})}
    if fixed:
        system_attrs[FIXED_PARAMS_ATTR] = fixed
    return FrozenTrial(
        number=-1,
        state=TrialState.WAITING,
        params=dict(lost.params),
        distributions=dict(lost.distributions),
        system_attrs=system_attrs,
    )
