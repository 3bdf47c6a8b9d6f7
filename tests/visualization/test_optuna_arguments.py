"""Optuna programs call the plots with Optuna's arguments: every one of them is accepted."""

from __future__ import annotations

import inspect

import pytest

from tunelab import Float
from tunelab import visualization as V
from tunelab.importance import CorrelationRatioImportanceEvaluator

PLOTS = [
    "plot_optimization_history",
    "plot_param_importances",
    "plot_parallel_coordinate",
    "plot_contour",
    "plot_slice",
    "plot_edf",
    "plot_intermediate_values",
    "plot_timeline",
    "plot_pareto_front",
]
# Left out on purpose: plot_pareto_front reads feasibility from the stored constraint values.
NOT_TAKEN = {"plot_pareto_front": {"constraints_func"}}


@pytest.mark.parametrize("name", PLOTS)
def test_every_optuna_argument_is_accepted(name):
    optuna_visualization = pytest.importorskip("optuna.visualization")
    theirs = set(inspect.signature(getattr(optuna_visualization, name)).parameters)
    ours = set(inspect.signature(getattr(V, name)).parameters)
    assert theirs - ours == NOT_TAKEN.get(name, set())


@pytest.mark.parametrize(
    "plot",
    [
        V.plot_optimization_history,
        V.plot_edf,
        V.plot_slice,
        V.plot_parallel_coordinate,
        V.plot_contour,
        V.plot_param_importances,
    ],
)
def test_target_name_on_every_plot_with_a_target(make_study, plot):
    study = make_study(directions=("minimize", "maximize"))
    space = {"a": Float(0, 1), "b": Float(0, 1)}
    for _ in range(12):
        t = study.ask(space)
        study.tell(t, [t.params["a"], t.params["a"] + t.params["b"]])
    extra = {"evaluator": CorrelationRatioImportanceEvaluator()}
    kwargs = extra if plot is V.plot_param_importances else {}
    fig = plot(study, target=lambda t: t.values[1], target_name="total", **kwargs)
    assert "total" in fig.to_json()
