"""The worker-side trial proxy behaves like the driver's Trial (n_jobs > 1 against n_jobs=1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import tunelab as tl
from tunelab._space import Float, Int
from tunelab.execution._remote_trial import RemoteTrial, serve_call


def first_error(objective: Any, n_jobs: int) -> tuple[str, tl.FrozenTrial]:
    study = tl.create_study(seed=0)
    with pytest.raises(tl.InvalidParameterError) as info:
        study.optimize(objective, n_trials=1, n_jobs=n_jobs)
    return str(info.value), study.trials[0]


def suggest_x_twice(trial: Any) -> float:
    trial.suggest_float("x", 0, 1)
    return float(trial.suggest_int("x", 5, 10))


def test_suggesting_a_name_again_with_another_distribution_fails_as_inline():
    inline, inline_trial = first_error(suggest_x_twice, n_jobs=1)
    remote, remote_trial = first_error(suggest_x_twice, n_jobs=2)
    assert remote == inline
    assert "was already suggested in trial 0" in remote
    assert remote_trial.state == inline_trial.state == tl.TrialState.FAIL
    assert remote_trial.fail_reason == inline_trial.fail_reason


def test_suggesting_a_name_again_with_the_same_distribution_returns_its_value():
    def obj(trial: Any) -> float:
        x = trial.suggest_float("x", 0, 1)
        assert trial.suggest_float("x", 0, 1) == x
        return x

    study = tl.create_study(seed=0)
    study.optimize(obj, n_trials=4, n_jobs=2)
    assert all(t.state == tl.TrialState.COMPLETE for t in study.trials)


def unused_call(method: str, args: tuple[Any, ...]) -> Any:
    raise AssertionError(f"no call to the driver expected, got {method}{args}")


def test_a_prefetched_parameter_suggested_again_differently_fails_as_inline():
    # The Dask executor sends values drawn before dispatch; they never reach the driver's trial
    # before the objective ends, so the proxy has to check a repeated suggest itself.
    inline, _ = first_error(suggest_x_twice, n_jobs=1)
    trial = RemoteTrial(unused_call, 0, {}, {}, None, {"x": (Float(0, 1), 0.25)})
    assert trial.suggest_float("x", 0, 1) == 0.25
    with pytest.raises(tl.InvalidParameterError) as info:
        trial.suggest_int("x", 5, 10)
    assert str(info.value) == inline
    assert trial.suggest_float("x", 0, 1) == 0.25
    assert trial.used_prefetched == {"x": Float(0, 1)}
    assert trial.distributions == {"x": Float(0, 1)}


def test_parameters_sent_with_the_task_are_checked_against_their_distributions():
    trial = RemoteTrial(unused_call, 3, {"x": 0.5}, {}, None, distributions={"x": Float(0, 1)})
    assert trial.suggest_float("x", 0, 1) == 0.5
    with pytest.raises(tl.InvalidParameterError, match="already suggested in trial 3 as Float"):
        trial.suggest_int("x", 5, 10)


def test_parameters_sent_without_distributions_are_checked_by_the_driver():
    calls = []

    def call(method: str, args: tuple[Any, ...]) -> Any:
        calls.append((method, args))
        if method == "read":
            return {"x": Float(0, 1)}
        if args[1] != Float(0, 1):
            raise tl.InvalidParameterError("driver says no")
        return 0.5

    trial = RemoteTrial(call, 0, {"x": 0.5}, {}, None)
    with pytest.raises(tl.InvalidParameterError, match="driver says no"):
        trial.suggest_int("x", 5, 10)
    assert trial.suggest_float("x", 0, 1) == 0.5
    assert calls == [("suggest", ("x", Int(5, 10))), ("suggest", ("x", Float(0, 1)))]
    assert trial.distributions == {"x": Float(0, 1)}
    assert RemoteTrial(call, 0, {"x": 0.5}, {}, None).distributions == {"x": Float(0, 1)}
    assert calls[-1] == ("read", ("distributions",))


def test_bad_names_and_distributions_fail_as_inline():
    trial = RemoteTrial(unused_call, 0, {"x": 0.5}, {}, None, distributions={"x": Float(0, 1)})
    with pytest.raises(tl.InvalidParameterError, match="non-empty strings"):
        trial.suggest("", Float(0, 1))
    with pytest.raises(tl.InvalidParameterError, match="expected a tunelab distribution"):
        trial.suggest("x", (0, 1))


def read_everything(trial: Any) -> float:
    x = trial.suggest_float("x", 0, 1)
    n = trial.suggest_int("n", 1, 3)
    trial.set_user_attr("seen", trial.user_attrs)
    study = trial.study
    trial.set_user_attr(
        "view",
        {
            "number": trial.number,
            "params": trial.params,
            "distributions": {k: repr(v) for k, v in trial.distributions.items()},
            "system_attrs": sorted(trial.system_attrs),
            "state": trial.state.name,
            "started": trial.datetime_start is not None,
            "study_name": study.study_name,
            "direction": study.direction.name,
            "directions": [d.name for d in study.directions],
            "study_user_attrs": study.user_attrs,
            "best_value": study.best_value,
            "best_params": study.best_params,
            "best_number": study.best_trial.number,
            "best_trials": [t.number for t in study.best_trials],
            "n_trials_seen": len(study.trials) >= 3,
            "n_complete": len(study.get_trials((tl.TrialState.COMPLETE,))),
        },
    )
    return 10 + x + n


def test_a_worker_trial_offers_the_read_only_views_of_an_inline_trial():
    views = {}
    for n_jobs in (1, 2):
        study = tl.create_study(study_name=f"s{n_jobs}", seed=0)
        study.set_user_attr("dataset", "iris")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        study.optimize(read_everything, n_trials=1, n_jobs=n_jobs)
        views[n_jobs] = study.trials[-1].user_attrs["view"]
        assert views[n_jobs]["best_value"] == study.best_value
    assert views[2].pop("study_name") == "s2" and views[1].pop("study_name") == "s1"
    assert views[2] == views[1]
    assert views[2]["state"] == "RUNNING"
    assert views[2]["distributions"] == {"x": repr(Float(0, 1)), "n": repr(Int(1, 3))}
    assert views[2]["system_attrs"]  # the sampler's tag at least


def test_what_a_worker_trial_cannot_offer_is_named_with_the_fix():
    def obj(trial: Any) -> float:
        messages = []
        for get in (
            lambda: trial.study.sampler,
            lambda: trial.study.optimize,
            lambda: trial.freeze,
        ):
            try:
                get()
            except AttributeError as exc:
                messages.append(str(exc))
        trial.set_user_attr("messages", messages)
        return trial.suggest_float("x", 0, 1)

    study = tl.create_study()
    study.optimize(obj, n_trials=1, n_jobs=2)
    sampler, optimize, freeze = study.trials[0].user_attrs["messages"]
    assert sampler.startswith("trial.study.sampler is not available here")
    assert "Study stays in the driver process" in sampler and "n_jobs=1" in sampler
    assert "best_value" in sampler
    assert optimize.startswith("trial.study.optimize is not available here")
    assert freeze.startswith("Trial.freeze is not available here") and "n_jobs=1" in freeze


def test_study_errors_travel_to_the_worker_as_inline():
    def obj(trial: Any) -> float:
        try:
            trial.set_user_attr("best", trial.study.best_value)
        except ValueError as exc:
            trial.set_user_attr("error", str(exc))
        return trial.suggest_float("x", 0, 1)

    study = tl.create_study(study_name="empty")
    study.optimize(obj, n_trials=1, n_jobs=2)
    assert "has no completed trial yet" in study.trials[0].user_attrs["error"]


def test_the_driver_serves_only_the_listed_reads():
    study = tl.create_study()
    trial = study.ask()
    status, error = serve_call(trial, "read", ("_frozen",))
    assert status == "error" and "cannot be called from a worker" in str(error)
    status, error = serve_call(trial, "study_read", ("sampler",))
    assert status == "error"
    assert serve_call(trial, "study_read", ("study_name",)) == ("ok", study.study_name)


def stop_at_trial_two(trial: Any) -> float:
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 2:
        trial.study.stop()
        trial.study.set_user_attr("stopped_at", datetime.now(UTC).isoformat())
    return x


def test_a_worker_stops_the_study_and_notes_on_it():
    study = tl.create_study(seed=0)
    study.optimize(stop_at_trial_two, n_trials=50, n_jobs=2)
    # Trials asked before the driver heard the stop finish; none starts after it.
    stopped_at = datetime.fromisoformat(study.user_attrs["stopped_at"])
    assert 3 <= len(study.trials) < 50
    assert all(t.datetime_start < stopped_at for t in study.trials)
    assert all(t.state == tl.TrialState.COMPLETE for t in study.trials)
    # stop ends one optimize call only, as inline.
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2, n_jobs=2)
    assert sum(t.datetime_start > stopped_at for t in study.trials) == 2


def keep_a_tuple(trial: Any) -> float:
    trial.set_user_attr("pair", (1, "a"))
    trial.set_user_attr("seen", type(trial.user_attrs["pair"]).__name__)
    return trial.suggest_float("x", 0, 1)


def test_a_worker_trial_reads_user_attrs_back_as_stored():
    views = {}
    for n_jobs in (1, 2):
        study = tl.create_study()
        # Two trials: n_jobs is capped at n_trials, and one trial would run inline.
        study.optimize(keep_a_tuple, n_trials=2, n_jobs=n_jobs)
        views[n_jobs] = [t.user_attrs for t in study.trials]
    assert views[2] == views[1] == [{"pair": [1, "a"], "seen": "list"}] * 2


def copies_the_trial(trial: Any) -> float:
    import copy

    x = trial.suggest_float("x", 0, 1)
    copied = copy.deepcopy([trial])[0]  # as clone() copies a callback that holds the trial
    copied.report(x, 0)
    return x if copied is trial else float("nan")


def test_a_copied_remote_trial_is_the_trial_itself():
    study = tl.create_study(seed=0)
    study.optimize(copies_the_trial, n_trials=1, n_jobs=2)
    (trial,) = study.trials
    assert trial.state == tl.TrialState.COMPLETE and trial.intermediate_values == {0: trial.value}
