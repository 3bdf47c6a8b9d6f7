from __future__ import annotations

from tunelab import Categorical, Float
from tunelab.visualization import plot_slice, slice_data


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
