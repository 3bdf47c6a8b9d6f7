import math

import numpy as np
import pytest

import tunelab as tl
from tunelab import TrialState
from tunelab._constraints import evaluate_constraints, violation
from tunelab.samplers import AutoSampler, GPSampler, QMCSampler, RandomSampler, TPESampler


def _trial(**system_attrs):
    return tl.FrozenTrial(number=3, state=TrialState.COMPLETE, system_attrs=system_attrs)


@pytest.mark.parametrize(
    ("returned", "expected"),
    [([0.5, -1], [0.5, -1.0]), (2.0, [2.0]), (np.array([1, -2]), [1.0, -2.0]), ((-0.0,), [0.0])],
)
def test_constraint_values_are_checked_and_made_floats(returned, expected):
    assert evaluate_constraints(lambda t: returned, _trial()) == expected


@pytest.mark.parametrize("returned", [[], [math.nan], ["0.1"], [None], "0.1", [True]])
def test_bad_constraint_values_name_the_trial(returned):
    with pytest.raises(ValueError, match="constraints_func must return a non-empty list .*trial 3"):
        evaluate_constraints(lambda t: returned, _trial())


def test_violation_and_feasibility():
    assert violation(_trial()) is None and _trial().feasible and _trial().constraints == {}
    assert violation(_trial(constraints=[-1.0, 0.0])) == 0.0
    assert _trial(constraints=[-1.0, 0.0]).feasible
    infeasible = _trial(constraints=[0.5, -3.0, 0.25])
    assert violation(infeasible) == 0.75 and not infeasible.feasible
    assert infeasible.constraints == {"0": 0.5, "1": -3.0, "2": 0.25}
    # Optuna 5's named form, and both forms together.
    named = _trial(**{"constraints:memory": -2.0, "constraints:latency": 0.5})
    assert named.constraints == {"memory": -2.0, "latency": 0.5} and violation(named) == 0.5
    both = _trial(**{"constraints": [0.0], "constraints:memory": 1.0})
    assert both.constraints == {"0": 0.0, "memory": 1.0} and not both.feasible


@pytest.mark.parametrize("cls", [RandomSampler, QMCSampler, TPESampler, GPSampler, AutoSampler])
def test_samplers_take_a_callable_only(cls):
    with pytest.raises(tl.InvalidParameterError, match="'constraints_func' parameter of"):
        cls(constraints_func=[0.0])


def _below_x(limit):
    return lambda t: [t.params["x"] - limit]


def test_best_trial_and_front_count_feasible_trials_only(sqlite_url):
    study = tl.create_study(
        study_name="c",
        storage=sqlite_url,
        sampler=RandomSampler(seed=0, constraints_func=_below_x(0.3)),
    )
    study.optimize(lambda t: -t.suggest_float("x", 0, 1), n_trials=30)
    done = study.get_trials((TrialState.COMPLETE,))
    assert all(t.constraints == {"0": pytest.approx(t.params["x"] - 0.3)} for t in done)
    feasible = [t for t in done if t.params["x"] <= 0.3]
    assert 0 < len(feasible) < len(done)
    assert min(t.value for t in done) < min(t.value for t in feasible)
    reloaded = tl.load_study(study_name="c", storage=sqlite_url)
    assert reloaded.best_value == min(t.value for t in feasible)
    assert reloaded.best_trial.feasible
    assert [t.number for t in reloaded.best_trials] == [reloaded.best_trial.number]


def test_a_front_leaves_out_infeasible_trials():
    study = tl.create_study(
        directions=["minimize", "minimize"],
        sampler=RandomSampler(seed=1, constraints_func=lambda t: [t.user_attrs["c"]]),
    )
    for x, c in [(0.0, 1.0), (0.5, -1.0), (1.0, -1.0), (0.2, -1.0)]:
        trial = study.ask()
        trial.set_user_attr("c", c)
        study.tell(trial, [x, 1.0 - x])
    # The infeasible (0, 1) would be on the front; without it the front is the other three.
    assert sorted(t.values[0] for t in study.best_trials) == [0.2, 0.5, 1.0]


def test_no_feasible_trial_is_a_clear_error_naming_the_closest():
    study = tl.create_study(sampler=RandomSampler(seed=0, constraints_func=_below_x(-1.0)))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    closest = min(study.trials, key=lambda t: t.params["x"])
    with pytest.raises(
        ValueError, match=f"none satisfies its constraints; the closest is trial {closest.number}"
    ):
        _ = study.best_trial
    assert study.best_trials == []


def test_a_failing_constraints_func_fails_a_complete_trial_and_spares_a_pruned_one():
    def broken(trial):
        raise KeyError("c")

    study = tl.create_study(sampler=RandomSampler(seed=0, constraints_func=broken))
    with pytest.warns(UserWarning, match="constraints_func failed: KeyError"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    failed = study.trials[0]
    assert (
        failed.state == TrialState.FAIL
        and "constraints_func failed: KeyError" in failed.fail_reason
    )
    # Found by a QA pass: the objective's values were thrown away with the feasibility.
    x = failed.params["x"]
    assert failed.system_attrs["objective_values"] == [x]
    assert f"the objective's values [{x}] are kept in the system attribute" in failed.fail_reason
    pruned = study.ask()
    pruned.report(1.0, 0)
    with pytest.warns(UserWarning, match="constraints_func failed"):
        frozen = study.tell(pruned, state=TrialState.PRUNED)
    assert frozen.state == TrialState.PRUNED and frozen.constraints == {}


def test_pruned_trials_get_constraint_values_too():
    study = tl.create_study(
        sampler=RandomSampler(seed=0, constraints_func=lambda t: [float(t.number)])
    )
    trial = study.ask()
    trial.report(0.5, 0)
    assert study.tell(trial, state=TrialState.PRUNED).constraints == {"0": 0.0}


def test_constraints_work_with_parallel_workers():
    study = tl.create_study(sampler=TPESampler(seed=0, constraints_func=_below_x(0.5)))
    study.optimize(lambda t: -t.suggest_float("x", 0, 1), n_trials=12, n_jobs=2)
    assert all(t.constraints for t in study.trials)
    assert study.best_trial.params["x"] <= 0.5


def _constrained_quadratic(trial):
    # Minimum (0.8, 0.8) outside x + y <= 1; the constrained optimum is (0.5, 0.5), value 0.18.
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    trial.set_user_attr("c", x + y - 1.0)
    return (x - 0.8) ** 2 + (y - 0.8) ** 2


def _feasible_share_and_regret(sampler, n_trials):
    study = tl.create_study(sampler=sampler)
    study.optimize(_constrained_quadratic, n_trials=n_trials)
    late = [t for t in study.trials[n_trials // 2 :] if t.state == TrialState.COMPLETE]
    share = np.mean([t.user_attrs["c"] <= 0 for t in late])
    feasible = [t.value for t in study.trials if t.user_attrs["c"] <= 0]
    return share, min(feasible) - 0.18


def _constraint(t):
    return [t.user_attrs["c"]]


@pytest.mark.parametrize("cls", [TPESampler, GPSampler, AutoSampler])
def test_model_based_samplers_steer_into_the_feasible_region(cls):
    n_trials = 30 if cls is not TPESampler else 40
    with_c = [
        _feasible_share_and_regret(cls(seed=s, constraints_func=_constraint), n_trials)
        for s in range(3)
    ]
    without = [_feasible_share_and_regret(cls(seed=s), n_trials) for s in range(3)]
    # The margin is the constraints' doing: the GP's late trials without constraints went from
    # 7% to 29% feasible when its warping stopped letting far values flatten the model.
    assert np.mean([s for s, _ in with_c]) > np.mean([s for s, _ in without]) + 0.1
    assert np.mean([r for _, r in with_c]) < np.mean([r for _, r in without])


def _set_in_objective(trial):
    value = _constrained_quadratic(trial)
    trial.set_constraint("sum", trial.user_attrs["c"])
    return value


def test_set_constraint_in_the_objective_steers_without_a_constraints_func(sqlite_url):
    study = tl.create_study(storage=sqlite_url, sampler=GPSampler(seed=0))
    study.optimize(_set_in_objective, n_trials=30)
    assert all(t.constraints == {"sum": pytest.approx(t.user_attrs["c"])} for t in study.trials)
    assert study.best_trial.user_attrs["c"] <= 0
    assert study.best_value == pytest.approx(0.18, abs=0.01)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_set_constraint_from_workers_and_its_checks(n_jobs):
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("low", x - 0.5)
        for bad_name, bad_value, message in [
            ("nan", math.nan, "needs a real number"),
            ("text", "0.1", "needs a real number"),
            ("", 0.0, "non-empty string name"),
            ("yes", True, "needs a real number"),
        ]:
            with pytest.raises((ValueError, tl.InvalidParameterError), match=message):
                trial.set_constraint(bad_name, bad_value)
        trial.set_constraint("low", x - 0.4)  # set again: replaced
        return x

    study = tl.create_study(sampler=TPESampler(seed=0))
    study.optimize(objective, n_trials=6, n_jobs=n_jobs)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6
    assert all(t.constraints == {"low": pytest.approx(t.params["x"] - 0.4)} for t in study.trials)


def test_nsga2_uses_set_constraint_too():
    from tunelab.samplers import NSGAIISampler

    def objective(trial):
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        trial.set_constraint("x_high", 0.7 - x)
        return x, y + (1 - x)

    study = tl.create_study(
        directions=["minimize", "minimize"],
        sampler=NSGAIISampler(population_size=10, mutation_prob=0.1, seed=0),
    )
    study.optimize(objective, n_trials=100)
    late = study.trials[60:]
    assert np.mean([t.params["x"] >= 0.7 for t in late]) > 0.8
    assert study.best_trials and all(t.params["x"] >= 0.7 for t in study.best_trials)


def test_trial_constraints_reads_back_what_was_set_in_the_driver_and_in_workers():
    seen = []

    def objective(trial):
        trial.set_constraint("a", -1.0)
        trial.set_constraint("b", 2.0)
        seen.append(trial.constraints)
        return trial.suggest_float("x", 0, 1)

    tl.create_study(sampler=RandomSampler(seed=0)).optimize(objective, n_trials=1)
    assert seen == [{"a": -1.0, "b": 2.0}]

    def remote(trial):
        trial.set_constraint("a", 0.5)
        assert trial.constraints == {"a": 0.5}
        return trial.suggest_float("x", 0, 1)

    study = tl.create_study(sampler=RandomSampler(seed=0))
    study.optimize(remote, n_trials=2, n_jobs=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


def test_cli_best_says_when_no_trial_is_feasible(sqlite_url):
    from click.testing import CliRunner

    from tunelab.cli import main

    def objective(trial):
        trial.set_constraint("c", 1.0)
        return trial.suggest_float("x", 0, 1)

    tl.create_study(study_name="c", storage=sqlite_url).optimize(objective, n_trials=2)
    result = CliRunner().invoke(main, ["best", "c", "--storage", sqlite_url])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "none satisfies its constraints" in result.output


def test_trials_listing_and_exports_show_constraints(sqlite_url, tmp_path):
    # Found by a QA pass: `tunelab best` pointed to `tunelab trials` for the constraint values,
    # which showed none, and the csv and json exports dropped them.
    import json

    from click.testing import CliRunner

    from tunelab.cli import main

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("c", x - 0.5)
        return x

    study = tl.create_study(study_name="c", storage=sqlite_url, sampler=RandomSampler(seed=0))
    study.optimize(objective, n_trials=4)
    frame = study.trials_dataframe()
    assert list(frame["constraints_c"]) == [
        pytest.approx(t.params["x"] - 0.5) for t in study.trials
    ]
    assert list(frame["feasible"]) == [t.params["x"] <= 0.5 for t in study.trials]
    assert "constraints_c" not in tl.create_study().trials_dataframe().columns
    runner = CliRunner()
    listed = runner.invoke(main, ["trials", "c", "--storage", sqlite_url])
    assert "constraints" in listed.output and "(infeasible)" in listed.output
    out = tmp_path / "c.json"
    runner.invoke(
        main, ["export", "c", "--storage", sqlite_url, "--format", "json", "-o", str(out)]
    )
    exported = json.loads(out.read_text())
    rows = exported["trials"] if isinstance(exported, dict) else exported
    assert [r["feasible"] for r in rows] == [t.feasible for t in study.trials]
    assert rows[0]["constraints"] == {"c": pytest.approx(study.trials[0].params["x"] - 0.5)}


def test_a_skipped_duplicate_keeps_its_twins_constraint_values():
    # Found by a QA pass: duplicates finished with no constraint values (so feasible, and an
    # infeasible configuration became the best), or failed when constraints_func read the
    # objective's user attributes, which a skipped duplicate never sets.
    def objective(trial):
        x = trial.suggest_categorical("x", [0, 1])
        trial.set_user_attr("c", 1.0 if x == 0 else -1.0)
        trial.set_constraint("named", 1.0 if x == 0 else -1.0)
        return float(x == 1)

    sampler = TPESampler(seed=0, constraints_func=lambda t: [t.user_attrs["c"]])
    study = tl.create_study(sampler=sampler, skip_duplicates=True)
    study.optimize(objective, n_trials=8)
    twins = [t for t in study.trials if "duplicate_of" in t.system_attrs]
    assert twins and all(t.state == TrialState.COMPLETE for t in twins)
    for t in twins:
        original = study.trials[t.system_attrs["duplicate_of"]]
        assert t.constraints == original.constraints and t.feasible == original.feasible
    assert study.best_trial.params == {"x": 1}


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({"constraints": 0.5}, "'constraints' must be a list of numbers"),
        ({"constraints": "12"}, "'constraints' must be a list of numbers"),
        ({"constraints": [math.nan]}, "'constraints' must be a list of numbers"),
        ({"constraints:c": "oops"}, "constraint 'c' must be a number"),
        ({"constraints:c": None}, "constraint 'c' must be a number"),
    ],
)
def test_add_trial_refuses_constraint_values_that_are_not_numbers(attrs, match):
    # Found by a QA pass: accepted, they broke best_trial, trials_dataframe and every later
    # trial for good.
    study = tl.create_study()
    trial = tl.FrozenTrial(
        number=0,
        state=TrialState.COMPLETE,
        values=[1.0],
        params={"x": 0.5},
        distributions={"x": tl.Float(0, 1)},
        system_attrs=attrs,
    )
    with pytest.raises(tl.InvalidParameterError, match=match):
        study.add_trial(trial)
    assert study.trials == []


@pytest.mark.parametrize("bad", [1.0, 1e160, math.inf])
def test_the_gp_steers_by_huge_and_infinite_constraint_values_too(bad):
    # Found by a QA pass: a violation of 1e160 overflowed the constraint's standardisation and
    # the GP kept proposing the infeasible optimum.
    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        trial.set_constraint("c", bad if x > 0 else -1.0)
        return (x - 1) ** 2  # the feasible optimum is x = 0, value 1

    study = tl.create_study(sampler=GPSampler(seed=0, n_startup_trials=5))
    study.optimize(objective, n_trials=25)
    assert study.best_value < 1.1


def test_a_named_constraint_that_hides_a_constraints_func_value_is_warned_about():
    def objective(trial):
        trial.set_constraint("0", -1.0)
        return trial.suggest_float("x", 0, 1)

    study = tl.create_study(sampler=RandomSampler(seed=0, constraints_func=lambda t: [1.0]))
    with pytest.warns(UserWarning, match=r"set_constraint\('0', ...\) hides constraints_func"):
        study.optimize(objective, n_trials=1)
