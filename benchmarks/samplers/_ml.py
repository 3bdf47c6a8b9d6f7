"""Bayesmark-style tasks: tune a scikit-learn model on a bundled dataset, 3-fold CV.

Classification minimizes the CV error (1 - accuracy); regression (diabetes, target
standardized) minimizes the CV mean squared error. Features are standardized once up front: the
same for every optimizer, and it spares a pipeline per evaluation. Folds and model seeds are
fixed, so every objective is deterministic.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import numpy as np

from tunelab import Categorical, Distribution, Float, Int

from ._tasks import Task

CLASSIFICATION = ("breast_cancer", "digits", "wine", "iris")
REGRESSION = ("diabetes",)


@cache
def load(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    from sklearn import datasets

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if dataset in REGRESSION:
        y = (y - y.mean()) / y.std()
    return X, y


def _spaces(regression: bool) -> dict[str, dict[str, Distribution]]:
    criterion = ["squared_error", "absolute_error"] if regression else ["gini", "entropy"]
    spaces: dict[str, dict[str, Distribution]] = {
        "tree": {
            "max_depth": Int(1, 20),
            "min_samples_split": Int(2, 64, log=True),
            "min_samples_leaf": Int(1, 32, log=True),
            "max_features": Float(0.1, 1.0),
            "criterion": Categorical(criterion),
        },
        "forest": {
            "n_estimators": Int(5, 50, log=True),
            "max_depth": Int(2, 20),
            "max_features": Float(0.1, 1.0),
            "min_samples_leaf": Int(1, 20, log=True),
            "bootstrap": Categorical([True, False]),
        },
        "svm": {
            "C": Float(1e-2, 1e3, log=True),
            "gamma": Float(1e-5, 1e1, log=True),
        },
        "knn": {
            "n_neighbors": Int(1, 50),
            "weights": Categorical(["uniform", "distance"]),
            "p": Int(1, 2),
        },
        "mlp": {
            "hidden": Int(16, 256, log=True),
            "alpha": Float(1e-5, 1e1, log=True),
            "learning_rate_init": Float(1e-4, 1e-1, log=True),
            "batch_size": Int(16, 256, log=True),
        },
        "ada": {
            "n_estimators": Int(10, 100, log=True),
            "learning_rate": Float(1e-2, 2.0, log=True),
        },
        "hgb": {
            "learning_rate": Float(1e-3, 1.0, log=True),
            "max_leaf_nodes": Int(4, 64, log=True),
            "min_samples_leaf": Int(2, 64, log=True),
            "l2_regularization": Float(1e-6, 1e1, log=True),
            "max_iter": Int(10, 100, log=True),
        },
    }
    if regression:
        spaces["svm"]["epsilon"] = Float(1e-3, 1.0, log=True)
        spaces["ridge"] = {"alpha": Float(1e-6, 1e3, log=True)}
        spaces["lasso"] = {"alpha": Float(1e-6, 1e1, log=True)}
    else:
        spaces["logreg"] = {"C": Float(1e-4, 1e3, log=True)}
    return spaces


def _make_model(model: str, regression: bool, p: dict[str, Any]) -> Any:
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree

    if model == "tree":
        cls = tree.DecisionTreeRegressor if regression else tree.DecisionTreeClassifier
        return cls(random_state=0, **p)
    if model == "forest":
        cls = ensemble.RandomForestRegressor if regression else ensemble.RandomForestClassifier
        return cls(random_state=0, n_jobs=1, **p)
    if model == "svm":
        return svm.SVR(**p) if regression else svm.SVC(**p)
    if model == "knn":
        cls = neighbors.KNeighborsRegressor if regression else neighbors.KNeighborsClassifier
        return cls(**p)
    if model == "mlp":
        cls = neural_network.MLPRegressor if regression else neural_network.MLPClassifier
        kwargs = {k: v for k, v in p.items() if k != "hidden"}
        return cls(hidden_layer_sizes=(p["hidden"],), max_iter=60, random_state=0, **kwargs)
    if model == "ada":
        cls = ensemble.AdaBoostRegressor if regression else ensemble.AdaBoostClassifier
        return cls(random_state=0, **p)
    if model == "hgb":
        if regression:
            return ensemble.HistGradientBoostingRegressor(random_state=0, **p)
        return ensemble.HistGradientBoostingClassifier(random_state=0, **p)
    if model == "ridge":
        return linear_model.Ridge(**p)
    if model == "lasso":
        return linear_model.Lasso(max_iter=5000, **p)
    if model == "logreg":
        return linear_model.LogisticRegression(max_iter=500, **p)
    raise ValueError(f"unknown model {model!r}")


class CVObjective:
    """3-fold CV loss of one model on one dataset (a class, so it pickles for --jobs)."""

    def __init__(self, model: str, dataset: str) -> None:
        self.model, self.dataset = model, dataset
        self.regression = dataset in REGRESSION

    def __call__(self, params: dict[str, Any]) -> float:
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

        X, y = load(self.dataset)
        splitter = KFold if self.regression else StratifiedKFold
        cv = splitter(n_splits=3, shuffle=True, random_state=0)
        scoring = "neg_mean_squared_error" if self.regression else "accuracy"
        model = _make_model(self.model, self.regression, dict(params))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings are part of the landscape
            scores = cross_val_score(model, X, y, cv=cv, scoring=scoring, error_score=np.nan)
        mean = float(np.mean(scores))
        if not np.isfinite(mean):
            return 1.0 if not self.regression else 10.0  # a failed fit scores like a bad model
        return -mean if self.regression else 1.0 - mean


def ml_tasks() -> list[Task]:
    tasks = []
    for dataset in CLASSIFICATION + REGRESSION:
        regression = dataset in REGRESSION
        metric = "MSE (standardized y)" if regression else "1 - accuracy"
        for model, space in _spaces(regression).items():
            tasks.append(
                Task(
                    f"ml-{model}-{dataset}", "ml", space, CVObjective(model, dataset), None, metric
                )
            )
    return tasks
