from __future__ import annotations

import pytest

from tunelab import Float
from tunelab.exceptions import InvalidParameterError
from tunelab.visualization import contour_data, plot_contour


def test_cells_average_trials(make_study):
    study = make_study()
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0), "z": Float(0.0, 1.0)}
    points = [(0.1, 0.1, 1.0), (0.2, 0.2, 3.0), (0.9, 0.9, 10.0)]
    for x, y, v in points:
        study.enqueue_trial({"x": x, "y": y, "z": 0.5})
        study.tell(study.ask(space), v)
    data = contour_data(study, params=["x", "y"], n_cells=2)
    assert data["x"]["centers"] == [0.25, 0.75]
    assert data["z"] == [[2.0, None], [None, 10.0]]
    assert data["points"]["value"] == [1.0, 3.0, 10.0]
    assert len(plot_contour(study, params=["x", "y"], n_cells=2).data) == 2


def test_needs_two_params(make_study):
    study = make_study()
    study.tell(study.ask({"x": Float(0, 1), "y": Float(0, 1)}), 1.0)
    with pytest.raises(InvalidParameterError, match="exactly two parameter names"):
        contour_data(study, params=["x"])
    with pytest.raises(InvalidParameterError, match="'n_cells' parameter"):
        contour_data(study, n_cells=1)
