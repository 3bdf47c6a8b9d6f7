from __future__ import annotations

from sklearn.linear_model import Ridge
from sklearn.metrics import get_scorer, make_scorer, mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tunelab.sklearn._scoring import metric_name


def my_score(estimator, X, y):
    return 0.0


def test_a_metric_is_named_the_same_however_it_is_spelled():
    svc = make_pipeline(StandardScaler(), SVC())
    assert metric_name("roc_auc", True, svc) == "roc_auc"
    assert metric_name(get_scorer("roc_auc"), True, svc) == "roc_auc"
    assert metric_name(None, True, svc) == "accuracy"
    assert metric_name(None, True, Ridge()) == "r2"
    made = make_scorer(mean_absolute_error, greater_is_better=False)
    assert metric_name(made, True, Ridge()) == "neg_mean_absolute_error"


def test_functions_are_named_by_module_and_name_not_by_address():
    assert metric_name(my_score, True, SVC()) == f"{__name__}.my_score"
    # A callable returning a dict is scored on the key refit names.
    assert metric_name(my_score, "f1", SVC()) == "f1"


def test_several_metrics_give_the_refit_one_or_else_the_first():
    assert metric_name(["accuracy", "f1_macro"], "f1_macro", SVC()) == "f1_macro"
    assert metric_name(["accuracy", "f1_macro"], False, SVC()) == "accuracy"
    scoring = {"acc": "accuracy", "auc": get_scorer("roc_auc")}
    assert metric_name(scoring, "auc", SVC()) == "roc_auc"
    assert metric_name(scoring, False, SVC()) == "accuracy"
