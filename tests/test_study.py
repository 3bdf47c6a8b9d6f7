import decimal
import fractions
import math

import numpy as np
import pytest

import tunelab as tl
from tunelab.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialAlreadyFinishedError


def test_create_and_load_with_sqlite(sqlite_url):
    study = tl.create_study(study_name="s", storage=sqlite_url, direction="maximize", seed=1)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    loaded = tl.load_study(study_name="s", storage=sqlite_url)
    assert loaded.direction == tl.StudyDirection.MAXIMIZE
    assert len(loaded.trials) == 5 and loaded.best_value == max(t.value for t in loaded.trials)
    assert tl.load_study(storage=sqlite_url).study_name == "s"  # the only study
    with pytest.raises(DuplicatedStudyError, match="load_if_exists=True"):
        tl.create_study(study_name="s", storage=sqlite_url)
    again = tl.create_study(
        study_name="s", storage=sqlite_url, load_if_exists=True, direction="maximize"
    )
    assert len(again.trials) == 5
    with pytest.raises(tl.InvalidParameterError, match="exists with directions"):
        tl.create_study(study_name="s", storage=sqlite_url, load_if_exists=True)
    with pytest.raises(StudyNotFoundError, match="'nope'"):
        tl.load_study(study_name="nope", storage=sqlite_url)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"direction": "up"},
            r"'direction' parameter of create_study must be 'minimize' or 'maximize'. Got 'up'",
        ),
        ({"directions": []}, r"'directions' parameter of create_study must be a non-empty list"),
        (
            {"directions": "minimize"},
            r"'directions' parameter of create_study must be a list .* Got 'minimize' instead\. "
            r"For a single objective pass direction=",
        ),
        (
            {"direction": "minimize", "directions": ["minimize"]},
            "either 'direction' or 'directions'",
        ),
        (
            {"seed": -1},
            r"'seed' parameter of create_study must be a non-negative int or None. Got -1",
        ),
        ({"sampler": "tpe"}, r"'sampler' parameter of create_study must be a tunelab sampler"),
        ({"storage": 3}, r"'storage' parameter of create_study must be None, a database URL"),
        ({"sampler": tl.samplers.RandomSampler(), "seed": 1}, "both 'sampler' and 'seed'"),
    ],
)
def test_create_study_rejects_bad_arguments(kwargs, message):
    with pytest.raises(tl.InvalidParameterError, match=message):
        tl.create_study(**kwargs)


def test_ask_with_declared_space_fills_params():
    study = tl.create_study(seed=0)
    space = {
        "x": tl.Float(-5, 10),
        "lr": tl.Float(1e-5, 1e-1, log=True),
        "n": tl.Int(1, 10),
        "k": tl.Categorical(["a", "b"]),
    }
    trial = study.ask(space)
    assert set(trial.params) == {"x", "lr", "n", "k"}
    frozen = study.tell(trial, 0.5)
    assert frozen.state == tl.TrialState.COMPLETE and frozen.value == 0.5


def test_tell_rules():
    study = tl.create_study()
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(TrialAlreadyFinishedError, match="already finished"):
        study.tell(trial, 2.0)
    with pytest.raises(tl.InvalidParameterError, match="no trial numbered 99"):
        study.tell(99, 1.0)
    with pytest.raises(tl.InvalidParameterError, match=r"1 objective\(s\) but 2 value\(s\)"):
        study.tell(study.ask(), [1.0, 2.0])
    with pytest.raises(tl.InvalidParameterError, match="needs the objective value"):
        study.tell(study.ask())
    with pytest.raises(tl.InvalidParameterError, match="'state' parameter of Study.tell"):
        study.tell(study.ask(), state=tl.TrialState.RUNNING)


def test_tell_by_number_and_states():
    study = tl.create_study()
    a, _, c = study.ask(), study.ask(), study.ask()
    study.tell(1, state=tl.TrialState.FAIL)
    a.report(3.0, 0)
    study.tell(a, state=tl.TrialState.PRUNED)
    study.tell(c, math.inf)
    states = [t.state for t in study.trials]
    assert states == [tl.TrialState.PRUNED, tl.TrialState.FAIL, tl.TrialState.COMPLETE]
    assert study.trials[0].value == 3.0  # a pruned trial keeps its last reported value
    assert study.trials[2].value == math.inf  # infinities are valid values


def test_nan_marks_the_trial_failed_with_a_reason(caplog):
    study = tl.create_study()
    for _ in range(2):  # logged every time (a repeated warning was shown only once)
        with caplog.at_level("WARNING", logger="tunelab"):
            caplog.clear()
            frozen = study.tell(study.ask(), float("nan"))
        assert "failed with parameters {}: the objective returned NaN" in caplog.text
    assert frozen.state == tl.TrialState.FAIL and frozen.fail_reason == "the objective returned NaN"


def test_returned_trials_are_copies_that_leave_the_study_unchanged():
    # Found by a QA pass: `p = study.best_trial.params; p["n_jobs"] = -1` changed best_params,
    # trials_dataframe() and what the sampler learnt, and a string there broke the next ask.
    study = tl.create_study(seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    x = study.best_params["x"]
    study.best_trial.params["x"] = "oops"
    study.trials[study.best_trial.number].params["x"] = "oops"
    study.get_trials((tl.TrialState.COMPLETE,))[0].user_attrs["k"] = 1
    study.best_trials[0].values[0] = -1.0
    assert study.best_params["x"] == x and study.best_value >= 0
    assert all(not t.user_attrs for t in study.trials)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(study.trials) == 7
    shared = study.get_trials(deepcopy=False)
    assert shared[0] is study.get_trials(deepcopy=False)[0]


@pytest.mark.parametrize(
    "states, hint",
    [
        ("COMPLETE", "tunelab.TrialState.COMPLETE"),
        (["PRUNED"], "tunelab.TrialState.PRUNED"),
        ([1], "tunelab.TrialState.COMPLETE"),
        (3, "a collection of tunelab.TrialState"),
    ],
)
def test_get_trials_refuses_states_that_match_nothing(states, hint):
    study = tl.create_study()
    study.tell(study.ask(), 1.0)
    with pytest.raises(tl.InvalidParameterError, match=hint.replace(".", r"\.")):
        study.get_trials(states)


def test_get_trials_takes_one_state_alone():
    study = tl.create_study()
    study.tell(study.ask(), 1.0)
    study.tell(study.ask(), state=tl.TrialState.FAIL)
    assert [t.number for t in study.get_trials(tl.TrialState.FAIL)] == [1]


def test_tell_refuses_a_trial_of_another_in_memory_study():
    # Found by a QA pass: every in-memory storage numbers its studies from 0, so a's tell
    # completed its own trial 0 with b's value and left b's trial RUNNING.
    a, b = tl.create_study(), tl.create_study()
    mine, theirs = a.ask(), b.ask()
    with pytest.raises(tl.InvalidParameterError, match="belongs to another study"):
        a.tell(theirs, 5.0)
    assert a.trials[0].state == tl.TrialState.RUNNING
    a.tell(mine, 1.0)
    b.tell(theirs, 2.0)
    assert (a.best_value, b.best_value) == (1.0, 2.0)


def test_tell_takes_a_trial_of_the_same_study_opened_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = tl.create_study(study_name="s", storage=url)
    again = tl.load_study(study_name="s", storage=url)
    again.tell(first.ask(), 1.0)
    assert first.best_value == 1.0


class FakeTensor:
    """A 0-d torch tensor's shape of API: __float__, item() and a size() *method*."""

    def __init__(self, value):
        self.value = value

    def __float__(self):
        return float(self.value)

    def item(self):
        return self.value

    def size(self):
        return ()


@pytest.mark.parametrize(
    "value",
    [
        FakeTensor(1.5),
        decimal.Decimal("1.5"),
        fractions.Fraction(3, 2),
        np.float32(1.5),
        np.array(1.5),
        np.array([1.5]),
        [np.array(1.5)],
        (FakeTensor(1.5),),
    ],
    ids=[
        "tensor-like",
        "Decimal",
        "Fraction",
        "np.float32",
        "0-d array",
        "1-d array",
        "[0-d array]",
        "(tensor-like,)",
    ],
)
def test_tell_takes_anything_float_takes_as_one_value(value):
    # Found by a QA pass: a 0-d torch tensor failed every trial (its size is a method).
    study = tl.create_study()
    frozen = study.tell(study.ask(), value)
    assert frozen.state == tl.TrialState.COMPLETE and frozen.values == [1.5]


@pytest.mark.parametrize(
    "value",
    ["1.5", ["1.5"], True, [True], np.bool_(True), np.array([[1.5]]), [[1.5]], 1 + 0j, {"a": 1.5}],
    ids=["str", "[str]", "bool", "[bool]", "np.bool_", "2-d array", "[[float]]", "complex", "dict"],
)
def test_tell_refuses_text_booleans_and_nesting_alike_alone_and_in_a_sequence(value, caplog):
    # Found by a QA pass: "1.5" was refused but ["1.5"] stored as 1.5; np.array([[1.5]]) passed.
    study = tl.create_study()
    with caplog.at_level("WARNING", logger="tunelab"):
        frozen = study.tell(study.ask(), value)
    assert "the objective returned" in caplog.text
    assert frozen.state == tl.TrialState.FAIL


def test_best_trial_and_pareto_front():
    study = tl.create_study()
    with pytest.raises(ValueError, match="no completed trial"):
        _ = study.best_trial
    for v in (3.0, 1.0, 2.0):
        study.tell(study.ask(), v)
    assert study.best_value == 1.0 and study.best_trial.number == 1
    multi = tl.create_study(directions=["minimize", "maximize"])
    for vals in ([1, 1], [2, 3], [3, 2], [0, 0]):
        multi.tell(multi.ask(), vals)
    assert sorted(t.number for t in multi.best_trials) == [0, 1, 3]
    with pytest.raises(ValueError, match="best_trials"):
        _ = multi.best_trial


def test_trials_dataframe():
    study = tl.create_study(seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)
    df = study.trials_dataframe()
    assert list(df["number"]) == [0, 1, 2, 3]
    assert {"value", "params_x", "state", "duration"} <= set(df.columns)


def _dataframe_study(directions=("minimize",)):
    study = tl.create_study(directions=list(directions), sampler=tl.samplers.RandomSampler(seed=0))

    def objective(trial):
        b = trial.suggest_int("b", 0, 3)
        a = trial.suggest_float("a", 0, 1)
        trial.set_user_attr("note", f"b={b}")
        if len(directions) == 1:
            trial.report(a, 0)
        if b == 3:
            raise ValueError("b is 3")
        return a if len(directions) == 1 else (a, float(b))

    for b in range(4):
        study.enqueue_trial({"b": b, "a": 0.25 * b})
    study.optimize(objective, n_trials=4, catch=(ValueError,))
    return study


def test_trials_dataframe_default_columns_follow_optuna_order():
    df = _dataframe_study().trials_dataframe()
    # Optuna's order (params sorted by name, state last) with tunelab's fail_reason before state;
    # no system_attrs (tunelab's internals) unless asked for.
    assert list(df.columns) == [
        "number",
        "value",
        "datetime_start",
        "datetime_complete",
        "duration",
        "params_a",
        "params_b",
        "user_attrs_note",
        "fail_reason",
        "state",
    ]
    assert list(df["state"]) == ["COMPLETE", "COMPLETE", "COMPLETE", "FAIL"]
    assert list(df["value"][:3]) == [0.0, 0.25, 0.5] and math.isnan(df["value"][3])
    assert df["fail_reason"][3] == "ValueError: b is 3"
    assert df["duration"].dtype == np.float64  # seconds, not a timedelta
    assert str(df["datetime_start"].dt.tz) == "UTC"
    assert tl.create_study().trials_dataframe().shape == (0, 0)


def test_trials_dataframe_attrs_pick_and_order_the_columns():
    study = _dataframe_study()
    df = study.trials_dataframe(attrs=("state", "params", "number", "intermediate_values"))
    assert list(df.columns) == ["state", "params_a", "params_b", "number", "intermediate_values_0"]
    assert list(df["intermediate_values_0"]) == [0.0, 0.25, 0.5, 0.75]
    optuna_default = (
        "number",
        "value",
        "datetime_start",
        "datetime_complete",
        "duration",
        "params",
        "user_attrs",
        "system_attrs",
        "state",
    )
    columns = list(study.trials_dataframe(attrs=optuna_default).columns)
    assert columns[:8] == [
        "number",
        "value",
        "datetime_start",
        "datetime_complete",
        "duration",
        "params_a",
        "params_b",
        "user_attrs_note",
    ]
    assert columns[-1] == "state" and "system_attrs_fixed_params" in columns  # enqueued
    df = study.trials_dataframe(attrs=["_trial_id", "values", "last_step"])
    assert list(df.columns) == ["trial_id", "values_0", "last_step"]
    assert list(study.trials_dataframe(attrs=("user_attrs", "number")).columns) == [
        "user_attrs_note",
        "number",
    ]
    assert study.trials_dataframe(attrs=()).shape == (4, 0)
    for bad in (("number", "nope"), "number", [1]):
        with pytest.raises(tl.InvalidParameterError, match="'attrs' parameter"):
            study.trials_dataframe(attrs=bad)
    with pytest.raises(tl.InvalidParameterError, match="'multi_index' parameter"):
        study.trials_dataframe(multi_index="yes")


def test_trials_dataframe_multi_index():
    study = _dataframe_study()
    df = study.trials_dataframe(attrs=("number", "value", "params", "state"), multi_index=True)
    assert list(df.columns) == [
        ("number", ""),
        ("value", ""),
        ("params", "a"),
        ("params", "b"),
        ("state", ""),
    ]
    assert list(df["params"].columns) == ["a", "b"]
    assert list(df[("params", "b")]) == [0, 1, 2, 3]
    flat = study.trials_dataframe(multi_index=False)
    nested = study.trials_dataframe(multi_index=True)
    assert len(flat.columns) == len(nested.columns)
    assert nested.columns[5] == ("params", "a") and nested.columns[-1] == ("state", "")


def test_trials_dataframe_objectives_and_constraints():
    multi = _dataframe_study(("minimize", "maximize"))
    for attrs in (("number", "value"), ("number", "values"), ("number", "value", "values")):
        assert list(multi.trials_dataframe(attrs=attrs).columns) == [
            "number",
            "values_0",
            "values_1",
        ]
    multi.set_metric_names(["loss", "size"])
    assert list(multi.trials_dataframe().columns[:3]) == ["number", "values_loss", "values_size"]
    nested = multi.trials_dataframe(attrs=("values",), multi_index=True)
    assert list(nested.columns) == [("values", "loss"), ("values", "size")]
    assert list(nested[("values", "size")][:3]) == [0.0, 1.0, 2.0]

    study = tl.create_study(sampler=tl.samplers.RandomSampler(seed=0))

    def constrained(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("c", x - 0.5)
        return x

    study.optimize(constrained, n_trials=3)
    assert list(study.trials_dataframe().columns[-5:]) == [
        "params_x",
        "constraints_c",
        "feasible",
        "fail_reason",
        "state",
    ]
    df = study.trials_dataframe(attrs=("feasible", "constraints", "number"))
    assert list(df.columns) == ["feasible", "constraints_c", "number"]
    assert list(df["feasible"]) == [t.feasible for t in study.trials]
    # Without constraint values there are no constraint columns, asked for or not.
    plain = _dataframe_study()
    assert list(plain.trials_dataframe(attrs=("number", "constraints", "feasible")).columns) == [
        "number"
    ]


def test_user_attrs_and_repr():
    study = tl.create_study(study_name="named")
    study.set_user_attr("owner", "me")
    assert study.user_attrs == {"owner": "me"}
    assert "named" in repr(study)
    assert "AutoSampler" in study.explain_sampler()


def test_delete_and_summaries(sqlite_url):
    tl.create_study(study_name="a", storage=sqlite_url)
    tl.create_study(study_name="b", storage=sqlite_url)
    tl.delete_study("a", sqlite_url)
    assert [s.study_name for s in tl.get_all_study_summaries(sqlite_url)] == ["b"]


def test_a_summary_has_a_direction_as_in_optuna(sqlite_url):
    # Found by a QA pass: the Optuna guide listed get_all_study_summaries as the same, but
    # StudySummary.direction did not exist.
    tl.create_study(study_name="one", storage=sqlite_url, direction="maximize")
    tl.create_study(study_name="two", storage=sqlite_url, directions=["minimize", "maximize"])
    one, two = tl.get_all_study_summaries(sqlite_url)
    assert one.direction == tl.StudyDirection.MAXIMIZE
    with pytest.raises(ValueError, match="'two' has several objectives; use `directions`"):
        _ = two.direction


def test_skip_duplicates_reuses_completed_values(sqlite_url):
    from tunelab.samplers import GridSampler

    calls = []

    def obj(trial):
        x = trial.suggest_int("x", 0, 2)
        calls.append(x)
        return float(x)

    study = tl.create_study(storage=sqlite_url, study_name="d", skip_duplicates=True, seed=0)
    study.optimize(obj, n_trials=30)
    trials = study.trials
    assert len(trials) == 30 and len(calls) < 30  # 3 possible points: most trials are reused
    assert sorted(set(calls)) == [0, 1, 2]
    reused = [t for t in trials if "duplicate_of" in t.system_attrs]
    assert len(reused) == 30 - len(calls)
    for t in reused:
        original = trials[t.system_attrs["duplicate_of"]]
        assert t.params == original.params and t.values == original.values
    # The option is stored with the study and survives a reload.
    assert tl.load_study(study_name="d", storage=sqlite_url)._skip_duplicates
    plain = tl.create_study(sampler=GridSampler({"x": [0, 1]}))
    assert not plain._skip_duplicates
    with pytest.raises(
        tl.InvalidParameterError, match="'skip_duplicates' parameter of create_study"
    ):
        tl.create_study(skip_duplicates="yes")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"params": {"x": 0.5}}, "COMPLETE but has no values"),
        ({"values": [float("nan")], "params": {"x": 0.5}}, "got NaN"),
        ({"values": [1.0, 2.0], "params": {"x": 0.5}}, "1 objective"),
        ({"values": [1.0], "params": {"x": 5.0}}, "parameter 'x' of trial 0 is 5.0, outside"),
        ({"values": [1.0], "params": {"y": 0.5}}, "parameter 'y' of trial 0 has no distribution"),
    ],
)
def test_add_trial_refuses_a_trial_that_would_break_the_study(kwargs, message):
    # Found by a QA pass: a COMPLETE trial without values made best_trial raise TypeError on
    # every later call.
    study = tl.create_study()
    trial = tl.FrozenTrial(
        number=0, state=tl.TrialState.COMPLETE, distributions={"x": tl.Float(0, 1)}, **kwargs
    )
    with pytest.raises(tl.InvalidParameterError, match=message):
        study.add_trial(trial)
    assert study.trials == []
    good = tl.FrozenTrial(
        number=0,
        state=tl.TrialState.COMPLETE,
        values=[0.25],
        params={"x": 0.5},
        distributions={"x": tl.Float(0, 1)},
    )
    study.add_trial(good)
    assert study.best_value == 0.25


def test_numpy_values_can_be_enqueued_in_sql_storage(sqlite_url):
    np = pytest.importorskip("numpy")
    study = tl.create_study(storage=sqlite_url)
    study.enqueue_trial({"n": np.int64(4), "x": np.float32(0.5)})
    study.optimize(lambda t: t.suggest_int("n", 0, 9) + t.suggest_float("x", 0, 1), n_trials=1)
    assert study.trials[0].params == {"n": 4, "x": 0.5}
    assert study.trials[0].state == tl.TrialState.COMPLETE


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_add_trials_checks_every_trial_before_adding_any(backend, sqlite_url):
    # Found by a QA pass: the documented copy, study.add_trials(other.trials), stopped at a
    # running trial of the source after adding the finished ones before it; a filtered retry
    # then held every one of those twice.
    storage = sqlite_url if backend == "sqlite" else None
    source = tl.create_study(seed=0)
    source.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    source.ask()  # running
    source.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    target = tl.create_study(storage=storage)
    with pytest.raises(tl.InvalidParameterError, match="must be a finished trial"):
        target.add_trials(source.trials)
    assert target.trials == []
    added = target.add_trials(t for t in source.trials if t.state.is_finished())
    assert [t.params for t in target.trials] == [t.params for t in added]
    assert len(target.trials) == 5


def test_a_refused_batch_teaches_the_study_no_distribution():
    study = tl.create_study()
    float_x = tl.create_trial(params={"x": 0.5}, distributions={"x": tl.Float(0, 1)}, value=1.0)
    running = tl.FrozenTrial(number=1, state=tl.TrialState.RUNNING)
    with pytest.raises(tl.InvalidParameterError, match="must be a finished trial"):
        study.add_trials([float_x, running])
    int_x = tl.create_trial(params={"x": 3}, distributions={"x": tl.Int(0, 5)}, value=1.0)
    study.add_trial(int_x)  # x was never stored as a Float
    assert study.trials[0].distributions == {"x": tl.Int(0, 5)}


def test_add_trial_keeps_one_distribution_per_name():
    study = tl.create_study()
    choices = tl.Categorical(["a", "b"])

    def finished(distribution, value):
        return tl.FrozenTrial(
            number=0,
            state=tl.TrialState.COMPLETE,
            values=[1.0],
            params={"c": value},
            distributions={"c": distribution},
        )

    study.add_trial(finished(choices, "a"))
    with pytest.raises(tl.InvalidParameterError, match="One name keeps one distribution"):
        study.add_trial(finished(tl.Categorical(["a", "b", "z"]), "z"))
    assert len(study.trials) == 1


def test_an_ask_stopped_after_the_trial_exists_fails_it_instead_of_leaving_it_running():
    # Found by a QA pass: a Ctrl-C (or any error) after create_trial left the new trial
    # RUNNING until a reaper found it, or for good in storage without leases; its reason then
    # read the bare "KeyboardInterrupt: " (a later QA pass).
    study = tl.create_study()

    def interrupted(study, trial):
        raise KeyboardInterrupt

    study.sampler.before_trial = interrupted
    with pytest.raises(KeyboardInterrupt):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    (trial,) = study.trials
    assert (
        trial.state == tl.TrialState.FAIL and trial.fail_reason == "interrupted (KeyboardInterrupt)"
    )


def test_a_ctrl_c_while_the_trial_is_created_leaves_no_running_trial(tmp_path, ctrl_c):
    # Found by a QA pass: the Ctrl-C held over create_trial's transaction fired as it
    # returned, before ask knew the new trial, which stayed RUNNING (for good without leases).
    import os
    import signal

    import sqlalchemy as sa

    from tunelab.storage import SQLStorage

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = tl.create_study(study_name="s", storage=SQLStorage(url, grace_period=None))
    fired = []

    @sa.event.listens_for(study._storage._engine, "after_cursor_execute")
    def interrupt(conn, cursor, statement, *args):
        if not fired and statement.startswith("INSERT INTO tunelab_trials "):
            fired.append(statement)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert fired
    assert [t.state for t in tl.load_study(study_name="s", storage=url).trials] == [
        tl.TrialState.FAIL
    ]


def test_a_pruned_trial_told_values_that_are_no_numbers_is_refused():
    # Found by a QA pass: tell(t, "abc", state=PRUNED) stored no value without a word.
    study = tl.create_study()
    trial = study.ask()
    with pytest.raises(tl.InvalidParameterError, match="values of pruned trial 0 cannot be"):
        study.tell(trial, "abc", state=tl.TrialState.PRUNED)
    assert study.tell(trial, float("nan"), state=tl.TrialState.PRUNED).values is None
    assert study.tell(study.ask(), 2.0, state=tl.TrialState.PRUNED).values == [2.0]


def test_enqueue_trial_can_skip_a_point_already_queued_or_run():
    study = tl.create_study()
    study.enqueue_trial({"x": 1.0}, skip_if_exists=True)
    study.enqueue_trial({"x": 1.0}, skip_if_exists=True)  # queued: skipped
    study.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=1)
    study.enqueue_trial({"x": 1.0}, skip_if_exists=True)  # run: skipped
    study.enqueue_trial({"x": 1.5}, skip_if_exists=True)
    study.enqueue_trial({"x": 1.0, "y": 2}, skip_if_exists=True)  # other keys: queued
    study.enqueue_trial({"x": 1.0})  # without the flag: always queued
    assert len(study.trials) == 4

    def fails(trial):
        trial.suggest_float("x", 0, 2)
        raise ValueError("bad")

    failing = tl.create_study()
    failing.enqueue_trial({"x": 0.5})
    failing.optimize(fails, n_trials=1, catch=(ValueError,))
    failing.enqueue_trial({"x": 0.5}, skip_if_exists=True)  # a failed point is queued again
    assert [t.state for t in failing.trials] == [tl.TrialState.FAIL, tl.TrialState.WAITING]


def test_tell_can_skip_a_trial_finished_already():
    study = tl.create_study()
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(tl.exceptions.TrialAlreadyFinishedError):
        study.tell(trial, 2.0)
    for handle in (trial, 0, study.trials[0]):
        assert study.tell(handle, 2.0, skip_if_finished=True).value == 1.0
    assert study.best_value == 1.0


def test_create_trial_builds_a_trial_for_add_trial():
    study = tl.create_study(direction="maximize")
    made = tl.create_trial(params={"x": 0.5}, distributions={"x": tl.Float(0, 1)}, value=0.25)
    added = study.add_trial(made)
    assert (added.number, added.value, added.params) == (0, 0.25, {"x": 0.5})
    assert added.datetime_complete is not None and added.datetime_complete.tzinfo is not None
    study.add_trials([tl.create_trial(state=tl.TrialState.FAIL), made])
    assert [t.state for t in study.trials] == [tl.TrialState.COMPLETE, tl.TrialState.FAIL] + [
        tl.TrialState.COMPLETE
    ]
    with pytest.raises(tl.InvalidParameterError, match="not both"):
        tl.create_trial(value=1.0, values=[1.0])
    with pytest.raises(tl.InvalidParameterError, match="'state' parameter of create_trial"):
        tl.create_trial(state=tl.TrialState.RUNNING)
    with pytest.raises(tl.InvalidParameterError, match="outside its distribution"):
        study.add_trial(
            tl.create_trial(params={"x": 2.0}, distributions={"x": tl.Float(0, 1)}, value=1.0)
        )


def test_metric_names_name_the_objectives(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    study = tl.create_study(study_name="m", storage=url, directions=["maximize", "minimize"])
    assert study.metric_names is None
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    study.set_metric_names(["accuracy", "latency"])
    again = tl.load_study(study_name="m", storage=url)
    assert again.metric_names == ["accuracy", "latency"]
    columns = list(again.trials_dataframe().columns)
    assert columns[:3] == ["number", "values_accuracy", "values_latency"]
    for bad in (["accuracy"], ["a", "a"], "ab", ["a", ""]):
        with pytest.raises(tl.InvalidParameterError, match="'names' parameter"):
            study.set_metric_names(bad)


def test_add_trial_refuses_a_failed_trial_with_values():
    study = tl.create_study()
    with pytest.raises(tl.InvalidParameterError, match="trial is FAIL but has values"):
        study.add_trial(tl.create_trial(state=tl.TrialState.FAIL, value=1.0))
    assert study.trials == []


def test_add_trial_refuses_a_foreign_distribution_by_name():
    # Found by a QA pass: an Optuna distribution gave "AttributeError: no attribute 'contains'".
    class FloatDistribution:  # Optuna's, as far as tunelab can tell
        def __repr__(self):
            return "FloatDistribution(high=1.0, log=False, low=0.0, step=None)"

    with pytest.raises(tl.InvalidParameterError, match="parameter 'x' is FloatDistribution"):
        tl.create_trial(params={"x": 0.5}, distributions={"x": FloatDistribution()}, value=1.0)
    trial = tl.create_trial(params={"x": 0.5}, distributions={"x": tl.Float(0, 1)}, value=1.0)
    trial.distributions["x"] = FloatDistribution()
    with pytest.raises(tl.InvalidParameterError, match="not a tunelab one; give tunelab.Float"):
        tl.create_study().add_trial(trial)
