import sys

import numpy as np
import pytest

import tunelab as tl
from tunelab.samplers import RandomSampler
from tunelab.samplers._cmaes import CmaEsSampler
from tunelab.testing import SamplerContract

pytest.importorskip("cmaes")


class TestCmaEsSamplerContract(SamplerContract):
    def make_sampler(self, seed):
        return CmaEsSampler(seed=seed)


class TestCmaEsSamplerIpopContract(SamplerContract):
    def make_sampler(self, seed):
        return CmaEsSampler(seed=seed, restart_strategy="ipop", popsize=4)


SHIFT = np.array([1.5, -2.0, 0.7, 3.1])


def _sphere(trial):
    x = np.array([trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(4)])
    return float(np.sum((x - SHIFT) ** 2))


def _best(sampler, n_trials=120):
    study = tl.create_study(sampler=sampler)
    study.optimize(_sphere, n_trials=n_trials)
    return study.best_value


def test_beats_random_search_on_a_shifted_sphere():
    cma = [_best(CmaEsSampler(seed=s)) for s in range(3)]
    rand = [_best(RandomSampler(seed=s)) for s in range(3)]
    # Random search ends near 5 here; CMA-ES closes in on the optimum by an order of magnitude.
    assert max(cma) < min(rand) / 2
    assert np.median(cma) < np.median(rand) / 10


def test_integer_and_log_parameters_use_cma_and_stay_valid():
    def objective(trial):
        n = trial.suggest_int("n", 0, 20)
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        q = trial.suggest_float("q", 0.0, 1.0, step=0.1)
        return (n - 13) ** 2 + (np.log10(lr) + 2) ** 2 + (q - 0.3) ** 2

    study = tl.create_study(sampler=CmaEsSampler(seed=0))
    study.optimize(objective, n_trials=100)
    later = study.get_trials()[1:]
    assert all("cmaes:epoch" in t.system_attrs for t in later)
    best = study.best_params
    assert best["n"] == 13 and abs(best["q"] - 0.3) < 1e-9
    assert abs(np.log10(best["lr"]) + 2) < 0.5


def test_categorical_parameters_fall_back_to_random():
    study = tl.create_study(sampler=CmaEsSampler(seed=0))
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1) + (t.suggest_categorical("c", ["a", "b"]) == "a"),
        n_trials=20,
    )
    assert {t.params["c"] for t in study.get_trials()} == {"a", "b"}


def test_maximize_climbs():
    study = tl.create_study(sampler=CmaEsSampler(seed=1), direction="maximize")
    study.optimize(lambda t: -_sphere(t), n_trials=100)
    assert study.best_value > -0.5


def _state_attrs(study):
    return {
        k: v
        for k, v in study.storage.get_study_attrs(study._study_id, system=True).items()
        if k.startswith("cmaes:state:")
    }


def test_resumed_study_continues_from_the_stored_state(sqlite_url):
    uninterrupted = tl.create_study(sampler=CmaEsSampler(seed=3))
    uninterrupted.optimize(_sphere, n_trials=40)

    first = tl.create_study(storage=sqlite_url, study_name="s", sampler=CmaEsSampler(seed=3))
    first.optimize(_sphere, n_trials=25)
    assert _state_attrs(first)  # some generations were told and stored
    # A new process: nothing in memory, only what the storage holds.
    resumed = tl.load_study(study_name="s", storage=sqlite_url, sampler=CmaEsSampler(seed=3))
    resumed.optimize(_sphere, n_trials=15)

    a = [t.params for t in uninterrupted.get_trials()]
    b = [t.params for t in resumed.get_trials()]
    assert len(b) == 40
    for pa, pb in zip(a, b):
        assert pa == pytest.approx(pb)


def test_enqueued_values_are_told_at_their_own_coordinates():
    from tunelab.samplers._cmaes import _Layout

    layout = _Layout({"a": tl.Float(0, 10), "n": tl.Int(0, 9)})
    trial = tl.FrozenTrial(
        number=0,
        state=tl.TrialState.COMPLETE,
        params={"a": 2.5, "n": 7},  # "a" is what CMA-ES proposed, "n" was fixed by the user
        system_attrs={"cmaes:x": [0.25, 0.12]},
    )
    x = layout.x_for_tell(trial)
    assert x[0] == 0.25
    assert x[1] == pytest.approx(tl.Int(0, 9).to_unit(7))


def test_a_study_with_enqueued_trials_keeps_optimizing():
    study = tl.create_study(sampler=CmaEsSampler(seed=0, popsize=4))
    study.optimize(_sphere, n_trials=2)
    study.enqueue_trial({"x0": float(SHIFT[0])})
    study.optimize(_sphere, n_trials=30)
    assert study.get_trials()[2].params["x0"] == SHIFT[0]
    (record,) = _state_attrs(study).values()
    assert record["epoch"] >= 6  # the enqueued trial counted in its generation


def test_ipop_restarts_with_a_larger_population():
    study = tl.create_study(sampler=CmaEsSampler(seed=0, popsize=4, restart_strategy="ipop"))
    # A flat objective: the spread of values falls under tolfun once enough generations ran.
    flat = lambda t: 0.0 * (t.suggest_float("a", 0, 1) + t.suggest_float("b", 0, 1))  # noqa: E731
    study.optimize(flat, n_trials=140)
    (record,) = _state_attrs(study).values()
    assert record["restarts"] >= 1 and record["popsize"] == 4 * 2 ** record["restarts"]


def test_multi_objective_study_falls_back_to_random_with_a_warning():
    study = tl.create_study(sampler=CmaEsSampler(seed=0), directions=["minimize", "minimize"])
    with pytest.warns(UserWarning, match="optimizes one objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), 5)
    assert len(study.get_trials()) == 5


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_the_best_infinity_is_told_as_the_best_value(monkeypatch, direction):
    import cmaes

    told = []
    tell = cmaes.CMA.tell

    def spy(self, solutions):
        told.append(sorted(v for _, v in solutions))
        return tell(self, solutions)

    monkeypatch.setattr(cmaes.CMA, "tell", spy)
    best = -np.inf if direction == "minimize" else np.inf

    def objective(t):
        x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
        return best if x < 0.5 else x + y

    study = tl.create_study(sampler=CmaEsSampler(seed=0, popsize=4), direction=direction)
    study.optimize(objective, n_trials=13)
    values = [v for generation in told for v in generation]
    assert any(v == -1e300 for v in values)  # the infinity, best for CMA (which minimises)
    assert 1e300 not in values
    assert all(np.isfinite(values))


def test_infinities_become_finite_values_past_the_finite_extremes():
    from tunelab.samplers._cmaes import _finite_ranks

    assert _finite_ranks(np.array([np.inf, 2.0, -np.inf, np.nan])) == [1e300, 2.0, -1e300, 1e300]
    assert _finite_ranks(np.array([np.inf, -1e305, 1e306])) == [1e306, -1e305, 1e306]
    assert _finite_ranks(np.array([np.inf, np.inf])) == [1e300, 1e300]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, "'seed' parameter of CmaEsSampler must be a non-negative int"),
        ({"n_startup_trials": -1}, "'n_startup_trials' parameter of CmaEsSampler"),
        ({"n_startup_trials": 1.5}, "'n_startup_trials' parameter of CmaEsSampler"),
        ({"sigma0": 0}, "'sigma0' parameter of CmaEsSampler must be a positive number"),
        ({"sigma0": float("nan")}, "'sigma0' parameter of CmaEsSampler"),
        ({"popsize": 1}, "'popsize' parameter of CmaEsSampler must be an int >= 2"),
        ({"restart_strategy": "bipop"}, "'restart_strategy' parameter of CmaEsSampler"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(tl.InvalidParameterError, match=match):
        CmaEsSampler(**kwargs)


def test_missing_cmaes_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cmaes", None)
    with pytest.raises(ImportError, match=r"pip install 'tunelab\[cmaes\]'"):
        CmaEsSampler()
