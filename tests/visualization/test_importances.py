from __future__ import annotations

from tunelab import Float
from tunelab.importance import CorrelationRatioImportanceEvaluator
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
