from __future__ import annotations

import pytest

from tunelab import TrialState
from tunelab.exceptions import InvalidParameterError
from tunelab.visualization import history_data, plot_optimization_history


def test_best_so_far_follows_direction(make_study, told):
    low = make_study("low")
    told(low, [3.0, 5.0, 1.0, 2.0])
    high = make_study("high", directions=("maximize",))
    told(high, [3.0, 5.0, 1.0, 2.0])
    data = history_data([low, high])
    assert [s["name"] for s in data["studies"]] == ["low", "high"]
    assert data["studies"][0]["best"] == [3.0, 3.0, 1.0, 1.0]
    assert data["studies"][1]["best"] == [3.0, 5.0, 5.0, 5.0]
    assert data["studies"][0]["numbers"] == [0, 1, 2, 3]


def test_skips_unfinished_failed_and_infinite(make_study, told):
    study = make_study()
    told(study, [2.0, float("inf")])
    study.tell(study.ask(), state=TrialState.FAIL)
    study.ask()  # left running
    told(study, [1.0])
    data = history_data(study)["studies"][0]
    assert data["numbers"] == [0, 4]
    assert data["values"] == [2.0, 1.0]


def test_custom_target_has_no_best_line(make_study, told):
    study = make_study(directions=("minimize", "minimize"))
    for a, b in [(1.0, 4.0), (2.0, 3.0)]:
        study.tell(study.ask(), [a, b])
    data = history_data(study, target=lambda t: t.values[1])["studies"][0]
    assert data["values"] == [4.0, 3.0]
    assert data["best"] is None
    with pytest.raises(InvalidParameterError, match="'target' parameter"):
        history_data(study)


def test_figure_has_points_and_best_line(make_study, told):
    study = make_study()
    told(study, [3.0, 1.0, 2.0])
    fig = plot_optimization_history(study)
    assert [list(tr.y) for tr in fig.data] == [[3.0, 1.0, 2.0], [3.0, 1.0, 1.0]]


def test_rejects_non_study():
    with pytest.raises(
        InvalidParameterError, match="'study' parameter of plot_optimization_history"
    ):
        history_data("not a study")
