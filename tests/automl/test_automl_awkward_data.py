"""Regressions found by the QA pass of 2026-11-29: integer column labels, metrics scored on the
internal class codes, rare classes with probability metrics, datetime columns, Ctrl-C with a
storage, and categorical levels read back as floats."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from _search_data import binary_search_data
from sklearn.metrics import f1_score, get_scorer, make_scorer
from sklearn.model_selection import KFold, StratifiedKFold

import tunelab as tl
from tunelab import Categorical, Float, InvalidParameterError, TrialState
from tunelab.automl import AutoClassifier, AutoRegressor
from tunelab.automl._preprocess import MISSING, ColumnTyper
from tunelab.automl._search import SearchData, run_search
from tunelab.automl._zoo import build_pipeline

TINY = {"include": ["linear"], "max_trials": 2, "cv": 3, "verbose": 0, "random_state": 0}


# -- 1. integer and mixed column labels --------------------------------------------------------
@pytest.mark.parametrize(
    "columns", [[3, 4, 5], [2, 0, 1], [1, "b", 7]], ids=["int", "int-perm", "mixed"]
)
def test_integer_and_mixed_column_labels_fit(columns: list) -> None:
    # Every pipeline failed with "all features must be in [0, 2]" until the budget was spent:
    # the typer reordered the columns and ColumnTransformer read integer labels as positions.
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            columns[0]: rng.choice(["a", "b", "c"], 90),
            columns[1]: rng.normal(size=90),
            columns[2]: rng.normal(size=90),
        }
    )
    y = (X[columns[1]] + (X[columns[0]] == "a") > 0.5).astype(int).to_numpy()
    pipe = build_pipeline({"model": "linear", "linear__C": 1.0}, "classification", 3, 90, 0, None)
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.8
    model = AutoClassifier(time_budget=20, **TINY).fit(X, y)
    assert model.score(X, y) > 0.8 and model.predict(X.head(3)).shape == (3,)


# -- 2. the metric is scored on the user's labels ------------------------------------------------
def _run_one(y: np.ndarray, scorer) -> tuple[SearchData, list]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(len(y), 3)), columns=list("abc"))
    X["a"] += (y == np.unique(y)[-1]) * 1.0
    classes = np.unique(y)
    codes = np.searchsorted(classes, y)
    data = SearchData(
        X=X,
        y=y,
        y_codes=codes,
        classes=classes,
        task="classification",
        scorer=scorer,
        splits=list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, codes)),
        X_holdout=None,
        n_features=3,
        random_state=0,
        n_jobs=None,
        refit_rows=len(y),
    )
    study = tl.create_study(direction="maximize", seed=0)
    study.enqueue_trial({"model": "linear", "linear__C": 1.0})
    space = {"model": Categorical(["linear"]), "linear__C": Float(1e-3, 1e3, log=True)}
    result = run_search(data, study, space, time.perf_counter() + 60, 1)
    return data, result.candidates


def test_fold_scores_use_the_real_labels_like_scikit_learn() -> None:
    # Labels 1/2 with metric "f1": the search scored f1 of label 2 (code 1) while score() and
    # scikit-learn count label 1 as positive.
    y = np.where(np.arange(150) % 5 == 0, 2, 1)
    data, (cand,) = _run_one(y, get_scorer("f1"))
    for (_, test), score in zip(data.splits, cand.fold_scores):
        pred = data.classes[cand.oof[test].argmax(axis=1)]
        assert score == pytest.approx(f1_score(y[test], pred, pos_label=1))


def test_make_scorer_with_a_string_pos_label_works() -> None:
    y = np.where(np.arange(150) % 4 == 0, "yes", "no")
    scorer = make_scorer(f1_score, pos_label="yes")
    data, (cand,) = _run_one(y, scorer)
    for (_, test), score in zip(data.splits, cand.fold_scores):
        pred = data.classes[cand.oof[test].argmax(axis=1)]
        assert score == pytest.approx(f1_score(y[test], pred, pos_label="yes"))
    X = data.X
    model = AutoClassifier(time_budget=20, metric=scorer, **TINY).fit(X, y)
    assert model.score(X, y) == pytest.approx(f1_score(y, model.predict(X), pos_label="yes"))


def test_binary_metric_without_a_positive_class_is_refused_up_front() -> None:
    # scikit-learn's "f1" scorer raises on "no"/"yes"; refuse before the search and say how.
    X = pd.DataFrame({"a": np.arange(40.0)})
    y = np.where(np.arange(40) % 2, "yes", "no")
    with pytest.raises(InvalidParameterError, match=r"make_scorer\(f1_score, pos_label='yes'\)"):
        AutoClassifier(time_budget=20, metric="f1", **TINY).fit(X, y)


def test_a_plain_metric_function_is_refused_with_make_scorer_named() -> None:
    X = pd.DataFrame({"a": np.arange(40.0)})
    y = np.arange(40) % 2
    with pytest.raises(InvalidParameterError, match=r"make_scorer\(f1_score\)"):
        AutoClassifier(time_budget=20, metric=f1_score, **TINY).fit(X, y)


# -- 3. rare classes with metrics that need every class in every fold ----------------------------
def _rare(n: int, positives: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=list("abc"))
    y = np.zeros(n, int)
    y[:positives] = 1
    X.loc[: positives - 1, "a"] += 3
    return X, y


@pytest.mark.parametrize("metric", ["roc_auc", "neg_log_loss"])
def test_rare_class_gets_folds_that_all_hold_it(metric: str) -> None:
    # 300 rows, 3 positives: 5 folds left two without a positive and every pipeline failed.
    X, y = _rare(300, 3)
    model = AutoClassifier(time_budget=20, metric=metric, **{**TINY, "cv": 5}).fit(X, y)
    assert np.isfinite(model.cv_score_)


def test_rare_class_drops_a_holdout_it_cannot_score() -> None:
    X, y = _rare(600, 3)
    model = AutoClassifier(time_budget=20, metric="roc_auc", **TINY).fit(X, y)
    assert model.generalization_["holdout_score"] is None
    assert "too rare" in model.generalization_["method"]


def test_a_splitter_whose_fold_lacks_a_class_is_refused_before_the_search() -> None:
    X, y = _rare(300, 6)
    y[-3:], y[3:6] = 1, 0  # positives in the first and the last KFold fold only
    began = time.perf_counter()
    with pytest.raises(ValueError, match=r"cannot score the metric 'roc_auc' on CV fold 1"):
        AutoClassifier(time_budget=60, metric="roc_auc", **{**TINY, "cv": KFold(3)}).fit(X, y)
    assert time.perf_counter() - began < 10


def test_cli_turns_all_pipelines_failed_into_one_line(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from tunelab.automl._cli import automl_command
    from tunelab.automl._search import SearchFailedError

    def fails(self, X, y, progress=None):
        raise SearchFailedError("All 13 evaluated pipelines failed (13x ValueError: boom).")

    monkeypatch.setattr(AutoClassifier, "fit", fails)
    path = tmp_path / "d.csv"
    pd.DataFrame({"x": np.arange(20.0), "t": np.arange(20) % 2}).to_csv(path, index=False)
    out = tmp_path / "m.joblib"
    result = CliRunner().invoke(automl_command, [str(path), "--target", "t", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip() == "error: All 13 evaluated pipelines failed (13x ValueError: boom)."
    )


# -- 4. datetime columns -------------------------------------------------------------------------
def test_datetimes_become_seconds_whatever_their_unit_and_nat_is_missing() -> None:
    stamps = pd.to_datetime(["2024-01-01", "2024-04-10", "2024-07-01"])
    typer = ColumnTyper().fit(pd.DataFrame({"d": stamps.astype("datetime64[ns]")}))
    assert typer.numeric_ == ["d"] and typer.datetime_ == ["d"]
    expected = typer.transform(pd.DataFrame({"d": stamps.astype("datetime64[ns]")}))["d"]
    assert expected.iloc[0] == pd.Timestamp("2024-01-01").timestamp()
    for unit in ("us", "ms", "s"):
        other = pd.DataFrame({"d": stamps.astype(f"datetime64[{unit}]")})
        assert typer.transform(other)["d"].tolist() == expected.tolist()
    gap = typer.transform(pd.DataFrame({"d": pd.to_datetime(["2024-01-01", None])}))["d"]
    assert gap.iloc[0] == expected.iloc[0] and np.isnan(gap.iloc[1])
    aware = pd.DataFrame({"d": stamps.tz_localize("UTC").tz_convert("Europe/Paris")})
    assert typer.transform(aware)["d"].tolist() == expected.tolist()
    delta = ColumnTyper().fit(pd.DataFrame({"t": pd.to_timedelta([1, None], unit="h")}))
    out = delta.transform(pd.DataFrame({"t": pd.to_timedelta([1, None], unit="h")}))["t"]
    assert out.iloc[0] == 3600.0 and np.isnan(out.iloc[1])


def test_datetime_predictions_do_not_depend_on_the_unit() -> None:
    rng = np.random.default_rng(0)
    days = rng.integers(0, 365, 120)
    d = (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")
    model = AutoRegressor(time_budget=20, **TINY).fit(pd.DataFrame({"d": d}), days.astype(float))
    new = pd.to_datetime(["2024-04-10", "2024-07-01"])
    ns = model.predict(pd.DataFrame({"d": new.astype("datetime64[ns]")}))
    us = model.predict(pd.DataFrame({"d": new.astype("datetime64[us]")}))
    assert np.allclose(ns, us) and np.allclose(ns, [100, 182], atol=2)
    with_nat = model.predict(pd.DataFrame({"d": pd.to_datetime(["2024-07-01", None])}))
    assert 0 <= with_nat[1] <= 365  # imputed, not -9.2e18 nanoseconds


def test_booleans_and_pandas_categoricals_are_categorical() -> None:
    frame = pd.DataFrame(
        {
            "flag": pd.Series([True, np.nan, False, True], dtype=object),
            "codes": pd.Categorical([10, 20, np.nan, 10]),
            "x": [1.0, 2.0, 3.0, 4.0],
        }
    )
    typer = ColumnTyper().fit(frame)
    assert typer.categorical_ == ["flag", "codes"] and typer.numeric_ == ["x"]
    out = typer.transform(frame)
    assert out["codes"].tolist() == ["10", "20", MISSING, "10"]
    assert out["flag"].tolist() == ["True", MISSING, "False", "True"]


# -- 5. Ctrl-C during a search with a storage ---------------------------------------------------
def test_ctrl_c_inside_a_fold_settles_the_running_trial(monkeypatch) -> None:
    from tunelab.automl import _search

    calls = []

    def fit(pipe, X, y, sample_weight=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return pipe.fit(X, y)

    monkeypatch.setattr(_search, "fit_pipeline", fit)
    y = np.arange(60) % 2
    data, _ = _search_data_for(y)
    study = tl.create_study(direction="maximize", seed=0)
    space = {"model": Categorical(["linear"]), "linear__C": Float(1e-3, 1e3, log=True)}
    with pytest.raises(KeyboardInterrupt):
        run_search(data, study, space, time.perf_counter() + 60, 3)
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL and "interrupted" in (trial.fail_reason or "")


def _search_data_for(y: np.ndarray) -> tuple[SearchData, None]:
    X = pd.DataFrame({"a": np.random.default_rng(0).normal(size=len(y)) + y})
    return binary_search_data(X, y, n_splits=3), None


# -- 6. categorical levels that pandas reads back as floats --------------------------------------
def test_whole_floats_in_a_categorical_column_keep_their_training_levels() -> None:
    # Training "1", "2", "3", "A"; a new CSV without "A" is read as floats: 2.0 became "2.0",
    # an unseen level, and predictions changed without a word.
    typer = ColumnTyper().fit(pd.DataFrame({"grade": ["1", "2", "3", "A"]}))
    out = typer.transform(pd.DataFrame({"grade": [np.nan, 1.0, 2.0, 2.5]}))
    assert out["grade"].tolist() == [MISSING, "1", "2", "2.5"]
