from __future__ import annotations

import pytest

from tunelab.exceptions import InvalidParameterError
from tunelab.visualization import pareto_data, plot_pareto_front


def test_front_and_dominated_two_objectives(make_study):
    study = make_study(directions=("minimize", "maximize"))
    for v in [(1.0, 1.0), (2.0, 3.0), (2.0, 2.0), (3.0, 3.0), (0.5, 0.0)]:
        study.tell(study.ask(), list(v))
    data = pareto_data(study)
    assert data["front"]["numbers"] == [4, 0, 1]
    assert data["front"]["values"] == [[0.5, 1.0, 2.0], [0.0, 1.0, 3.0]]
    assert sorted(data["dominated"]["numbers"]) == [2, 3]
    assert plot_pareto_front(study).data[1].name == "Pareto front"


def test_three_objectives_draw_in_3d(make_study):
    study = make_study(directions=("minimize",) * 3)
    for v in [(1.0, 2.0, 3.0), (3.0, 2.0, 1.0), (3.0, 3.0, 3.0)]:
        study.tell(study.ask(), list(v))
    assert pareto_data(study)["front"]["numbers"] == [0, 1]
    assert plot_pareto_front(study).data[0].type == "scatter3d"


def test_single_objective_is_rejected(make_study):
    study = make_study()
    with pytest.raises(InvalidParameterError, match="2 or 3 objectives"):
        pareto_data(study)
