import pytest

import tunelab as tl
from tunelab.samplers import AutoSampler, QMCSampler
from tunelab.testing import SamplerContract


class TestAutoSamplerContract(SamplerContract):
    def make_sampler(self, seed):
        return AutoSampler(seed=seed, n_startup_trials=5)


def _choices(study):
    return [t.system_attrs.get("auto_sampler") for t in study.trials]


def test_numeric_space_starts_quasi_random_then_uses_a_gp():
    study = tl.create_study(sampler=AutoSampler(seed=0, n_startup_trials=4))
    study.optimize(
        lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2 + t.suggest_int("n", 1, 5), n_trials=16
    )
    assert _choices(study) == ["QMCSampler"] * 4 + ["GPSampler"] * 12
    assert "GPSampler" in study.explain_sampler() and "trial 15" in study.explain_sampler()


def test_conditional_space_uses_tpe_and_says_why():
    def obj(trial):
        kind = trial.suggest_categorical("kind", ["a", "b"])
        if kind == "a":
            return trial.suggest_float("x", 0, 1)
        return trial.suggest_float("y", 0, 1)

    study = tl.create_study(sampler=AutoSampler(seed=1, n_startup_trials=4))
    study.optimize(obj, n_trials=8)
    assert _choices(study)[4:] == ["TPESampler"] * 4
    assert "appear only in some trials" in study.explain_sampler()


def test_multi_objective_and_categorical_heavy_spaces_use_tpe():
    multi = tl.create_study(
        directions=["minimize", "maximize"], sampler=AutoSampler(seed=2, n_startup_trials=2)
    )
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=3)
    assert _choices(multi)[-1] == "TPESampler" and "2 objectives" in multi.explain_sampler()
    cats = tl.create_study(sampler=AutoSampler(seed=3, n_startup_trials=2))
    cats.optimize(
        lambda t: (
            len(t.suggest_categorical("a", ["x", "yy"]) + t.suggest_categorical("b", ["x", "yy"]))
            + t.suggest_float("z", 0, 1)
        ),
        n_trials=3,
    )
    assert _choices(cats)[-1] == "TPESampler" and "categorical" in cats.explain_sampler()


def test_long_budget_uses_tpe():
    sampler = AutoSampler(seed=4, n_startup_trials=2)
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    sampler.plan(study, 5000, 1)
    trial = study.ask()
    assert trial.system_attrs["auto_sampler"] == "TPESampler"
    assert "budget 5000" in study.explain_sampler()


def test_is_the_default_and_seeded():
    def run(seed):
        study = tl.create_study(seed=seed)
        study.optimize(lambda t: (t.suggest_float("x", -1, 1)) ** 2, n_trials=14)
        return [t.params["x"] for t in study.trials]

    assert isinstance(tl.create_study().sampler, AutoSampler)
    assert run(5) == run(5) and run(5) != run(6)


def test_bad_arguments():
    with pytest.raises(
        tl.InvalidParameterError, match="'n_startup_trials' parameter of AutoSampler"
    ):
        AutoSampler(n_startup_trials=-1)


def test_many_parallel_workers_use_tpe():
    sampler = AutoSampler(seed=7, n_startup_trials=2)
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    sampler.plan(study, None, 16)
    assert study.ask().system_attrs["auto_sampler"] == "TPESampler"
    assert "16 workers" in study.explain_sampler()


def test_optimize_tells_the_sampler_its_budget_and_workers():
    sampler = AutoSampler(seed=8, n_startup_trials=2)
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, n_jobs=2)
    assert (sampler._budget, sampler._n_workers) == (3, 2)


def test_a_short_known_budget_shortens_the_quasi_random_start():
    sampler = AutoSampler(seed=3)
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=16)
    assert _choices(study) == ["QMCSampler"] * 4 + ["GPSampler"] * 12


def test_an_unknown_or_long_budget_keeps_the_full_start():
    sampler = AutoSampler(seed=3)
    study = tl.create_study(sampler=sampler)
    for _ in range(11):
        trial = study.ask({"x": tl.Float(0, 1)})
        study.tell(trial, trial.params["x"])
    assert _choices(study) == ["QMCSampler"] * 10 + ["GPSampler"]
    sampler.plan(study, 1000, 1)
    assert sampler._startup_trials() == 10


def test_n_startup_trials_takes_any_integer_as_tpe_and_gp_do():
    # Found by a QA pass: np.int64(5) was refused here only.
    import numpy as np

    sampler = AutoSampler(n_startup_trials=np.int64(5))
    assert sampler.n_startup_trials == 5 and type(sampler.n_startup_trials) is int
    for bad in (True, 2.5, "5"):
        with pytest.raises(tl.InvalidParameterError, match="'n_startup_trials'"):
            AutoSampler(n_startup_trials=bad)


@pytest.mark.parametrize("seed", range(12))
def test_the_quasi_random_start_does_not_repeat_a_point_of_a_small_discrete_space(seed):
    # Found in session 12: on a 2 x 2 space, 4 trials repeated a point on 13 of 20 seeds
    # (the first, define-by-run trial comes from other Sobol sequences than the rest).
    study = tl.create_study(sampler=AutoSampler(seed=seed))
    study.optimize(
        lambda t: t.suggest_int("a", 0, 1) + t.suggest_categorical("b", [0, 1]), n_trials=4
    )
    points = [(t.params["a"], t.params["b"]) for t in study.trials]
    assert sorted(points) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_the_start_still_draws_continuous_points_from_the_sequence():
    space = {"x": tl.Float(0, 1), "k": tl.Int(0, 1)}
    study = tl.create_study(sampler=AutoSampler(seed=3))
    for _ in range(3):
        study.tell(study.ask(space), 0.0)
    reference = QMCSampler(seed=(3 + 1) % 2**32)
    assert [t.params for t in study.trials] == [reference.point_at(space, n) for n in range(3)]


def test_the_startup_reason_counts_finished_trials_not_trial_numbers():
    # Found by a QA pass: "chose QMCSampler for trial 2 because trial 3 of the first 3 ...".
    sampler = AutoSampler(seed=0, n_startup_trials=3)
    study = tl.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    study.ask()
    assert "for trial 2 because only 2 of the first 3 trials have finished" in sampler.describe()
