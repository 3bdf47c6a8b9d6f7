"""The storage interface: the single source of truth that every sampler, pruner and worker reads.

Rules every backend keeps (the contract suite in ``tunelab.testing`` checks them):
- trial numbers within a study are assigned atomically: 0, 1, 2, ... with no gap or duplicate;
- a finished trial (COMPLETE, PRUNED, FAIL) is immutable: any later write raises;
- a trial finished by someone else (a reaper) raises StaleTrialError for the late writer;
- objective values and intermediate values keep +inf, -inf and NaN exactly.
"""

from __future__ import annotations

import abc
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._frozen import FrozenTrial, StudyDirection, TrialState
from .._space import Distribution

# Study system attribute: how many times a trial lost with its worker is re-queued (default 0).
RETRY_FAILED_ATTR = "retry_failed"
# Trial system attributes of a re-queued trial: the number of the trial it repeats, and how many
# re-runs of the original trial it is (1 for the first).
RETRY_OF_ATTR = "retry_of"
RETRY_COUNT_ATTR = "retry_count"


@dataclass
class StudySummary:
    study_id: int
    study_name: str
    directions: list[StudyDirection]
    n_trials_by_state: dict[TrialState, int] = field(default_factory=dict)
    best_values: list[float] | None = None
    datetime_start: datetime | None = None
    last_activity: datetime | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    #: Completed trials that violate a constraint (they have no part in ``best_values``).
    n_infeasible: int = 0

    @property
    def n_trials(self) -> int:
        return sum(self.n_trials_by_state.values())

    @property
    def direction(self) -> StudyDirection:
        """The one direction of a single-objective study (as ``Study.direction``)."""
        if len(self.directions) != 1:
            raise ValueError(f"Study {self.study_name!r} has several objectives; use `directions`.")
        return self.directions[0]


class BaseStorage(abc.ABC):
    """Abstract storage. Methods are called by Study, never by user code directly."""

    # -- studies -------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_study(
        self,
        study_name: str,
        directions: Sequence[StudyDirection],
        *,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Create a study; raise DuplicatedStudyError if the name is taken.

        ``system_attrs`` are written with the study, atomically: a process killed while
        creating it leaves either no study or one that carries them (an import's mark).
        """

    @abc.abstractmethod
    def delete_study(self, study_id: int) -> None: ...

    @abc.abstractmethod
    def get_study_id(self, study_name: str) -> int:
        """Raise StudyNotFoundError naming the study when it does not exist."""

    @abc.abstractmethod
    def get_study_name(self, study_id: int) -> str: ...

    @abc.abstractmethod
    def get_study_directions(self, study_id: int) -> list[StudyDirection]: ...

    @abc.abstractmethod
    def list_studies(self) -> list[StudySummary]: ...

    @abc.abstractmethod
    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        """Store a JSON-serializable attribute on the study."""

    @abc.abstractmethod
    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]: ...

    def claim_study_attr(self, study_id: int, key: str, value: Any, expected: Any = None) -> Any:
        """Set system attribute ``key`` of the study to ``value`` if it is unset, or holds
        ``expected`` (a claim taken over from a holder known to be gone), and return what it
        holds afterwards: ``value`` for the one caller that set it. Samplers use it to hand out
        a resource once across processes (GridSampler's grid points). Backends whose writers
        can race override it with an atomic version; this default is atomic only for a single
        process."""
        held = self.get_study_attrs(study_id, system=True).get(key)
        if held is not None and (expected is None or held != expected):
            return held
        self.set_study_attr(study_id, key, value, system=True)
        return value

    # -- trials --------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        """Add a trial with the next number. ``template`` (state, params, attrs) seeds it:
        a WAITING template enqueues it, otherwise it starts RUNNING now."""

    @abc.abstractmethod
    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING and return it (None if none)."""

    @abc.abstractmethod
    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: Distribution
    ) -> None: ...

    @abc.abstractmethod
    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None: ...

    @abc.abstractmethod
    def set_trial_attr(
        self, trial_id: int, key: str, value: Any, *, system: bool = False
    ) -> None: ...

    @abc.abstractmethod
    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        fail_reason: str | None = None,
    ) -> FrozenTrial:
        """Move a RUNNING trial to a finished state, in one transaction, and return it."""

    def fail_lost_trial(
        self, study_id: int, trial_id: int, fail_reason: str
    ) -> tuple[FrozenTrial, FrozenTrial | None]:
        """Fail a RUNNING trial whose worker died and, while the study's ``RETRY_FAILED_ATTR``
        allows, queue its re-run; return the failed trial and the retry (None: no retry).

        Backends that can do both in one transaction do (SQL): a driver that dies between the
        two would otherwise leave a lost trial that is never retried, since the reaper only
        looks at RUNNING trials. This fallback does them one after the other.
        """
        from ._rules import retry_within

        lost = self.finish_trial(trial_id, TrialState.FAIL, fail_reason=fail_reason)
        template = retry_within(lost, _retry_limit(self.get_study_attrs(study_id, system=True)))
        return lost, None if template is None else self.create_trial(study_id, template)

    @abc.abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial: ...

    @abc.abstractmethod
    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """All trials ordered by number. Finished trials may be shared objects: do not mutate."""

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        return len(self.get_all_trials(study_id, states))

    # -- leases --------------------------------------------------------------------------------
    #: Seconds between two lease renewals of a running trial; None: this backend has no leases.
    heartbeat_interval: float | None = None

    def heartbeat(self, trial_id: int) -> bool:
        """Renew the lease of a RUNNING trial; False when the trial is no longer RUNNING (for
        example reaped by another worker). Called by a background thread every
        ``heartbeat_interval`` seconds. Backends without leases only answer."""
        return self.get_trial(trial_id).state == TrialState.RUNNING

    def reap_stale_trials(
        self, study_id: int, retry_failed: int | None = None
    ) -> list[FrozenTrial]:
        """Fail the RUNNING trials whose lease expired (reason "worker lost: ...") and return them.

        Each reaped trial whose chain of re-runs is shorter than ``retry_failed`` (None: the
        study's ``RETRY_FAILED_ATTR`` system attribute, default 0) is re-queued as a WAITING
        trial with the same parameters and ``retry_of``/``retry_count`` system attributes.
        Atomic: of two concurrent reapers, exactly one fails and re-queues a given trial.
        Called before each ``ask``. Backends without leases reap nothing.
        """
        return []

    def close(self) -> None:
        """Release connections. The storage must not be used afterwards."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _retry_limit(study_system_attrs: dict[str, Any]) -> int:
    return int(study_system_attrs.get(RETRY_FAILED_ATTR, 0) or 0)
