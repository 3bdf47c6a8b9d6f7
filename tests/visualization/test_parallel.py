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


def test_log_axis_ticks_fall_inside_a_narrow_range(make_study):
    # Found by a QA pass: for Float(2, 8, log=True) the ticks were 1e0 and 1e1, both outside
    # the axis, which then showed no value at all.
    study = make_study()
    for v in (2.5, 3.3, 4.0, 6.1, 7.5):
        study.enqueue_trial({"batch": v})
        study.tell(study.ask({"batch": Float(2, 8, log=True)}), v)
    dim = plot_parallel_coordinate(study).data[0].dimensions[1]
    lo, hi = min(dim.values), max(dim.values)
    assert len(dim.tickvals) >= 3
    assert all(lo <= t <= hi for t in dim.tickvals)
    assert list(dim.ticktext) == ["3", "4", "5", "6", "7"]
    for t, text in zip(dim.tickvals, dim.ticktext):
        assert math.isclose(10**t, float(text))


def test_log_axis_ticks_are_decades_over_a_wide_range(make_study):
    study = make_study()
    for v in (1e-4, 3e-3, 0.2, 1.0):
        study.enqueue_trial({"lr": v})
        study.tell(study.ask({"lr": Float(1e-4, 1.0, log=True)}), v)
    dim = plot_parallel_coordinate(study).data[0].dimensions[1]
    assert list(dim.tickvals) == [-4, -3, -2, -1, 0]
    assert list(dim.ticktext) == ["1e-4", "1e-3", "1e-2", "1e-1", "1e0"]
