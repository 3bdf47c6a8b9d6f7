from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab
from tunelab._pareto import front_mask
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


def test_metric_names_label_the_axes(make_study):
    study = make_study(directions=("minimize", "maximize"))
    study.tell(study.ask(), [1.0, 2.0])
    assert pareto_data(study)["names"] == ["Objective 0", "Objective 1"]
    study.set_metric_names(["loss", "accuracy"])
    assert pareto_data(study)["names"] == ["loss", "accuracy"]
    assert pareto_data(study, target_names=["a", "b"])["names"] == ["a", "b"]
    assert plot_pareto_front(study).layout.xaxis.title.text == "loss"


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


def test_single_objective_targets_need_directions(make_study):
    # Found by a QA pass: ranked by the study's one objective, the "front" of (value, number)
    # was the best trial alone, drawn as if it were a trade-off.
    study = make_study()
    for v in [3.0, 1.0, 2.0]:
        study.tell(study.ask(), v)
    with pytest.raises(InvalidParameterError, match="single objective.*directions="):
        pareto_data(study, targets=lambda t: (t.value, t.number))
    ranked = pareto_data(
        study, targets=lambda t: (t.value, t.number), directions=["minimize", "minimize"]
    )
    assert ranked["front"]["numbers"] == [1, 0]
    assert ranked["dominated"]["numbers"] == [2]
    fig = plot_pareto_front(
        study, targets=lambda t: (t.value, t.number), directions=["minimize", "minimize"]
    )
    assert list(fig.data[1].text) == ["Trial 1", "Trial 0"]


def test_messages_read_naturally(make_study):
    # Found by a QA pass: "... Got '1 objectives' instead."
    single = make_study("single")
    with pytest.raises(InvalidParameterError) as info:
        pareto_data(single)
    assert "has 1 objective." in str(info.value) and "objectives'" not in str(info.value)
    four = make_study("four", directions=("minimize",) * 4)
    four.tell(four.ask(), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InvalidParameterError, match="has 4 objectives"):
        pareto_data(four)
    with pytest.raises(InvalidParameterError, match="must return 2 or 3 numbers .* returned 4"):
        pareto_data(four, targets=lambda t: t.values)


def test_an_infinite_value_is_ranked_then_left_out_of_the_drawing(make_study):
    # Found by a QA pass: trials with an infinite value were dropped before ranking, so the
    # trial that (0.5, -inf) dominates was drawn as the front.
    study = make_study(directions=("minimize", "minimize"))
    for v in [(1.0, 1.0), (0.5, -math.inf), (0.6, 0.5), (2.0, math.inf)]:
        study.tell(study.ask(), list(v))
    data = pareto_data(study)
    assert [t.number for t in study.best_trials] == [1]
    assert data["front"]["numbers"] == []
    assert data["dominated"]["numbers"] == [2, 0]
    assert data["not_drawn"] == {"front": [1], "dominated": [3], "infeasible": []}
    title = plot_pareto_front(study).layout.title.text
    assert "trial 1 on the front" in title and "1 dominated trial" in title
    assert (
        "dominated"
        not in plot_pareto_front(study, include_dominated_trials=False).layout.title.text
    )
    assert plot_pareto_front(make_study("other", ("minimize", "minimize"))).layout.title.text == (
        "Pareto front"
    )


def test_a_large_front_uses_the_shared_front_mask(make_study, monkeypatch):
    # Found by a QA pass: the module's own pairwise Python loop took 11 s for 5,000 trials
    # on the front; the shared front_mask is what Study.best_trials uses.
    import tunelab.visualization._pareto as module

    calls = []

    def spy(points):
        calls.append(len(points))
        return front_mask(points)

    monkeypatch.setattr(module, "front_mask", spy)
    study = tunelab.create_study(directions=["minimize", "maximize"])
    for x in np.linspace(0.0, 1.0, 3000):
        study.tell(study.ask(), [x, x])
    data = pareto_data(study)
    assert calls == [3000]
    assert len(data["front"]["numbers"]) == 3000 and data["dominated"]["numbers"] == []


def test_front_excludes_an_infeasible_dominating_trial(constrained):
    # Trial 0 dominates every other trial but breaks its constraint: a front that ranked it
    # would be that one trial, which study.best_trials rules out.
    make, tell = constrained
    study = make(directions=("minimize", "minimize"))
    for values, c in [((0.0, 0.0), 1.0), ((1.0, 3.0), 0.0), ((3.0, 1.0), -1.0), ((3.0, 3.0), 0.0)]:
        tell(study, list(values), c)
    data = pareto_data(study)
    assert data["front"]["numbers"] == [1, 2]
    assert data["front"]["numbers"] == [t.number for t in study.best_trials]
    assert data["dominated"]["numbers"] == [3]
    assert data["infeasible"] == {"numbers": [0], "values": [[0.0], [0.0]]}
    fig = plot_pareto_front(study)
    assert [tr.name for tr in fig.data] == ["Infeasible", "Dominated", "Pareto front"]
    assert fig.data[0].marker.color == "#cccccc" and list(fig.data[0].text) == ["Trial 0"]
    assert fig.layout.title.text == "Pareto front"
    assert [tr.name for tr in plot_pareto_front(study, include_dominated_trials=False).data] == [
        "Pareto front"
    ]
    ranked = pareto_data(
        study, targets=lambda t: (t.values[1], t.values[0]), directions=["minimize", "minimize"]
    )
    assert ranked["front"]["numbers"] == [2, 1] and ranked["infeasible"]["numbers"] == [0]


def test_no_feasible_trial_draws_no_front_and_says_why(constrained):
    make, tell = constrained
    study = make(directions=("minimize", "maximize"))
    tell(study, [1.0, 2.0], 0.5)
    tell(study, [2.0, math.inf], 3.0)
    assert study.best_trials == []
    data = pareto_data(study)
    assert data["front"]["numbers"] == [] and data["dominated"]["numbers"] == []
    assert data["infeasible"]["numbers"] == [0]
    assert data["not_drawn"] == {"front": [], "dominated": [], "infeasible": [1]}
    fig = plot_pareto_front(study)
    assert "No feasible trial: all 2 completed trials violate the constraints" in (
        fig.layout.title.text
    )
    assert "1 infeasible trial" in fig.layout.title.text
    assert next(tr for tr in fig.data if tr.name == "Pareto front").x == ()
    alone = make("alone", directions=("minimize", "minimize"))
    tell(alone, [1.0, 2.0], 0.5)
    assert "the only completed trial violates" in plot_pareto_front(alone).layout.title.text
