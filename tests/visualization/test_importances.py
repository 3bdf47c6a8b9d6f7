from __future__ import annotations

import pytest

from tunelab import Float
from tunelab.exceptions import InvalidParameterError
from tunelab.importance import CorrelationRatioImportanceEvaluator, get_param_importances
from tunelab.visualization import importance_data, plot_param_importances


def test_importance_bars_ranked(make_study):
    study = make_study()
    space = {"big": Float(0, 1), "none": Float(0, 1)}
    for _ in range(40):
        t = study.ask(space)
        study.tell(t, 10 * t.params["big"])
    data = importance_data(study, evaluator=CorrelationRatioImportanceEvaluator())
    assert data["names"] == ["big", "none"]
    assert abs(sum(data["importances"]) - 1) < 1e-9
    fig = plot_param_importances(study, evaluator=CorrelationRatioImportanceEvaluator())
    assert list(fig.data[0].y) == ["none", "big"]


def _two_objectives(make_study):
    study = make_study("mo", directions=("minimize", "maximize"))
    space = {"a": Float(0, 1), "b": Float(0, 1)}
    for _ in range(30):
        t = study.ask(space)
        study.tell(t, [10 * t.params["a"], 10 * t.params["b"]])
    return study


def test_target_and_target_name(make_study):
    # Found by a QA pass porting Optuna programs: target_name was a TypeError.
    study = _two_objectives(make_study)
    fast = CorrelationRatioImportanceEvaluator()
    fig = plot_param_importances(
        study, evaluator=fast, target=lambda t: t.values[1], target_name="size"
    )
    assert len(fig.data) == 1 and fig.data[0].name == "size"
    assert list(fig.data[0].y) == ["a", "b"]  # b drives objective 1: on top
    data = importance_data(study, fast, target=lambda t: t.values[0], target_name="loss")
    assert data["target_name"] == "loss" and data["names"] == ["a", "b"]
    assert data["targets"] == [
        {"target_name": "loss", "names": data["names"], "importances": data["importances"]}
    ]
    with pytest.raises(InvalidParameterError, match="'target_name' parameter"):
        plot_param_importances(study, fast, target=lambda t: t.values[0], target_name=1)


def test_one_bar_set_per_objective(make_study):
    study = _two_objectives(make_study)
    fast = CorrelationRatioImportanceEvaluator()
    data = importance_data(study, fast)
    assert "names" not in data
    assert [s["target_name"] for s in data["targets"]] == ["Objective value 0", "Objective value 1"]
    assert [s["names"][0] for s in data["targets"]] == ["a", "b"]
    fig = plot_param_importances(study, fast)
    assert [tr.name for tr in fig.data] == ["Objective value 0", "Objective value 1"]
    assert all(list(tr.y) == list(fig.data[0].y) for tr in fig.data)  # one parameter order
    assert fig.layout.barmode == "group" and fig.layout.showlegend
    study.set_metric_names(["loss", "size"])
    fig = plot_param_importances(study, fast, target_name="ignored")
    assert [tr.name for tr in fig.data] == ["loss", "size"]
    # The default evaluator too, and get_param_importances names itself when it needs a target.
    assert len(plot_param_importances(study).data) == 2
    with pytest.raises(InvalidParameterError, match="'target' parameter of get_param_importances"):
        get_param_importances(study)


def test_a_metric_name_labels_one_objective(make_study):
    study = make_study("named")
    for x in (0.1, 0.5, 0.9):
        study.tell(study.ask({"x": Float(0, 1)}), x)
    fast = CorrelationRatioImportanceEvaluator()
    assert plot_param_importances(study, fast).data[0].name == "Objective value"
    study.set_metric_names(["acc"])
    assert plot_param_importances(study, fast, target_name="other").data[0].name == "acc"
    explicit = plot_param_importances(study, fast, target=lambda t: t.value, target_name="other")
    assert explicit.data[0].name == "other"
