from __future__ import annotations

from tunelab import TrialState
from tunelab.visualization import study_html


def test_html_summarizes_and_escapes(make_study, told):
    study = make_study("<b>risky</b>")
    told(study, [2.0, 0.5])
    study.tell(study.ask(), state=TrialState.FAIL)
    text = study_html(study)
    assert "&lt;b&gt;risky&lt;/b&gt;" in text and "<b>risky" not in text
    assert "2 complete" in text and "1 fail" in text
    assert "0.5 (trial 1)" in text
    assert "<script" not in text


def test_html_multi_objective_and_empty(make_study, told):
    study = make_study(directions=("minimize", "maximize"))
    assert "none" in study_html(study)
    study.tell(study.ask(), [1.0, 1.0])
    assert "Pareto front" in study_html(study)


def test_html_says_when_no_trial_is_feasible(constrained):
    make, tell = constrained
    study = make()
    tell(study, 1.0, 0.5)
    text = study_html(study)
    assert "Feasible" in text and "0 of 1 completed trials (no best until" in text
    assert "Best value" not in text
    tell(study, 3.0, 0.0)
    text = study_html(study)
    assert "1 of 2 completed trials</td>" in text and "3 (trial 1)" in text
    assert "Feasible" not in study_html(make("free", directions=("minimize", "minimize")))
