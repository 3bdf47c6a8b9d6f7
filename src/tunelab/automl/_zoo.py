"""The model zoo: every family, its conditional search space, its cheap default, and the
builder that turns one sampled configuration into a scikit-learn pipeline.

Parameter names carry their family as a prefix (``rf__max_features``) because a declarative
space gives each branch's parameters their own names.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin

from .._space import Categorical, Distribution, Float, Int
from ..exceptions import InvalidParameterError

CLASSIFICATION = "classification"
REGRESSION = "regression"

# Kernel methods grow quadratically with the rows; beyond these sizes they only eat the budget.
_SVM_MAX_ROWS = 5000
_KNN_MAX_ROWS = 50000


@dataclass(frozen=True)
class Family:
    name: str
    space: dict[str, Distribution]
    default: dict[str, Any]
    optional_module: str | None = None
    # One fold of the default configuration relative to the linear model's, measured on
    # make_classification(8000, 20) (6,400 training rows, one thread): what orders the first
    # configuration, which the budget cannot cut short before its first fold.
    cost: float = 1.0


def _families() -> list[Family]:
    # Roughly cheapest first: the order the defaults are enqueued in, after the cheapest
    # (by ``cost``) of the chosen families (see default_configurations).
    return [
        Family(
            "linear",
            {"linear__C": Float(1e-3, 1e3, log=True)},
            {"linear__C": 1.0},
        ),
        Family(
            "hgb",
            {
                "hgb__learning_rate": Float(0.01, 0.3, log=True),
                "hgb__max_leaf_nodes": Int(4, 128, log=True),
                "hgb__min_samples_leaf": Int(2, 64, log=True),
                "hgb__l2_regularization": Float(1e-6, 10.0, log=True),
                "hgb__max_features": Float(0.3, 1.0),
            },
            {
                "hgb__learning_rate": 0.1,
                "hgb__max_leaf_nodes": 31,
                "hgb__min_samples_leaf": 20,
                "hgb__l2_regularization": 1e-6,
                "hgb__max_features": 1.0,
            },
            cost=15.0,
        ),
        Family(
            "rf",
            {
                "rf__n_estimators": Int(32, 512, log=True),
                "rf__max_features": Float(0.05, 1.0),
                "rf__min_samples_leaf": Int(1, 16, log=True),
            },
            {"rf__n_estimators": 100, "rf__max_features": 0.5, "rf__min_samples_leaf": 1},
            cost=115.0,
        ),
        Family(
            "lgbm",
            {
                "lgbm__n_estimators": Int(32, 1024, log=True),
                "lgbm__learning_rate": Float(0.01, 0.3, log=True),
                "lgbm__num_leaves": Int(4, 128, log=True),
                "lgbm__min_child_samples": Int(2, 64, log=True),
                "lgbm__subsample": Float(0.5, 1.0),
                "lgbm__colsample_bytree": Float(0.3, 1.0),
                "lgbm__reg_lambda": Float(1e-6, 10.0, log=True),
            },
            {
                "lgbm__n_estimators": 100,
                "lgbm__learning_rate": 0.1,
                "lgbm__num_leaves": 31,
                "lgbm__min_child_samples": 20,
                "lgbm__subsample": 1.0,
                "lgbm__colsample_bytree": 1.0,
                "lgbm__reg_lambda": 1e-6,
            },
            optional_module="lightgbm",
            cost=8.0,
        ),
        Family(
            "et",
            {
                "et__n_estimators": Int(32, 512, log=True),
                "et__max_features": Float(0.05, 1.0),
                "et__min_samples_leaf": Int(1, 16, log=True),
            },
            {"et__n_estimators": 100, "et__max_features": 0.5, "et__min_samples_leaf": 1},
            cost=28.0,
        ),
        Family(
            "knn",
            {
                "knn__n_neighbors": Int(1, 64, log=True),
                "knn__weights": Categorical(["uniform", "distance"]),
            },
            {"knn__n_neighbors": 5, "knn__weights": "distance"},
            cost=3.0,
        ),
        Family(
            "svm",
            {
                "svm__C": Float(1e-2, 1e3, log=True),
                "svm__gamma_scale": Float(1e-2, 10.0, log=True),
                "svm__epsilon": Float(1e-3, 1.0, log=True),
            },
            {"svm__C": 1.0, "svm__gamma_scale": 1.0, "svm__epsilon": 0.1},
            cost=60.0,
        ),
        Family(
            "mlp",
            {
                "mlp__width": Int(16, 256, log=True),
                "mlp__depth": Int(1, 2),
                "mlp__alpha": Float(1e-6, 1e-1, log=True),
                "mlp__learning_rate_init": Float(1e-4, 1e-2, log=True),
            },
            {
                "mlp__width": 64,
                "mlp__depth": 1,
                "mlp__alpha": 1e-4,
                "mlp__learning_rate_init": 1e-3,
            },
            cost=30.0,
        ),
        Family(
            "xgb",
            {
                "xgb__n_estimators": Int(32, 1024, log=True),
                "xgb__learning_rate": Float(0.01, 0.3, log=True),
                "xgb__max_depth": Int(2, 10),
                "xgb__min_child_weight": Float(0.1, 20.0, log=True),
                "xgb__subsample": Float(0.5, 1.0),
                "xgb__colsample_bytree": Float(0.3, 1.0),
                "xgb__reg_lambda": Float(1e-6, 10.0, log=True),
            },
            {
                "xgb__n_estimators": 100,
                "xgb__learning_rate": 0.1,
                "xgb__max_depth": 6,
                "xgb__min_child_weight": 1.0,
                "xgb__subsample": 1.0,
                "xgb__colsample_bytree": 1.0,
                "xgb__reg_lambda": 1.0,
            },
            optional_module="xgboost",
            cost=11.0,
        ),
    ]


MODEL_NAMES = ("linear", "hgb", "rf", "lgbm", "et", "knn", "svm", "mlp", "xgb")

PREPROCESSING_DEFAULT = {
    "pre__impute": "median",
    "pre__scaler": "standard",
    "pre__encoding": "onehot",
    "pre__select": "none",
}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _check_names(value: Any, param: str, owner: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    names = list(value)
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown or not names:
        raise InvalidParameterError(
            f"The {param!r} parameter of {owner} must be a list of model names from "
            f"{list(MODEL_NAMES)} or None. Got {value!r} instead."
        )
    return names


# Models whose fit takes no sample_weight: a weighted fit cannot use them.
UNWEIGHTED_FAMILIES = frozenset({"knn"})


def choose_families(
    include: Any, exclude: Any, n_rows: int, task: str, owner: str, weighted: bool = False
) -> list[Family]:
    """The families this fit searches: ``include``/``exclude`` applied, absent optional
    packages skipped (an explicitly included absent one is an error), kernels dropped on large
    data unless asked for by name, and, for a weighted fit, models that ignore weights left out
    (named in ``include``, an error)."""
    included = _check_names(include, "include", owner)
    excluded = set(_check_names(exclude, "exclude", owner) or [])
    chosen = []
    for fam in _families():
        if included is not None and fam.name not in included:
            continue
        if fam.name in excluded:
            continue
        if fam.optional_module and not _installed(fam.optional_module):
            if included is not None:
                raise InvalidParameterError(
                    f"The 'include' parameter of {owner} names {fam.name!r}, but "
                    f"{fam.optional_module} is not installed. Install it or leave it out."
                )
            continue
        if weighted and fam.name in UNWEIGHTED_FAMILIES:
            if included is not None:
                raise InvalidParameterError(
                    f"The 'include' parameter of {owner} names {fam.name!r}, whose model takes "
                    "no sample_weight; leave it out or fit without sample_weight."
                )
            continue
        limit = {"svm": _SVM_MAX_ROWS, "knn": _KNN_MAX_ROWS}.get(fam.name)
        if limit is not None and n_rows > limit:
            if included is None:
                continue
            # Named in include, it is searched; but one fit cannot be interrupted, so a
            # kernel model's first fold alone may run far past the budget (QA: an SVM on
            # 30,000 rows).
            warnings.warn(
                f"{owner}: include names {fam.name!r}, which is left out above {limit:,} rows "
                f"because its fits grow with the square of the rows; with {n_rows:,} rows one "
                "fold may take longer than the whole time_budget, and a fold cannot be "
                "interrupted.",
                UserWarning,
                stacklevel=3,
            )
        if fam.name == "svm" and task == CLASSIFICATION:
            fam = Family(
                fam.name,
                {k: v for k, v in fam.space.items() if k != "svm__epsilon"},
                {k: v for k, v in fam.default.items() if k != "svm__epsilon"},
                cost=fam.cost,
            )
        chosen.append(fam)
    if not chosen:
        raise InvalidParameterError(
            f"The 'include' and 'exclude' parameters of {owner} leave no model to search "
            f"(include={include!r}, exclude={exclude!r})."
        )
    return chosen


def build_space(families: list[Family], has_categorical: bool) -> dict[str, Any]:
    """One conditional space over the models and the preprocessing."""
    space: dict[str, Any] = {"model": {fam.name: dict(fam.space) for fam in families}}
    space["pre__impute"] = Categorical(["median", "mean"])
    space["pre__scaler"] = Categorical(["standard", "robust", "quantile", "none"])
    if has_categorical:
        space["pre__encoding"] = Categorical(["onehot", "ordinal"])
    space["pre__select"] = {"none": None, "percentile": {"pre__select_pct": Int(20, 90, step=10)}}
    return space


def default_configurations(families: list[Family], has_categorical: bool) -> list[dict[str, Any]]:
    """The cheap, well-tried configurations enqueued first so a tiny budget still gets them.

    The cheapest family comes first, the others in ``families``' order: the first configuration
    is never skipped for the budget, so an include without the linear model started with a
    100-tree forest when that came first in the list (QA: 5-fold CV of 16.6 s in a 5 s budget).
    """
    cheapest = min(families, key=lambda fam: fam.cost, default=None)
    configs = []
    for fam in sorted(families, key=lambda fam: fam is not cheapest):
        params = {"model": fam.name, **fam.default, **PREPROCESSING_DEFAULT}
        if not has_categorical:
            params.pop("pre__encoding")
        if fam.name in ("hgb", "rf", "et", "lgbm", "xgb") and has_categorical:
            # Trees split ordinal codes as well as one-hot columns, at a fraction of the width.
            params["pre__encoding"] = "ordinal"
        configs.append(params)
    return configs


def build_pipeline(
    params: dict[str, Any],
    task: str,
    n_features: int,
    n_rows: int,
    random_state: int | None,
    n_jobs: int | None,
) -> Any:
    """A fresh, unfitted pipeline for one configuration."""
    from sklearn.pipeline import Pipeline

    from ._preprocess import ColumnTyper, make_preprocessor

    steps: list[tuple[str, Any]] = [
        ("types", ColumnTyper()),
        ("prep", make_preprocessor(params, random_state)),
    ]
    if params.get("pre__select") == "percentile":
        from sklearn.feature_selection import SelectPercentile, f_classif, f_regression

        score = f_classif if task == CLASSIFICATION else f_regression
        steps.append(("select", SelectPercentile(score, percentile=params["pre__select_pct"])))
    steps.append(("model", _model(params, task, n_features, n_rows, random_state, n_jobs)))
    return Pipeline(steps)


def fit_pipeline(pipe: Any, X: Any, y: Any, sample_weight: Any = None) -> Any:
    """Fit a built pipeline, its model (and no other step: the preprocessing and feature
    selection are unweighted) weighted by ``sample_weight`` if given.

    With scikit-learn's metadata routing on, ``model__sample_weight`` is refused and weights
    reach only the steps that request them (every pipeline failed that way): the model and the
    estimators it wraps (the SVM in its calibration, the regressor in its target scaling)
    request them, every other step declines them."""
    if sample_weight is None:
        return pipe.fit(X, y)
    from sklearn import get_config

    if not get_config().get("enable_metadata_routing", False):
        return pipe.fit(X, y, model__sample_weight=sample_weight)
    model = pipe.steps[-1][1]
    for step in pipe.steps[:-1]:
        _request_weights(step[1], False)
    _request_weights(model, True)
    return pipe.fit(X, y, sample_weight=sample_weight)


def _request_weights(estimator: Any, wanted: bool) -> None:
    import inspect

    nested = [v for v in estimator.get_params(deep=True).values() if hasattr(v, "get_params")]
    for est in [estimator, *nested]:
        fit = getattr(est, "fit", None)
        if fit is None or not hasattr(est, "set_fit_request"):
            continue
        if "sample_weight" in inspect.signature(fit).parameters:
            est.set_fit_request(sample_weight=wanted)


def _model(
    params: dict[str, Any],
    task: str,
    n_features: int,
    n_rows: int,
    random_state: int | None,
    n_jobs: int | None,
) -> Any:
    name = params["model"]
    p = {k.split("__", 1)[1]: v for k, v in params.items() if k.startswith(name + "__")}
    clf = task == CLASSIFICATION
    threads = 1 if n_jobs is None else n_jobs  # joblib's -1 means every core, as in LightGBM
    if name == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        if clf:
            return LogisticRegression(C=p["C"], max_iter=1000)
        # Ridge's alpha is the inverse of C: one range serves both tasks.
        return Ridge(alpha=1.0 / p["C"])
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor
        # Early stopping is the cheap iteration pruning: boosting stops once a validation
        # split stops improving. On tiny data the split is too small to trust.
        early = n_rows >= 400
        return cls(
            learning_rate=p["learning_rate"],
            max_leaf_nodes=p["max_leaf_nodes"],
            min_samples_leaf=p["min_samples_leaf"],
            l2_regularization=p["l2_regularization"],
            max_features=p["max_features"],
            max_iter=500 if early else 100,
            early_stopping=early,
            n_iter_no_change=15,
            random_state=random_state,
        )
    if name in ("rf", "et"):
        from sklearn import ensemble

        prefix = "RandomForest" if name == "rf" else "ExtraTrees"
        cls = getattr(ensemble, prefix + ("Classifier" if clf else "Regressor"))
        return cls(
            n_estimators=p["n_estimators"],
            max_features=p["max_features"],
            min_samples_leaf=p["min_samples_leaf"],
            n_jobs=threads,
            random_state=random_state,
        )
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsClassifier if clf else KNeighborsRegressor
        k = max(1, min(p["n_neighbors"], int(n_rows * 0.5)))
        return cls(n_neighbors=k, weights=p["weights"], n_jobs=threads)
    if name == "svm":
        from sklearn.svm import SVC, SVR

        # gamma relative to 1/n_features: scale 1 is scikit-learn's 'scale' on standardized data.
        gamma = p["gamma_scale"] / max(1, n_features)
        if clf:
            from sklearn.calibration import CalibratedClassifierCV

            # Platt scaling on internal folds: what SVC(probability=True) did before 1.9.
            svc = SVC(C=p["C"], gamma=gamma, random_state=random_state)
            return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)
        return _scaled_target(SVR(C=p["C"], gamma=gamma, epsilon=p["epsilon"]))
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPClassifier if clf else MLPRegressor
        model = cls(
            hidden_layer_sizes=(p["width"],) * p["depth"],
            alpha=p["alpha"],
            learning_rate_init=p["learning_rate_init"],
            max_iter=200,
            early_stopping=n_rows >= 400,
            random_state=random_state,
        )
        return model if clf else _scaled_target(model)
    if name == "lgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if clf else lightgbm.LGBMRegressor
        return cls(
            n_estimators=p["n_estimators"],
            learning_rate=p["learning_rate"],
            num_leaves=p["num_leaves"],
            min_child_samples=p["min_child_samples"],
            subsample=p["subsample"],
            subsample_freq=1,
            colsample_bytree=p["colsample_bytree"],
            reg_lambda=p["reg_lambda"],
            n_jobs=threads,
            random_state=random_state,
            verbose=-1,
        )
    if name == "xgb":
        import xgboost

        cls = xgboost.XGBClassifier if clf else xgboost.XGBRegressor
        model = cls(
            n_estimators=p["n_estimators"],
            learning_rate=p["learning_rate"],
            max_depth=p["max_depth"],
            min_child_weight=p["min_child_weight"],
            subsample=p["subsample"],
            colsample_bytree=p["colsample_bytree"],
            reg_lambda=p["reg_lambda"],
            tree_method="hist",
            n_jobs=threads,
            random_state=random_state,
            verbosity=0,
        )
        return LabelEncoded(model) if clf else model
    raise InvalidParameterError(f"Unknown model {name!r}.")  # pragma: no cover - space-bound


class LabelEncoded(ClassifierMixin, BaseEstimator):
    """Fits a classifier that only takes labels 0..K-1 (XGBoost) on any labels."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LabelEncoded:
        from sklearn.base import clone
        from sklearn.preprocessing import LabelEncoder

        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        self.estimator_ = clone(self.estimator).fit(
            X, encoder.transform(y), sample_weight=sample_weight
        )
        return self

    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> Any:
        import numpy as np

        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _scaled_target(model: Any) -> Any:
    # Kernel and network regressors assume a unit-scale target (epsilon, initial weights).
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())


def describe(params: dict[str, Any]) -> str:
    """A short, readable name of a configuration for the leaderboard."""
    name = params["model"]
    model = ", ".join(
        f"{k.split('__', 1)[1]}={_fmt(v)}" for k, v in params.items() if k.startswith(name + "__")
    )
    pre = [params.get("pre__impute", ""), params.get("pre__scaler", "")]
    if "pre__encoding" in params:
        pre.append(params["pre__encoding"])
    if params.get("pre__select") == "percentile":
        pre.append(f"top{params['pre__select_pct']}%")
    return f"{name}({model}) [{'/'.join(pre)}]"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
