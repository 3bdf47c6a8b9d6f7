import collections

import pytest

import tunelab as tl
from tunelab.samplers import GridSampler


def test_every_point_exactly_once_then_stop():
    grid = {"x": [1, 2, 3], "k": ["a", "b"]}
    study = tl.create_study(sampler=GridSampler(grid, seed=0))
    study.optimize(
        lambda t: t.suggest_int("x", 1, 3) + len(t.suggest_categorical("k", ["a", "b"])),
        n_trials=100,
    )
    seen = sorted((t.params["x"], t.params["k"]) for t in study.trials)
    assert seen == sorted((x, k) for x in [1, 2, 3] for k in ["a", "b"])


def test_grid_across_parallel_workers():
    grid = {"x": list(range(10))}
    study = tl.create_study(sampler=GridSampler(grid, seed=1))
    study.optimize(lambda t: t.suggest_int("x", 0, 9), n_jobs=2)
    assert sorted(t.params["x"] for t in study.trials) == list(range(10))


def test_distributions_expand_to_grids():
    s = GridSampler(
        {
            "n": tl.Int(1, 5, step=2),
            "q": tl.Float(0, 1, step=0.5),
            "c": tl.Categorical([True, False]),
        }
    )
    assert s.grid["n"] == [1, 3, 5] and s.grid["q"] == [0.0, 0.5, 1.0]
    assert s.n_points == 18


def test_errors_name_the_parameter():
    with pytest.raises(tl.InvalidParameterError, match="'x'.*continuous"):
        GridSampler({"x": tl.Float(0, 1)})
    study = tl.create_study(sampler=GridSampler({"x": [1, 2]}))
    with pytest.raises(tl.InvalidParameterError, match="'y' is not in the grid"):
        study.optimize(lambda t: t.suggest_int("y", 0, 3), n_trials=1)
    study = tl.create_study(sampler=GridSampler({"x": [1, 20]}, seed=0))
    with pytest.raises(tl.InvalidParameterError, match="grid value 20 lies outside"):
        study.optimize(lambda t: t.suggest_int("x", 0, 3), n_trials=2)


def test_same_seed_same_order():
    def order(seed):
        study = tl.create_study(sampler=GridSampler({"x": list(range(8))}, seed=seed))
        study.optimize(lambda t: t.suggest_int("x", 0, 7))
        return [t.params["x"] for t in study.trials]

    assert order(3) == order(3) and sorted(order(3)) == list(range(8))


@pytest.mark.parametrize(
    "enqueued, expected",
    [(2, [2, 1, 3]), (0, [0, 1, 2, 3])],
)
def test_an_enqueued_trial_uses_up_its_own_grid_point_or_none(enqueued, expected):
    # Found by a QA pass: the enqueued trial was handed the next grid point while running its
    # own value, so one point was never tried and another twice.
    study = tl.create_study(sampler=GridSampler({"x": [1, 2, 3]}, seed=0))
    study.enqueue_trial({"x": enqueued})
    study.optimize(lambda t: t.suggest_int("x", 0, 3), n_trials=10)
    values = [t.params["x"] for t in study.trials]
    assert values[0] == enqueued
    assert sorted(values) == sorted(expected)


def test_grid_values_reach_the_objective_as_the_distribution_type():
    seen = []

    def objective(trial):
        n = trial.suggest_int("n", 0, 5)
        x = trial.suggest_float("x", 0.0, 1.0)
        seen.append((n, x))
        return n + x

    study = tl.create_study(sampler=tl.samplers.GridSampler({"n": [1.0, 2.0], "x": [0, 1]}))
    study.optimize(objective, n_trials=4)
    assert all(type(n) is int and type(x) is float for n, x in seen)
    assert [(t.params["n"], t.params["x"]) for t in study.trials] == seen


def test_a_resumed_study_with_a_changed_grid_finds_tried_points_by_value(sqlite_url):
    # Found by a QA pass: taken points were stored positions, which in the new grid named
    # other values; x=3 ran twice and the new x=0 never.
    study = tl.create_study(storage=sqlite_url, sampler=GridSampler({"x": [1, 2, 3]}, seed=0))
    study.optimize(lambda t: t.suggest_int("x", 0, 10))
    resumed = tl.load_study(
        study_name=study.study_name,
        storage=sqlite_url,
        sampler=GridSampler({"x": [0, 1, 2, 3]}, seed=0),
    )
    resumed.optimize(lambda t: t.suggest_int("x", 0, 10))
    assert sorted(t.params["x"] for t in resumed.trials) == [0, 1, 2, 3]


def test_numpy_grid_values_are_stored_as_plain_values(sqlite_url):
    import numpy as np

    study = tl.create_study(storage=sqlite_url, sampler=GridSampler({"x": np.arange(3)}, seed=0))
    study.optimize(lambda t: t.suggest_int("x", 0, 10))
    assert sorted((t.params["x"], type(t.params["x"])) for t in study.trials) == [
        (0, int),
        (1, int),
        (2, int),
    ]


def test_a_grid_used_up_by_another_worker_during_ask_leaves_no_running_trial(sqlite_url):
    # Found by a QA pass: another process took the last point between has_more and
    # before_trial; optimize returned quietly with the new trial RUNNING.
    grid = {"a": [0, 1]}
    first = tl.create_study(study_name="g", storage=sqlite_url, sampler=GridSampler(grid, seed=0))
    second = tl.load_study(study_name="g", storage=sqlite_url, sampler=GridSampler(grid, seed=0))
    first.optimize(lambda t: t.suggest_categorical("a", [0, 1]), n_trials=1)
    has_more = second.sampler.has_more

    def other_worker_takes_the_last_point(study):
        answer = has_more(study)
        first.ask()
        return answer

    second.sampler.has_more = other_worker_takes_the_last_point
    second.optimize(lambda t: t.suggest_categorical("a", [0, 1]), n_trials=3)
    states = [t.state for t in tl.load_study(study_name="g", storage=sqlite_url).trials]
    # Trial 1 is the other worker's, still running; trial 2 found the grid used up.
    assert states == [tl.TrialState.COMPLETE, tl.TrialState.RUNNING, tl.TrialState.FAIL]


def _grid_worker(url):
    import time

    study = tl.load_study(study_name="g", storage=url, sampler=GridSampler(GRID_30, seed=0))
    study.optimize(
        lambda t: (
            time.sleep(0.01)
            or t.suggest_categorical("a", GRID_30["a"]) + t.suggest_categorical("b", GRID_30["b"])
        )
    )


GRID_30 = {"a": list(range(6)), "b": list(range(5))}


def test_processes_sharing_a_study_run_each_point_once(sqlite_url):
    # Found by a QA pass: three processes ran 34-46 trials for 30 points; choosing a point and
    # recording it were two transactions. The storage's atomic claim now hands out each point.
    import multiprocessing

    tl.create_study(study_name="g", storage=sqlite_url)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_grid_worker, args=(sqlite_url,)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    done = [
        (t.params["a"], t.params["b"])
        for t in tl.load_study(study_name="g", storage=sqlite_url).trials
        if t.state == tl.TrialState.COMPLETE
    ]
    assert sorted(done) == sorted((a, b) for a in GRID_30["a"] for b in GRID_30["b"])


def test_a_retried_trial_reruns_its_own_point_and_uses_up_no_other(tmp_path):
    # Found by a QA pass: the re-queued copy of a lost trial kept its parameters but was
    # handed the next grid point, which was then never run.
    import time

    from tunelab.storage import SQLStorage

    url = f"sqlite:///{tmp_path / 'g.db'}"
    grid = {"a": [0, 1, 2, 3]}

    def storage():
        return SQLStorage(url, heartbeat_interval=0.1, grace_period=0.3)

    lost = tl.create_study(
        study_name="g", storage=storage(), sampler=GridSampler(grid, seed=0), retry_failed=1
    )
    lost.ask().suggest_categorical("a", grid["a"])
    lost._lease_keeper.stop()  # its worker dies: no tell, no heartbeat
    time.sleep(1.0)
    study = tl.load_study(study_name="g", storage=storage(), sampler=GridSampler(grid, seed=0))
    study.optimize(lambda t: t.suggest_categorical("a", grid["a"]))
    done = sorted(t.params["a"] for t in study.trials if t.state == tl.TrialState.COMPLETE)
    assert done == [0, 1, 2, 3]


def _interrupt_once_at(storage, fragment):
    import os
    import signal

    import sqlalchemy as sa

    fired = []

    @sa.event.listens_for(storage._engine, "after_cursor_execute")
    def interrupt(conn, cursor, statement, *args):
        if not fired and fragment in statement:
            fired.append(statement)
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, mid-transaction

    return fired


def test_a_ctrl_c_while_claiming_a_point_loses_no_point(sqlite_url, ctrl_c):
    # Found by a QA pass: the claim committed, the held Ctrl-C fired before the trial recorded
    # its point, and the point was never run (each later optimize added a FAIL trial).
    grid = {"x": [1, 2, 3]}
    study = tl.create_study(study_name="g", storage=sqlite_url, sampler=GridSampler(grid, seed=0))
    fired = _interrupt_once_at(study._storage, "tunelab_study_attrs")
    with pytest.raises(KeyboardInterrupt):
        study.optimize(lambda t: t.suggest_categorical("x", grid["x"]))
    assert fired
    resumed = tl.load_study(study_name="g", storage=sqlite_url, sampler=GridSampler(grid, seed=0))
    resumed.optimize(lambda t: t.suggest_categorical("x", grid["x"]))
    states = [(t.state, t.params.get("x")) for t in resumed.trials]
    assert states[0][0] == tl.TrialState.FAIL
    assert sorted(x for s, x in states if s == tl.TrialState.COMPLETE) == [1, 2, 3]


def _dies_before_drawing(trial):
    import os
    import signal

    if trial.number == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return trial.suggest_categorical("x", [0, 1, 2, 3])


def test_a_point_whose_worker_died_before_drawing_it_is_run_later(sqlite_url):
    # Found by a QA pass: the lost trial had its point but no parameters; its retry took
    # another point and the lost one was never run.
    study = tl.create_study(
        storage=sqlite_url, retry_failed=1, sampler=GridSampler({"x": [0, 1, 2, 3]}, seed=0)
    )
    study.optimize(_dies_before_drawing, n_jobs=2)
    done = sorted(t.params["x"] for t in study.trials if t.state == tl.TrialState.COMPLETE)
    assert done == [0, 1, 2, 3]


def _dies_between_two_draws(trial):
    import os

    x = trial.suggest_categorical("x", [0, 1])
    if trial.number == 0:
        os._exit(3)
    return x * 10 + trial.suggest_categorical("y", [0, 1, 2])


def test_a_point_whose_worker_died_between_two_draws_is_run_by_its_retry(sqlite_url):
    # Found by a QA pass: the retry kept only x, drawn before the worker died, and the grid
    # handed it another point with that x; the lost point, counted as tried, never ran.
    study = tl.create_study(
        storage=sqlite_url,
        retry_failed=1,
        sampler=GridSampler({"x": [0, 1], "y": [0, 1, 2]}, seed=0),
    )
    study.optimize(_dies_between_two_draws, n_jobs=2)
    trials = study.trials
    retry = next(t for t in trials if t.system_attrs.get("retry_of") == 0)
    assert retry.state == tl.TrialState.COMPLETE
    assert retry.params == trials[0].system_attrs["grid_point"]
    done = sorted(
        (t.params["x"], t.params["y"]) for t in trials if t.state == tl.TrialState.COMPLETE
    )
    assert done == [(x, y) for x in (0, 1) for y in (0, 1, 2)]


def test_a_renamed_grid_has_points_of_its_own(sqlite_url):
    # Found by a QA pass: claims were keyed by values only, so a grid whose parameter was
    # renamed on resume found every point claimed.
    first = {"lr": [1, 2], "depth": [3]}
    study = tl.create_study(study_name="g", storage=sqlite_url, sampler=GridSampler(first, seed=0))
    study.optimize(lambda t: t.suggest_int("lr", 1, 2) + t.suggest_int("depth", 3, 3))
    renamed = {"lr": [1, 2], "layers": [3]}
    resumed = tl.load_study(
        study_name="g", storage=sqlite_url, sampler=GridSampler(renamed, seed=0)
    )
    resumed.optimize(lambda t: t.suggest_int("lr", 1, 2) + t.suggest_int("layers", 3, 3))
    assert [t.state for t in resumed.trials] == [tl.TrialState.COMPLETE] * 4


def test_a_trial_lost_at_the_end_of_the_grid_is_retried(tmp_path):
    # Found by a QA pass: with every other point done, ask raised GridExhausted before reaping,
    # so the lost trial stayed RUNNING and its point was never run.
    import time

    from tunelab.storage import SQLStorage

    url = f"sqlite:///{tmp_path / 'g.db'}"
    grid = {"x": [0, 1, 2]}

    def storage():
        return SQLStorage(url, heartbeat_interval=0.1, grace_period=0.3)

    study = tl.create_study(
        study_name="g", storage=storage(), sampler=GridSampler(grid, seed=0), retry_failed=1
    )
    study.ask().suggest_categorical("x", grid["x"])
    study._lease_keeper.stop()  # its worker dies: no tell, no heartbeat
    others = tl.load_study(study_name="g", storage=storage(), sampler=GridSampler(grid, seed=0))
    others.optimize(lambda t: t.suggest_categorical("x", grid["x"]))
    time.sleep(1.0)  # the lease runs out
    others.optimize(lambda t: t.suggest_categorical("x", grid["x"]))
    trials = tl.load_study(study_name="g", storage=url).trials
    assert trials[0].state == tl.TrialState.FAIL
    done = sorted(t.params["x"] for t in trials if t.state == tl.TrialState.COMPLETE)
    assert done == [0, 1, 2]


@pytest.mark.parametrize("values", [[1, 1, 2], [1, 2.0, 2], [1.0, float("nan"), float("nan")]])
def test_a_repeated_value_is_one_point_tried_once(values, sqlite_url):
    # Found by a QA pass: a repeated value was two points the trials could not tell apart (and a
    # NaN never equalled itself); one was never counted as tried, so a point ran twice and/or
    # the study ended with a FAIL trial "GridExhausted: All 3 grid points have been tried".
    with pytest.warns(UserWarning, match="parameter 'x' lists .* again"):
        sampler = GridSampler({"x": values, "y": ["a"]}, seed=0)
    assert sampler.n_points == 2
    study = tl.create_study(storage=sqlite_url, sampler=sampler)
    study.optimize(lambda t: len(repr(t.suggest_categorical("x", sampler.grid["x"]))), n_trials=10)
    assert [t.state for t in study.trials] == [tl.TrialState.COMPLETE] * 2
    assert sorted(map(repr, (t.params["x"] for t in study.trials))) == sorted(
        map(repr, sampler.grid["x"])
    )


def test_a_nan_value_is_a_point_tried_once(sqlite_url):
    # Found by a QA pass: NaN never equalled itself, so its points were never counted as tried:
    # each ran twice, then a FAIL trial. A NaN is one value, as a Categorical choice is.
    nan = float("nan")
    study = tl.create_study(
        storage=sqlite_url, sampler=GridSampler({"x": [nan, 1.0], "y": [0, 1]}, seed=0)
    )
    study.optimize(
        lambda t: len(repr(t.suggest_categorical("x", [nan, 1.0]))) + t.suggest_int("y", 0, 1),
        n_trials=10,
    )
    assert [t.state for t in study.trials] == [tl.TrialState.COMPLETE] * 4
    assert sorted(map(repr, ((t.params["x"], t.params["y"]) for t in study.trials))) == sorted(
        map(repr, [(nan, 0), (nan, 1), (1.0, 0), (1.0, 1)])
    )


def test_values_the_grid_calls_equal_claim_one_point():
    # The claim told 2 and 2.0 apart where the grid's lookup did not: two workers with grids
    # written [1, 2] and [1.0, 2.0] could each claim the same point.
    from tunelab.samplers._grid import _claim_key

    assert _claim_key(["x"], [2]) == _claim_key(["x"], [2.0])
    assert _claim_key(["x"], [float("nan")]) == _claim_key(["x"], [float("nan")])
    assert _claim_key(["x"], [1]) != _claim_key(["x"], [True])


def test_a_value_that_cannot_be_stored_is_refused_by_name():
    # Found by a QA pass: a list of layer sizes failed with a bare "unhashable type: 'list'"
    # (and a tuple passed, to fail every trial: no storage or Categorical takes one).
    for layers in ([[64, 64], [128]], [(64, 64), (128,)]):
        with pytest.raises(tl.InvalidParameterError, match="'layers'.*string key"):
            GridSampler({"layers": layers})


def test_a_grid_too_large_to_go_through_is_refused_before_it_is_built():
    # Found by a QA pass: 5 x 100 values (10^10 points) got the process OOM-killed.
    with pytest.raises(
        tl.InvalidParameterError, match="10,000,000,000 points.*RandomSampler or QMCSampler"
    ):
        GridSampler({name: list(range(100)) for name in "abcde"})
    with pytest.raises(tl.InvalidParameterError, match="'n' alone"):
        GridSampler({"n": tl.Int(0, 10**12)})


def test_each_trial_costs_the_same_however_long_the_study(monkeypatch):
    # Found by a QA pass: every trial rescanned every trial three times (22 ms a trial at
    # trial 2,500 of a 3,000-point grid). Finished trials never change: each is looked at once,
    # and the trials are read once a trial.
    from tunelab.samplers import _grid

    looked_at = collections.Counter()
    never_ran = _grid._never_ran

    def counting(trial):
        looked_at[trial.number] += 1
        return never_ran(trial)

    monkeypatch.setattr(_grid, "_never_ran", counting)
    study = tl.create_study(sampler=GridSampler({"x": list(range(300))}, seed=0))
    reads = []
    get_trials = study.get_trials
    monkeypatch.setattr(study, "get_trials", lambda *a, **k: reads.append(1) or get_trials(*a, **k))
    study.optimize(lambda t: t.suggest_int("x", 0, 299), n_trials=200)
    assert len(looked_at) == 200 and max(looked_at.values()) == 1
    assert len(reads) < 250  # one a trial, and a few by the study itself; three a trial before


def test_trials_other_workers_finish_still_count(sqlite_url):
    # What a sampler remembers of finished trials must not hide the new ones of another worker.
    grid = {"x": [0, 1, 2, 3]}
    first = tl.create_study(study_name="g", storage=sqlite_url, sampler=GridSampler(grid, seed=0))
    first.optimize(lambda t: t.suggest_categorical("x", grid["x"]), n_trials=2)
    other = tl.load_study(study_name="g", storage=sqlite_url, sampler=GridSampler(grid, seed=1))
    other.optimize(lambda t: t.suggest_categorical("x", grid["x"]))
    assert not first.sampler.has_more(first)
    first.optimize(lambda t: t.suggest_categorical("x", grid["x"]))
    trials = tl.load_study(study_name="g", storage=sqlite_url).trials
    assert [t.state for t in trials] == [tl.TrialState.COMPLETE] * 4
    assert sorted(t.params["x"] for t in trials) == [0, 1, 2, 3]


def test_a_used_sampler_pickles_and_goes_on():
    import pickle

    sampler = GridSampler({"x": [0, 1, 2, 3]}, seed=0)
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_int("x", 0, 3), n_trials=2)
    study.sampler = pickle.loads(pickle.dumps(sampler))
    study.optimize(lambda t: t.suggest_int("x", 0, 3))
    assert sorted(t.params["x"] for t in study.trials) == [0, 1, 2, 3]


def test_grid_values_take_the_equal_choice_of_another_number_type():
    # Found by a QA pass: "grid value 1 lies outside Categorical(choices=(1.0, 2.0))".
    study = tl.create_study(sampler=GridSampler({"c": [1, 2]}, seed=0))
    study.optimize(lambda t: t.suggest_categorical("c", [1.0, 2.0]))
    assert sorted(t.params["c"] for t in study.trials) == [1.0, 2.0]
    assert all(type(t.params["c"]) is float for t in study.trials)


def _dies_late_on_trial_0(trial):
    import os
    import time

    x = trial.suggest_categorical("x", [0, 1, 2])
    if trial.number == 0:
        time.sleep(1.5)  # the other worker runs out the grid meanwhile
        os._exit(3)
    return x


def test_a_lost_trial_found_after_the_grid_ran_out_is_still_retried(sqlite_url):
    # Found by a flaky run of the test above under load: the grid's end stopped the run, so
    # the retry of a worker lost after it waited in the queue for good.
    study = tl.create_study(
        storage=sqlite_url, retry_failed=1, sampler=GridSampler({"x": [0, 1, 2]}, seed=0)
    )
    study.optimize(_dies_late_on_trial_0, n_jobs=2)
    done = sorted(t.params["x"] for t in study.trials if t.state == tl.TrialState.COMPLETE)
    assert done == [0, 1, 2]
    assert not [t for t in study.trials if t.state == tl.TrialState.WAITING]
