from __future__ import annotations

import pytest

from tunelab import Categorical, Float
from tunelab.visualization import (
    parallel_data,
    plot_parallel_coordinate,
    plot_slice,
    slice_data,
)


def test_each_param_uses_trials_that_have_it(make_study):
    study = make_study()
    a = study.tell(study.ask({"x": Float(0, 1), "c": Categorical([1, 2])}), 5.0)
    b = study.tell(study.ask({"x": Float(0, 1)}), 6.0)
    data = {p["name"]: p for p in slice_data(study)["params"]}
    assert data["x"]["x"] == [a.params["x"], b.params["x"]]
    assert data["x"]["y"] == [5.0, 6.0]
    assert data["c"]["x"] == [str(a.params["c"])]
    assert data["c"]["numbers"] == [0]
    fig = plot_slice(study)
    assert fig.layout.xaxis.type == "category"  # "c" first, sorted by name
    assert len(fig.data) == 2


@pytest.mark.parametrize(
    ("choices", "labels"),
    [
        ([None, "None"], ["None", "'None'"]),
        ([1, "1", 2], ["1", "'1'", "2"]),
        ([True, "True"], ["True", "'True'"]),
        (["1", 1, "'1'"], ["'1'", "1", "\"'1'\""]),
        (["a", "b"], ["a", "b"]),
    ],
)
def test_choices_that_print_alike_get_distinct_labels(make_study, choices, labels):
    # Found by a QA pass: a category axis merged None and "None" (1 and "1", True and "True")
    # into one tick, and their trials into one column.
    study = make_study()
    for c in choices:
        study.enqueue_trial({"c": c})
        study.tell(study.ask({"c": Categorical(choices)}), 1.0)
    data = slice_data(study)["params"][0]
    assert data["axis"]["choices"] == labels
    assert data["x"] == labels
    (dim,) = parallel_data(study)["dimensions"]
    assert dim["axis"]["choices"] == labels
    assert list(plot_parallel_coordinate(study).data[0].dimensions[1].ticktext) == labels
