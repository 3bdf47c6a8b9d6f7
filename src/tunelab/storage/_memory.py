"""In-process storage: the default when no URL is given. Thread-safe, gone with the process."""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Container, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._frozen import FrozenTrial, StudyDirection, TrialState
from .._space import Distribution
from ..exceptions import DuplicatedStudyError, StudyNotFoundError
from ._base import BaseStorage, StudySummary
from ._rules import (
    check_param_write,
    check_step,
    check_trial_finish,
    check_writable,
    clean_text,
    normalize_template,
    summarize,
)


def _now() -> datetime:
    return datetime.now(UTC)


class _StudyRecord:
    def __init__(self, study_id: int, name: str, directions: list[StudyDirection]) -> None:
        self.study_id = study_id
        self.name = name
        self.directions = directions
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.trials: list[FrozenTrial] = []
        self.waiting: deque[int] = deque()
        self.created = _now()


class InMemoryStorage(BaseStorage):
    """Keeps studies in this process. Pass it to several studies to share trials between them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, _StudyRecord] = {}
        self._trial_index: dict[int, tuple[int, int]] = {}  # trial_id -> (study_id, number)
        self._next_study_id = 0
        self._next_trial_id = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # -- studies -------------------------------------------------------------------------------
    def create_study(
        self,
        study_name: str,
        directions: Sequence[StudyDirection],
        *,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        attrs = copy.deepcopy(dict(system_attrs or {}))
        with self._lock:
            if any(s.name == study_name for s in self._studies.values()):
                raise DuplicatedStudyError(
                    f"A study named {study_name!r} already exists. Pass load_if_exists=True to "
                    "continue it, or choose another name."
                )
            study_id = self._next_study_id
            self._next_study_id += 1
            record = self._studies[study_id] = _StudyRecord(study_id, study_name, list(directions))
            record.system_attrs.update(attrs)
            return study_id

    def _study(self, study_id: int) -> _StudyRecord:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"No study with id {study_id} in this storage.") from None

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            record = self._study(study_id)
            for trial in record.trials:
                self._trial_index.pop(trial.trial_id, None)
            del self._studies[study_id]

    def get_study_id(self, study_name: str) -> int:
        with self._lock:
            for record in self._studies.values():
                if record.name == study_name:
                    return record.study_id
        raise StudyNotFoundError(
            f"No study named {study_name!r} in this storage. "
            "List the studies with `tunelab studies --storage URL`."
        )

    def get_study_name(self, study_id: int) -> str:
        with self._lock:
            return self._study(study_id).name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        with self._lock:
            return list(self._study(study_id).directions)

    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            return [
                summarize(r.study_id, r.name, r.directions, r.trials, r.created, r.user_attrs)
                for r in self._studies.values()
            ]

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        with self._lock:
            record = self._study(study_id)
            (record.system_attrs if system else record.user_attrs)[key] = copy.deepcopy(value)

    def get_study_attrs(self, study_id: int, *, system: bool = False) -> dict[str, Any]:
        with self._lock:
            record = self._study(study_id)
            return copy.deepcopy(record.system_attrs if system else record.user_attrs)

    def claim_study_attr(self, study_id: int, key: str, value: Any, expected: Any = None) -> Any:
        with self._lock:
            attrs = self._study(study_id).system_attrs
            held = attrs.get(key)
            if held is None or (expected is not None and held == expected):
                attrs[key] = held = copy.deepcopy(value)
            return copy.deepcopy(held)

    # -- trials --------------------------------------------------------------------------------
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        with self._lock:
            record = self._study(study_id)
            trial_id = self._next_trial_id
            self._next_trial_id += 1
            number = len(record.trials)
            if template is None:
                trial = FrozenTrial(number=number, state=TrialState.RUNNING, trial_id=trial_id)
            else:
                trial = normalize_template(template)
                trial.number = number
                trial.trial_id = trial_id
            if trial.state == TrialState.RUNNING and trial.datetime_start is None:
                trial.datetime_start = _now()
            if trial.state.is_finished() and trial.datetime_complete is None:
                trial.datetime_complete = _now()
            record.trials.append(trial)
            if trial.state == TrialState.WAITING:
                record.waiting.append(number)
            self._trial_index[trial_id] = (study_id, number)
            return trial.copy()

    def _trial(self, trial_id: int) -> FrozenTrial:
        try:
            study_id, number = self._trial_index[trial_id]
        except KeyError:
            raise StudyNotFoundError(f"No trial with id {trial_id} in this storage.") from None
        return self._studies[study_id].trials[number]

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            record = self._study(study_id)
            # Numbers of enqueued trials, oldest first: no scan of the whole history per ask.
            while record.waiting:
                trial = record.trials[record.waiting.popleft()]
                if trial.state == TrialState.WAITING:
                    trial.state = TrialState.RUNNING
                    trial.datetime_start = _now()
                    return trial.copy()
            return None

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: Distribution
    ) -> None:
        with self._lock:
            trial = self._trial(trial_id)
            check_param_write(trial, name, distribution)
            trial.params[name] = distribution.to_external(internal_value)
            trial.distributions[name] = distribution

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        check_step(int(step))
        with self._lock:
            trial = self._trial(trial_id)
            check_writable(trial)
            trial.intermediate_values[int(step)] = float(value)

    def set_trial_attr(self, trial_id: int, key: str, value: Any, *, system: bool = False) -> None:
        with self._lock:
            trial = self._trial(trial_id)
            check_writable(trial)
            (trial.system_attrs if system else trial.user_attrs)[key] = copy.deepcopy(value)

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        fail_reason: str | None = None,
    ) -> FrozenTrial:
        with self._lock:
            trial = self._trial(trial_id)
            check_trial_finish(trial, state)
            trial.state = state
            trial.values = None if values is None else [float(v) for v in values]
            trial.fail_reason = clean_text(fail_reason)
            trial.datetime_complete = _now()
            return trial

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            trial = self._trial(trial_id)
            return trial if trial.state.is_finished() else trial.copy()

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            return [
                t if t.state.is_finished() else t.copy()
                for t in self._study(study_id).trials
                if states is None or t.state in states
            ]

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        with self._lock:
            trials = self._study(study_id).trials
            if states is None:
                return len(trials)
            return sum(1 for t in trials if t.state in states)
