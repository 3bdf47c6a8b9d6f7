from __future__ import annotations

import pytest

import tunelab
from tunelab import Categorical, Float, Int


@pytest.fixture
def make_study(tmp_path):
    """A study on SQLite in tmp_path, with an objective told through ask/tell."""

    def make(name: str = "s", directions=("minimize",)) -> tunelab.Study:
        # Seeded uniform draws: the figures' data must not depend on where a model-based
        # default sampler happens to concentrate its trials.
        return tunelab.create_study(
            study_name=name,
            storage=f"sqlite:///{tmp_path}/x.db",
            directions=list(directions),
            sampler=tunelab.samplers.RandomSampler(seed=0),
        )

    return make


SPACE = {
    "x": Float(-2.0, 2.0),
    "lr": Float(1e-4, 1.0, log=True),
    "n": Int(1, 8),
    "kind": Categorical(["a", "b"]),
}


@pytest.fixture
def told():
    """Ask one trial per value and tell that value (params drawn by the default sampler)."""

    def tell_all(study: tunelab.Study, values: list[float], space=SPACE) -> list:
        return [study.tell(study.ask(space), v) for v in values]

    return tell_all


@pytest.fixture
def constrained(tmp_path):
    """A study whose constraint is each trial's user attribute "c" (feasible when <= 0), and a
    function that tells one trial: ``tell(study, values, c)``."""

    def make(name: str = "c", directions=("minimize",)) -> tunelab.Study:
        sampler = tunelab.samplers.RandomSampler(
            seed=0, constraints_func=lambda t: [t.user_attrs["c"]]
        )
        return tunelab.create_study(
            study_name=name,
            storage=f"sqlite:///{tmp_path}/constrained.db",
            directions=list(directions),
            sampler=sampler,
        )

    def tell(study: tunelab.Study, values, c: float):
        trial = study.ask({"x": Float(0.0, 1.0)})
        trial.set_user_attr("c", c)
        return study.tell(trial, values)

    return make, tell
