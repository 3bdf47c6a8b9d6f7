from __future__ import annotations

import pytest

import tunelab
from tunelab import Float, TrialState


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/x.db"


@pytest.fixture
def filled(db_url) -> tunelab.Study:
    """Six finished trials of every kind, and one still running with a reported value."""
    study = tunelab.create_study(study_name="demo", storage=db_url, seed=0)
    space = {"x": Float(-1, 1), "lr": Float(1e-4, 1, log=True)}
    for i in range(4):
        trial = study.ask(space)
        trial.report(float(i), 0)
        study.tell(trial, trial.params["x"] ** 2)
    study.tell(study.ask(space), state=TrialState.PRUNED)
    study.tell(study.ask(space), state=TrialState.FAIL, fail_reason="ValueError: boom")
    running = study.ask(space)
    running.report(0.25, 3)
    study.set_user_attr("owner", "test")
    return study


@pytest.fixture
def constrained(db_url) -> tunelab.Study:
    """Five trials whose constraint is the user attribute "c"; the infeasible trials 1 and 3
    beat every feasible one (the best feasible value is 3.0)."""
    from tunelab.samplers import RandomSampler

    sampler = RandomSampler(seed=0, constraints_func=lambda t: [t.user_attrs["c"]])
    study = tunelab.create_study(study_name="constrained", storage=db_url, sampler=sampler)
    for value, c in [(5.0, 0.0), (1.0, 0.5), (3.0, -1.0), (0.5, 2.0), (4.0, -0.1)]:
        trial = study.ask({"x": Float(0, 1)})
        trial.set_user_attr("c", c)
        study.tell(trial, value)
    return study
