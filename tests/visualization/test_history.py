from __future__ import annotations

import math

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


def test_an_infinite_best_is_not_hidden(make_study, told):
    # Found by a QA pass: with a -inf trial the best-so-far line stayed at the finite best
    # while study.best_value was -inf.
    study = make_study()
    told(study, [1.0, -math.inf, 2.0])
    data = history_data(study)["studies"][0]
    assert data["numbers"] == [0, 2] and data["values"] == [1.0, 2.0]
    assert data["best"] == [1.0, -math.inf]
    assert data["best"][-1] == study.best_value
    assert data["infinite"] == {
        "numbers": [1],
        "values": [-math.inf],
        "best": [-math.inf],
        "feasible": [True],
    }
    fig = plot_optimization_history(study)
    bottom, top = fig.layout.yaxis.range
    line = next(tr for tr in fig.data if tr.name == "Best so far")
    assert list(line.x) == [0, 1, 2]
    assert list(line.y) == [1.0, bottom, bottom]  # at the edge it lies beyond, not at 1.0
    assert bottom < 1.0 and top > 2.0
    assert "1 infinite value drawn at the axis edge" in fig.layout.title.text


def test_a_worst_infinity_is_drawn_but_never_best(make_study, told):
    study = make_study(directions=("maximize",))
    told(study, [1.0, -math.inf, 3.0])
    data = history_data(study)["studies"][0]
    assert data["best"] == [1.0, 3.0]
    assert data["infinite"]["best"] == [1.0]
    fig = plot_optimization_history(study)
    marker = next(tr for tr in fig.data if tr.name.startswith("Infinite"))
    assert list(marker.y) == [fig.layout.yaxis.range[0]]
    assert plot_optimization_history(make_study("plain")).layout.title.text == (
        "Optimization history"
    )


def test_best_line_counts_feasible_trials_only(constrained):
    # The infeasible trials (1 and 3) beat every feasible one: a best line that counted
    # them would sit below study.best_value, at a result the constraints rule out.
    make, tell = constrained
    study = make()
    for value, c in [(5.0, 0.0), (1.0, 0.5), (3.0, -1.0), (0.5, 2.0), (4.0, -0.1)]:
        tell(study, value, c)
    assert study.best_value == 3.0
    data = history_data(study)["studies"][0]
    assert data["numbers"] == [0, 2, 4] and data["values"] == [5.0, 3.0, 4.0]
    assert data["best"] == [5.0, 3.0, 3.0]
    assert data["best"][-1] == study.best_value
    assert data["infeasible"] == {"numbers": [1, 3], "values": [1.0, 0.5], "best": [5.0, 3.0]}
    fig = plot_optimization_history(study)
    line = next(tr for tr in fig.data if tr.name == "Best so far")
    assert list(line.x) == [0, 1, 2, 3, 4]
    assert list(line.y) == [5.0, 5.0, 3.0, 3.0, 3.0]
    grey = next(tr for tr in fig.data if tr.name == "Infeasible trial")
    assert list(grey.x) == [1, 3] and list(grey.y) == [1.0, 0.5]
    assert grey.marker.color == "#cccccc"
    assert list(fig.data[0].y) == [5.0, 3.0, 4.0]  # the feasible points keep their colour


def test_no_best_before_the_first_feasible_trial(constrained):
    make, tell = constrained
    study = make(directions=("maximize",))
    tell(study, 9.0, 1.0)
    data = history_data(study)["studies"][0]
    assert data["numbers"] == [] and data["best"] == []
    assert data["infeasible"]["best"] == [None]
    fig = plot_optimization_history(study)  # a figure, not an error, with no best line
    assert [tr.name for tr in fig.data] == ["Objective value", "Infeasible trial"]
    tell(study, 2.0, 0.0)
    line = next(tr for tr in plot_optimization_history(study).data if tr.name == "Best so far")
    assert list(line.x) == [1] and list(line.y) == [2.0] == [study.best_value]


def test_an_infeasible_infinity_is_never_the_best(constrained):
    make, tell = constrained
    study = make()
    tell(study, 2.0, 0.0)
    tell(study, -math.inf, 1.0)
    data = history_data(study)["studies"][0]
    assert data["infinite"] == {
        "numbers": [1],
        "values": [-math.inf],
        "best": [2.0],
        "feasible": [False],
    }
    fig = plot_optimization_history(study)
    marker = next(tr for tr in fig.data if tr.name == "Infeasible, infinite")
    assert marker.marker.color == "#cccccc"
    assert list(marker.y) == [fig.layout.yaxis.range[0]]
    line = next(tr for tr in fig.data if tr.name == "Best so far")
    assert list(line.y) == [2.0, 2.0] == [study.best_value] * 2


def test_error_bar_summarises_several_studies(make_study, told):
    a, b = make_study("a"), make_study("b")
    told(a, [4.0, 2.0, 3.0])
    told(b, [2.0, 4.0, 1.0, 5.0])
    b.tell(b.ask(), state=TrialState.FAIL)
    data = history_data([a, b], error_bar=True)
    assert [s["name"] for s in data["studies"]] == ["a", "b"]  # the studies are kept
    spread = data["error_bar"]
    assert spread["numbers"] == [0, 1, 2, 3]
    assert spread["mean"] == [3.0, 3.0, 2.0, 5.0]
    assert spread["std"] == [1.0, 1.0, 1.0, 0.0]
    # Bests so far: a 4, 2, 2 (it has no trial 3, as in Optuna); b 2, 2, 1, 1.
    assert spread["best_mean"] == [3.0, 2.0, 1.5, 1.0]
    assert spread["best_std"] == [1.0, 0.0, 0.5, 0.0]
    assert "error_bar" not in history_data([a, b])

    fig = plot_optimization_history([a, b], target_name="loss", error_bar=True)
    points = fig.data[0]
    assert points.name == "loss" and list(points.y) == spread["mean"]
    assert list(points.error_y.array) == spread["std"]
    line = next(tr for tr in fig.data if tr.name == "Best so far (mean)")
    assert list(line.y) == spread["best_mean"]
    band = next(tr for tr in fig.data if tr.name == "Best so far ± std")
    assert list(band.y) == [2.0, 2.0, 1.0, 1.0] and band.fill == "tonexty"
    assert fig.layout.yaxis.title.text == "loss"
    assert "over 2 studies" in fig.layout.title.text
    one = plot_optimization_history(a, error_bar=True)  # one study: no spread
    assert list(one.data[0].error_y.array) == [0.0, 0.0, 0.0]
    with pytest.raises(InvalidParameterError, match="'error_bar' parameter"):
        history_data(a, error_bar="yes")


def test_error_bar_with_a_custom_target_has_no_best(make_study):
    study = make_study(directions=("minimize", "minimize"))
    for pair in ([1.0, 4.0], [2.0, 3.0]):
        study.tell(study.ask(), pair)
    spread = history_data(study, target=lambda t: t.values[1], error_bar=True)["error_bar"]
    assert spread["mean"] == [4.0, 3.0] and spread["best_mean"] is None
    fig = plot_optimization_history(
        study, target=lambda t: t.values[1], target_name="size", error_bar=True
    )
    assert [tr.name for tr in fig.data] == ["size"]
