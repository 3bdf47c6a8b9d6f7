from __future__ import annotations

import math

import pytest

from tunelab import Categorical, Float
from tunelab.exceptions import InvalidParameterError
from tunelab.visualization import parallel_data, plot_parallel_coordinate


def test_axes_encode_log_and_categorical(make_study):
    study = make_study()
    space = {"lr": Float(1e-3, 1.0, log=True), "kind": Categorical(["a", "b", "c"])}
    trials = [study.tell(study.ask(space), float(i)) for i in range(4)]
    data = parallel_data(study)
    assert data["target"] == [0.0, 1.0, 2.0, 3.0]
    dims = {d["name"]: d for d in data["dimensions"]}
    assert dims["lr"]["values"] == [math.log10(t.params["lr"]) for t in trials]
    assert dims["lr"]["axis"]["scale"] == "log"
    assert dims["kind"]["values"] == [float("abc".index(t.params["kind"])) for t in trials]
    assert dims["kind"]["axis"]["choices"] == ["a", "b", "c"]
    fig = plot_parallel_coordinate(study)
    assert [d.label for d in fig.data[0].dimensions] == ["Objective value", "kind", "lr"]


def test_default_params_are_those_every_trial_has(make_study):
    study = make_study()
    study.tell(study.ask({"x": Float(0, 1), "y": Float(0, 1)}), 1.0)
    study.tell(study.ask({"x": Float(0, 1)}), 2.0)
    assert [d["name"] for d in parallel_data(study)["dimensions"]] == ["x"]
    only_y = parallel_data(study, params=["y"])
    assert only_y["target"] == [1.0]
    with pytest.raises(InvalidParameterError, match="'params' parameter"):
        parallel_data(study, params=["nope"])
