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


def test_targets_draw_two_of_three_objectives_on_the_study_front(make_study):
    # Found by a QA pass: targets could not change the number of objectives drawn.
    study = make_study(directions=("minimize",) * 3)
    for v in [(1.0, 2.0, 3.0), (3.0, 2.0, 1.0), (3.0, 3.0, 3.0), (1.0, 5.0, 3.0)]:
        study.tell(study.ask(), list(v))
    data = pareto_data(study, targets=lambda t: (t.values[0], t.values[2]), target_names=["a", "c"])
    # (1, 5, 3) is beaten by (1, 2, 3) on all three objectives; trials 0 and 1 are the study's
    # front, drawn at their first and third values.
    assert data["names"] == ["a", "c"]
    assert data["front"]["numbers"] == [0, 1]
    assert data["front"]["values"] == [[1.0, 3.0], [3.0, 1.0]]
    assert sorted(data["dominated"]["numbers"]) == [2, 3]
    assert plot_pareto_front(study, targets=lambda t: (t.values[0], t.values[2])).data


def test_targets_give_a_single_objective_study_a_picture(make_study):
    study = make_study()
    for v in [3.0, 1.0, 2.0]:
        study.tell(study.ask(), v)
    data = pareto_data(study, targets=lambda t: (t.value, t.number))
    assert data["front"]["numbers"] == [1]  # the best trial
