"""The storage contract: what every backend promises, checked the same way for each."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from .._frozen import FrozenTrial, StudyDirection, TrialState
from .._space import Categorical, Float, Int
from ..exceptions import (
    DuplicatedStudyError,
    InvalidParameterError,
    StaleTrialError,
    StudyNotFoundError,
    TrialAlreadyFinishedError,
)
from ..storage import RETRY_COUNT_ATTR, RETRY_FAILED_ATTR, RETRY_OF_ATTR, BaseStorage

MIN = [StudyDirection.MINIMIZE]


class FakeClock:
    """Seconds since the epoch that move only when told: lease tests without sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StorageContract:
    """Subclass with a ``storage`` fixture returning a fresh, empty storage.

    A backend with leases (``heartbeat_interval`` is not None) must read lease time from the
    ``clock`` fixture (a :class:`FakeClock`) and expose ``grace_period``; the lease tests are
    skipped for backends without leases.
    """

    @pytest.fixture
    def storage(self) -> BaseStorage:  # pragma: no cover - subclasses override
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    def test_study_names_are_unique(self, storage: BaseStorage) -> None:
        storage.create_study("a", MIN)
        with pytest.raises(DuplicatedStudyError, match="'a' already exists"):
            storage.create_study("a", MIN)

    def test_system_attrs_are_written_with_the_study(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN, system_attrs={"mark": {"n": 1, "done": False}})
        assert storage.get_study_attrs(sid, system=True) == {"mark": {"n": 1, "done": False}}
        assert storage.get_study_attrs(sid) == {}
        plain = storage.create_study("t", MIN)
        assert storage.get_study_attrs(plain, system=True) == {}

    def test_unknown_study_is_named(self, storage: BaseStorage) -> None:
        with pytest.raises(StudyNotFoundError, match="'nope'"):
            storage.get_study_id("nope")

    def test_study_round_trip(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE])
        assert storage.get_study_id("s") == sid
        assert storage.get_study_name(sid) == "s"
        assert storage.get_study_directions(sid) == [
            StudyDirection.MAXIMIZE,
            StudyDirection.MINIMIZE,
        ]
        storage.set_study_attr(sid, "k", {"a": [1, 2]})
        storage.set_study_attr(sid, "k", {"a": [3]})
        storage.set_study_attr(sid, "sys", 5, system=True)
        assert storage.get_study_attrs(sid) == {"k": {"a": [3]}}
        assert storage.get_study_attrs(sid, system=True) == {"sys": 5}
        assert [s.study_name for s in storage.list_studies()] == ["s"]

    def test_numbers_are_consecutive(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        other = storage.create_study("t", MIN)
        numbers = [storage.create_trial(sid).number for _ in range(5)]
        assert numbers == [0, 1, 2, 3, 4]
        assert storage.create_trial(other).number == 0

    def test_numbers_are_atomic_under_threads(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        with ThreadPoolExecutor(4) as pool:
            numbers = list(pool.map(lambda _: storage.create_trial(sid).number, range(40)))
        assert sorted(numbers) == list(range(40))

    def test_trial_round_trip_keeps_special_floats(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        assert t.state == TrialState.RUNNING and t.datetime_start is not None
        storage.set_trial_param(t.trial_id, "x", 0.25, Float(0, 1))
        storage.set_trial_param(t.trial_id, "n", 3.0, Int(1, 5))
        storage.set_trial_param(t.trial_id, "k", 1.0, Categorical(["a", None, True]))
        for step, v in enumerate([1.5, math.nan, math.inf, -math.inf]):
            storage.set_trial_intermediate_value(t.trial_id, step, v)
        storage.set_trial_attr(t.trial_id, "note", ["x", 1])
        storage.set_trial_attr(t.trial_id, "sys", {"a": 1}, system=True)
        done = storage.finish_trial(t.trial_id, TrialState.COMPLETE, [-math.inf])
        assert done.values == [-math.inf]
        got = storage.get_trial(t.trial_id)
        assert got.params == {"x": 0.25, "n": 3, "k": None}
        assert isinstance(got.params["n"], int)
        assert got.distributions["k"] == Categorical(["a", None, True])
        assert got.intermediate_values[0] == 1.5 and math.isnan(got.intermediate_values[1])
        assert got.intermediate_values[2] == math.inf and got.intermediate_values[3] == -math.inf
        assert got.user_attrs == {"note": ["x", 1]} and got.system_attrs == {"sys": {"a": 1}}
        assert got.state == TrialState.COMPLETE and got.datetime_complete is not None
        assert got.values == [-math.inf]

    def test_finished_trial_is_immutable(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0])
        with pytest.raises(TrialAlreadyFinishedError, match="already finished"):
            storage.finish_trial(t.trial_id, TrialState.COMPLETE, [2.0])
        with pytest.raises(TrialAlreadyFinishedError, match="already finished"):
            storage.set_trial_param(t.trial_id, "x", 0.1, Float(0, 1))
        with pytest.raises(TrialAlreadyFinishedError, match="already finished"):
            storage.set_trial_intermediate_value(t.trial_id, 0, 1.0)
        with pytest.raises(TrialAlreadyFinishedError, match="already finished"):
            storage.set_trial_attr(t.trial_id, "a", 1)
        assert storage.get_trial(t.trial_id).values == [1.0]

    def test_param_cannot_change_distribution(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", 0.5, Float(0, 1))
        with pytest.raises(InvalidParameterError, match="'x'"):
            storage.set_trial_param(t.trial_id, "x", 0.5, Float(0, 2))

    def test_waiting_trials_are_claimed_once_in_order(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        for i in range(3):
            tmpl = FrozenTrial(number=-1, state=TrialState.WAITING, system_attrs={"i": i})
            assert storage.create_trial(sid, tmpl).state == TrialState.WAITING
        claimed = [storage.claim_waiting_trial(sid) for _ in range(4)]
        assert [c.system_attrs["i"] for c in claimed[:3]] == [0, 1, 2]  # type: ignore[union-attr]
        assert all(c.state == TrialState.RUNNING for c in claimed[:3])  # type: ignore[union-attr]
        assert claimed[3] is None

    def test_finished_template_is_stored_whole(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        tmpl = FrozenTrial(
            number=-1,
            state=TrialState.COMPLETE,
            values=[math.inf],
            params={"x": 0.5},
            distributions={"x": Float(0, 1)},
            intermediate_values={0: math.nan},
        )
        got = storage.create_trial(sid, tmpl)
        assert got.values == [math.inf] and got.params == {"x": 0.5}
        assert math.isnan(got.intermediate_values[0])

    def test_get_all_trials_sees_updates(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        a = storage.create_trial(sid)
        b = storage.create_trial(sid)
        assert [t.state for t in storage.get_all_trials(sid)] == [TrialState.RUNNING] * 2
        storage.finish_trial(b.trial_id, TrialState.FAIL, None, "boom")
        storage.set_trial_param(a.trial_id, "x", 0.5, Float(0, 1))
        trials = storage.get_all_trials(sid)
        assert trials[0].params == {"x": 0.5} and trials[1].fail_reason == "boom"
        storage.finish_trial(a.trial_id, TrialState.PRUNED, [0.3])
        done = storage.get_all_trials(sid, (TrialState.PRUNED,))
        assert [t.number for t in done] == [0] and done[0].values == [0.3]
        assert storage.get_n_trials(sid) == 2
        assert storage.get_n_trials(sid, (TrialState.FAIL,)) == 1

    def test_delete_study(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        storage.create_trial(sid)
        storage.delete_study(sid)
        with pytest.raises(StudyNotFoundError, match="'s'"):
            storage.get_study_id("s")
        storage.create_study("s", MIN)  # the name is free again

    def test_a_study_attr_is_claimed_once(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        assert storage.claim_study_attr(sid, "k", 7) == 7
        assert storage.claim_study_attr(sid, "k", 8) == 7
        assert storage.get_study_attrs(sid, system=True)["k"] == 7
        assert storage.get_study_attrs(sid) == {}
        assert storage.claim_study_attr(sid, "k", 9, expected=5) == 7  # not the holder named
        assert storage.claim_study_attr(sid, "k", 9, expected=7) == 9  # taken over
        assert storage.get_study_attrs(sid, system=True)["k"] == 9

    def test_study_names_with_trials_listed(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [2.0])
        storage.finish_trial(storage.create_trial(sid).trial_id, TrialState.COMPLETE, [1.0])
        (summary,) = storage.list_studies()
        assert summary.n_trials == 2 and summary.best_values == [1.0]

    def test_summary_best_counts_feasible_trials_only(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        for value, constraints in [(2.0, [-1.0]), (1.0, [0.5]), (3.0, None)]:
            t = storage.create_trial(sid)
            if constraints is not None:
                storage.set_trial_attr(t.trial_id, "constraints", constraints, system=True)
            storage.finish_trial(t.trial_id, TrialState.COMPLETE, [value])
        (summary,) = storage.list_studies()
        # 1.0 violates its constraint; 3.0 has no constraint values and counts as feasible.
        assert summary.best_values == [2.0] and summary.n_infeasible == 1

    def test_ids_of_a_deleted_study_are_never_reused(self, storage: BaseStorage) -> None:
        old = storage.create_study("old", MIN)
        stale = storage.create_trial(old)
        storage.delete_study(old)
        new = storage.create_study("new", MIN)
        fresh = storage.create_trial(new)
        assert new != old and fresh.trial_id != stale.trial_id
        # The worker of the deleted study still holds its trial id: its writes must fail, not
        # land in the new study.
        with pytest.raises(StudyNotFoundError):
            storage.set_trial_param(stale.trial_id, "x", 0.5, Float(0, 1))
        with pytest.raises(StudyNotFoundError):
            storage.finish_trial(stale.trial_id, TrialState.COMPLETE, [1.0])
        with pytest.raises(StudyNotFoundError):
            storage.create_trial(old)
        (trial,) = storage.get_all_trials(new)
        assert trial.state == TrialState.RUNNING and trial.params == {} and trial.values is None

    def test_nul_in_a_fail_reason_is_replaced(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        done = storage.finish_trial(t.trial_id, TrialState.FAIL, None, "byte b'\x00' in header")
        assert done.state == TrialState.FAIL
        assert done.fail_reason == "byte b'\ufffd' in header"
        assert storage.get_trial(t.trial_id).fail_reason == "byte b'\ufffd' in header"
        tmpl = FrozenTrial(number=-1, state=TrialState.FAIL, fail_reason="a\x00b")
        assert storage.create_trial(sid, tmpl).fail_reason == "a\ufffdb"
        assert [x.fail_reason for x in storage.get_all_trials(sid)] == [
            "byte b'\ufffd' in header",
            "a\ufffdb",
        ]

    def test_moments_are_stored_as_utc(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        start = datetime(2020, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        naive = datetime(2020, 1, 1, 11, 0)  # local time, as datetime.now() gives it
        tmpl = FrozenTrial(
            number=-1,
            state=TrialState.COMPLETE,
            values=[1.0],
            datetime_start=start,
            datetime_complete=naive,
        )
        made = storage.create_trial(sid, tmpl)
        storage.create_trial(sid)  # stamped by the storage, next to the given moments
        for got in (made, storage.get_trial(made.trial_id), storage.get_all_trials(sid)[0]):
            assert got.datetime_start == datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
            assert got.datetime_complete == naive.astimezone(UTC)
            assert (
                got.datetime_start.utcoffset() == got.datetime_complete.utcoffset() == timedelta(0)
            )
        (summary,) = storage.list_studies()
        assert summary.last_activity is not None and summary.last_activity.tzinfo is not None

    def test_steps_take_64_bits(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        steps = [2**31, 3_000_000_000, 2**63 - 1]
        for step in steps:
            storage.set_trial_intermediate_value(t.trial_id, step, 0.5)
        with pytest.raises(InvalidParameterError, match="64 bits"):
            storage.set_trial_intermediate_value(t.trial_id, 2**63, 0.5)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [0.5])
        assert list(storage.get_trial(t.trial_id).intermediate_values) == steps
        tmpl = FrozenTrial(number=-1, state=TrialState.COMPLETE, values=[1.0])
        tmpl.intermediate_values = {2**40: 1.0}
        made = storage.create_trial(sid, tmpl)
        assert storage.get_trial(made.trial_id).intermediate_values == {2**40: 1.0}
        tmpl.intermediate_values = {2**63: 1.0}
        with pytest.raises(InvalidParameterError, match="64 bits"):
            storage.create_trial(sid, tmpl)
        assert storage.get_n_trials(sid) == 2

    def test_heartbeat_answers_whether_the_trial_runs(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        assert storage.heartbeat(t.trial_id) is True
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0])
        assert storage.heartbeat(t.trial_id) is False
        assert storage.reap_stale_trials(sid) == []

    # -- leases (skipped for backends without them) --------------------------------------------
    @staticmethod
    def _leased(storage: BaseStorage) -> float:
        if storage.heartbeat_interval is None:
            pytest.skip(f"{type(storage).__name__} keeps no leases")
        return float(storage.grace_period)  # type: ignore[attr-defined]

    def test_expired_lease_is_reaped_and_late_writes_are_stale(
        self, storage: BaseStorage, clock: FakeClock
    ) -> None:
        grace = self._leased(storage)
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", 0.25, Float(0, 1))
        clock.advance(grace / 2)
        assert storage.reap_stale_trials(sid) == []
        clock.advance(grace)
        (lost,) = storage.reap_stale_trials(sid)
        assert lost.number == t.number and lost.state == TrialState.FAIL
        assert lost.fail_reason is not None and lost.fail_reason.startswith("worker lost")
        assert storage.get_trial(t.trial_id).state == TrialState.FAIL
        assert [x.state for x in storage.get_all_trials(sid)] == [TrialState.FAIL]
        with pytest.raises(StaleTrialError, match="worker lost"):
            storage.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0])
        with pytest.raises(StaleTrialError, match="worker lost"):
            storage.set_trial_attr(t.trial_id, "a", 1)
        assert storage.heartbeat(t.trial_id) is False
        clock.advance(grace * 2)
        assert storage.reap_stale_trials(sid) == []  # reaped once only

    def test_heartbeats_keep_a_trial_alive(self, storage: BaseStorage, clock: FakeClock) -> None:
        grace = self._leased(storage)
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        for _ in range(4):
            clock.advance(grace * 0.75)
            assert storage.heartbeat(t.trial_id) is True
            assert storage.reap_stale_trials(sid) == []
        assert storage.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0]).values == [1.0]
        clock.advance(grace * 2)
        assert storage.reap_stale_trials(sid) == []  # finished trials hold no lease

    def test_a_lost_trial_is_failed_and_retried_up_to_the_limit(self, storage: BaseStorage) -> None:
        sid = storage.create_study("s", MIN, system_attrs={RETRY_FAILED_ATTR: 1})
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", 0.25, Float(0, 1))
        lost, retry = storage.fail_lost_trial(sid, t.trial_id, "worker lost: process 7")
        assert lost.state == TrialState.FAIL and lost.fail_reason == "worker lost: process 7"
        assert retry is not None and retry.state == TrialState.WAITING and retry.number == 1
        assert retry.params == {"x": 0.25} and retry.system_attrs[RETRY_OF_ATTR] == 0
        again = storage.claim_waiting_trial(sid)
        assert again is not None
        lost, retry = storage.fail_lost_trial(sid, again.trial_id, "worker lost: process 8")
        assert retry is None and storage.get_n_trials(sid) == 2  # the limit was reached
        with pytest.raises((StaleTrialError, TrialAlreadyFinishedError)):
            storage.fail_lost_trial(sid, again.trial_id, "twice")

    def test_reaped_trial_is_retried_up_to_the_limit(
        self, storage: BaseStorage, clock: FakeClock
    ) -> None:
        grace = self._leased(storage)
        sid = storage.create_study("s", MIN)
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", 0.25, Float(0, 1))
        storage.set_trial_param(t.trial_id, "k", 1.0, Categorical(["a", "b"]))
        clock.advance(grace + 1)
        assert len(storage.reap_stale_trials(sid, retry_failed=1)) == 1
        waiting = storage.get_all_trials(sid, (TrialState.WAITING,))
        assert [w.number for w in waiting] == [1]
        assert waiting[0].params == {"x": 0.25, "k": "b"}
        assert waiting[0].distributions == {"x": Float(0, 1), "k": Categorical(["a", "b"])}
        assert waiting[0].system_attrs[RETRY_OF_ATTR] == 0
        assert waiting[0].system_attrs[RETRY_COUNT_ATTR] == 1
        retry = storage.claim_waiting_trial(sid)
        assert retry is not None and retry.number == 1 and retry.params["x"] == 0.25
        clock.advance(grace + 1)
        (lost,) = storage.reap_stale_trials(sid, retry_failed=1)
        assert lost.number == 1
        assert storage.get_n_trials(sid) == 2  # the limit was reached: no third run

    def test_retry_limit_comes_from_the_study(self, storage: BaseStorage, clock: FakeClock) -> None:
        grace = self._leased(storage)
        sid = storage.create_study("s", MIN)
        storage.set_study_attr(sid, RETRY_FAILED_ATTR, 2, system=True)
        storage.create_trial(sid)
        clock.advance(grace + 1)
        storage.reap_stale_trials(sid)
        assert [t.state for t in storage.get_all_trials(sid)] == [
            TrialState.FAIL,
            TrialState.WAITING,
        ]

    def test_concurrent_reapers_requeue_once(self, storage: BaseStorage, clock: FakeClock) -> None:
        grace = self._leased(storage)
        sid = storage.create_study("s", MIN)
        for _ in range(3):
            storage.create_trial(sid)
        clock.advance(grace + 1)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: storage.reap_stale_trials(sid, 5), range(4)))
        assert sorted(t.number for r in results for t in r) == [0, 1, 2]
        assert storage.get_n_trials(sid, (TrialState.WAITING,)) == 3
