"""The sampler contract: every sampler handles every parameter type, conditional spaces,
seeds, and stays inside its bounds."""

from __future__ import annotations

import math

from .._frozen import TrialState
from .._space import Categorical, Float, Int
from .._study import create_study
from ..samplers import BaseSampler


def _objective(trial) -> float:  # type: ignore[no-untyped-def]
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
    n = trial.suggest_int("n", 1, 10)
    m = trial.suggest_int("m", 1, 1000, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    value = x * x + abs(math.log10(lr) + 3) + q + n / 10 + math.log(m) / 10
    if kind == "a":
        value += trial.suggest_int("depth", 1, 5) / 10
    elif kind == "b":
        value += trial.suggest_float("alpha", 0.0, 1.0)
    return value


class SamplerContract:
    """Subclass with a ``make_sampler(seed)`` method returning a new sampler."""

    n_trials = 30

    def make_sampler(self, seed: int | None) -> BaseSampler:  # pragma: no cover - override
        raise NotImplementedError

    def _run(self, seed: int | None, n_trials: int | None = None):  # type: ignore[no-untyped-def]
        study = create_study(sampler=self.make_sampler(seed))
        study.optimize(_objective, n_trials=n_trials or self.n_trials)
        return study

    def test_values_stay_in_their_distributions(self) -> None:
        study = self._run(0)
        trials = study.get_trials()
        assert len(trials) == self.n_trials
        assert all(t.state == TrialState.COMPLETE for t in trials)
        for t in trials:
            for name, value in t.params.items():
                assert t.distributions[name].contains(value), (name, value)
            assert isinstance(t.params["n"], int) and isinstance(t.params["m"], int)
            assert t.params["kind"] in ("a", "b", "c")

    def test_conditional_parameters_follow_their_branch(self) -> None:
        for t in self._run(1).get_trials():
            assert ("depth" in t.params) == (t.params["kind"] == "a")
            assert ("alpha" in t.params) == (t.params["kind"] == "b")

    def test_same_seed_same_suggestions(self) -> None:
        a = [t.params for t in self._run(7).get_trials()]
        b = [t.params for t in self._run(7).get_trials()]
        assert a == b

    def test_different_seeds_differ(self) -> None:
        a = [t.params for t in self._run(1).get_trials()]
        b = [t.params for t in self._run(2).get_trials()]
        assert a != b

    def test_declared_space_with_ask(self) -> None:
        study = create_study(sampler=self.make_sampler(3))
        space = {
            "x": Float(-5, 10),
            "lr": Float(1e-5, 1e-1, log=True),
            "n": Int(1, 10),
            "k": Categorical(["a", "b"]),
        }
        for _ in range(self.n_trials):
            trial = study.ask(space)
            assert set(trial.params) == set(space)
            study.tell(trial, trial.params["x"] ** 2 + trial.params["n"])
        assert len(study.get_trials((TrialState.COMPLETE,))) == self.n_trials

    def test_failed_and_pruned_trials_do_not_break_it(self) -> None:
        study = create_study(sampler=self.make_sampler(4))
        for i in range(self.n_trials):
            trial = study.ask()
            x = trial.suggest_float("x", 0, 1)
            if i % 3 == 0:
                study.tell(trial, state=TrialState.FAIL)
            elif i % 3 == 1:
                trial.report(x, 0)
                study.tell(trial, state=TrialState.PRUNED)
            else:
                study.tell(trial, x)

    def test_running_trials_are_visible(self) -> None:
        study = create_study(sampler=self.make_sampler(5))
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=self.n_trials)
        pending = [study.ask() for _ in range(4)]
        values = [t.suggest_float("x", 0, 1) for t in pending]
        assert len(set(values)) == 4  # parallel workers must not all get the same point
