from __future__ import annotations

import random

import pytest

from tunelab import Categorical, Float, FrozenTrial, Int, TrialState
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


def test_discrete_params_get_one_cell_per_value(make_study):
    # Found by a QA pass: Int(0, 3) got 24 cells centred on 0,0,0,0,0,0,1,1,... and most
    # stayed empty.
    study = make_study()
    space = {"a": Int(0, 3), "b": Float(0.0, 1.0, step=0.5), "c": Int(0, 99)}
    for a, b, v in [(0, 0.0, 1.0), (0, 0.0, 3.0), (3, 1.0, 5.0), (1, 0.5, 7.0)]:
        study.enqueue_trial({"a": a, "b": b, "c": 50})
        study.tell(study.ask(space), v)
    data = contour_data(study, params=["a", "b"])
    assert data["x"]["centers"] == [0, 1, 2, 3]
    assert data["y"]["centers"] == [0.0, 0.5, 1.0]
    assert data["z"] == [
        [2.0, None, None, None],
        [None, 7.0, None, None],
        [None, None, None, 5.0],
    ]
    assert data["points"]["x"] == [0, 0, 3, 1]
    assert len(contour_data(study, params=["a", "c"])["y"]["centers"]) == 24  # 100 values


def _branches(study, n=40):
    # A parent picks one branch; each branch has its own child, never set together.
    rng = random.Random(0)
    for i in range(n):
        k = "a" if i % 2 else "b"
        child = rng.random()
        w = rng.random()
        study.add_trial(
            FrozenTrial(
                number=i,
                state=TrialState.COMPLETE,
                values=[10 * child + 0.1 * w],
                params={"k": k, "w": w, k + "x": child},
                distributions={
                    "k": Categorical(["a", "b"]),
                    "w": Float(0, 1),
                    k + "x": Float(0, 1),
                },
            )
        )


def test_default_pair_is_set_together_in_a_conditional_space(make_study):
    # Found by a QA pass: the two most important parameters were the two branches' children,
    # which no trial has together: an empty figure with no message.
    study = make_study()
    _branches(study)
    data = contour_data(study)
    names = {data["x"]["name"], data["y"]["name"]}
    assert names != {"ax", "bx"}
    assert len(names & {"ax", "bx"}) == 1  # the most important parameter is kept
    assert data["points"]["value"]
    with pytest.raises(ValueError, match="cannot draw 'ax' against 'bx'"):
        contour_data(study, params=["ax", "bx"])


def test_no_pair_set_together_cannot_be_drawn(make_study):
    study = make_study()
    for name, v in [("a", 1.0), ("b", 2.0), ("a", 3.0)]:
        study.tell(study.ask({name: Float(0, 1)}), v)
    with pytest.raises(ValueError, match="cannot draw"):
        plot_contour(study)


def test_choices_that_print_alike_keep_their_own_cells(make_study):
    # Found by a QA pass: None and "None" got one label, so their trials shared a column.
    study = make_study()
    space = {"c": Categorical([None, "None"]), "x": Float(0, 1)}
    for c, v in [(None, 0.0), ("None", 10.0)]:
        study.enqueue_trial({"c": c, "x": 0.5})
        study.tell(study.ask(space), v)
    data = contour_data(study, params=["c", "x"], n_cells=2)
    assert data["x"]["centers"] == ["None", "'None'"]
    assert data["points"]["x"] == ["None", "'None'"]
    assert data["z"] == [[None, None], [0.0, 10.0]]


def test_log_int_cells_have_distinct_centers(make_study):
    # Found by a QA pass: Int(1, 1000, log=True) got cells centred on 1, 1, 1, 1, 2, ...: the
    # first cells are narrower than one integer. Neighbours that round alike are one cell.
    study = make_study()
    space = {"n": Int(1, 1000, log=True), "x": Float(0.0, 1.0)}
    for n, v in [(1, 5.0), (1, 7.0), (2, 1.0), (30, 2.0), (1000, 3.0)]:
        study.enqueue_trial({"n": n, "x": 0.5})
        study.tell(study.ask(space), v)
    data = contour_data(study, params=["n", "x"])
    centers = data["x"]["centers"]
    assert centers[0] == 1 and centers[-1] <= 1000
    assert all(a < b for a, b in zip(centers, centers[1:]))  # distinct, in order
    assert all(isinstance(c, int) for c in centers)
    row = data["z"][len(data["z"]) // 2]  # x = 0.5
    assert row[0] == 6.0  # the two trials with n = 1 share the first cell
    assert row[centers.index(2)] == 1.0
    assert sum(v is not None for v in row) == 4


def test_a_study_with_fewer_than_two_params_is_named_not_the_argument(make_study):
    # Found by a QA pass: "The 'params' parameter of plot_contour must be exactly two
    # parameter names. Got None instead." though the caller passed no params.
    study = make_study()
    for v in (1.0, 2.0):
        study.tell(study.ask({"x": Float(0, 1)}), v)
    with pytest.raises(InvalidParameterError, match="needs two parameters") as info:
        plot_contour(study)
    assert "only 'x'" in str(info.value) and "Got None" not in str(info.value)
    empty = make_study("empty")
    empty.tell(empty.ask(), 1.0)
    with pytest.raises(InvalidParameterError, match="have none"):
        contour_data(empty)
