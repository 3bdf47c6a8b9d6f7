from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tunelab import InvalidParameterError
from tunelab._space import validate_space
from tunelab.automl._zoo import (
    CLASSIFICATION,
    REGRESSION,
    build_pipeline,
    build_space,
    choose_families,
    default_configurations,
    describe,
)


def _contains(space: dict, params: dict) -> bool:
    """Every value of ``params`` lies in the (conditional) ``space``, and nothing is extra."""
    seen = set()

    def walk(node: dict) -> bool:
        for name, dist in node.items():
            if name not in params:
                return False
            seen.add(name)
            if isinstance(dist, dict):
                if params[name] not in dist:
                    return False
                branch = dist[params[name]]
                if branch and not walk(branch):
                    return False
            elif not dist.contains(params[name]):
                return False
        return True

    return walk(space) and seen == set(params)


@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION])
@pytest.mark.parametrize("has_cat", [True, False])
def test_default_configurations_lie_in_the_space(task: str, has_cat: bool) -> None:
    families = choose_families(None, None, 200, task, "test")
    space = build_space(families, has_cat)
    validate_space(space)
    configs = default_configurations(families, has_cat)
    assert [c["model"] for c in configs] == [f.name for f in families]
    for params in configs:
        assert _contains(space, params), params


def test_include_exclude_and_kernel_cutoff() -> None:
    with pytest.warns(UserWarning, match="include names 'svm', which is left out above 5,000"):
        names = [f.name for f in choose_families(["rf", "svm"], None, 10**6, CLASSIFICATION, "t")]
    assert names == ["rf", "svm"]  # named explicitly, so kept on large data
    names = [f.name for f in choose_families(None, ["rf"], 10**6, CLASSIFICATION, "t")]
    assert "rf" not in names and "svm" not in names and "linear" in names
    with pytest.raises(InvalidParameterError, match="'include' parameter of t must be a list"):
        choose_families(["forest"], None, 10, CLASSIFICATION, "t")
    with pytest.raises(InvalidParameterError, match="leave no model"):
        choose_families(["rf"], ["rf"], 10, CLASSIFICATION, "t")


def test_a_kernel_model_named_in_include_on_large_data_warns_about_the_budget() -> None:
    # Found by a QA pass: include=['svm'] searched an SVM on 30,000 rows without a word, and
    # its first fold alone outlasted the budget.
    with pytest.warns(UserWarning, match=r"'svm'.*6,000 rows one fold may take longer"):
        choose_families(["svm"], None, 6000, CLASSIFICATION, "t")
    with pytest.warns(UserWarning, match=r"'knn'.*50,000 rows"):
        choose_families(["knn", "linear"], None, 60000, REGRESSION, "t")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        choose_families(["svm", "knn"], None, 5000, CLASSIFICATION, "t")


def test_the_cheapest_included_family_comes_first() -> None:
    # Found by a QA pass: with include=['rf', ...] the forest, the dearest default, came first,
    # and the first configuration is the one the budget cannot skip.
    families = choose_families(["rf", "et"], None, 200, CLASSIFICATION, "t")
    assert [c["model"] for c in default_configurations(families, False)] == ["et", "rf"]
    families = choose_families(["rf", "svm", "mlp"], None, 200, CLASSIFICATION, "t")
    assert default_configurations(families, False)[0]["model"] == "mlp"
    # Without an include the linear model stays first and the order is unchanged.
    families = choose_families(None, None, 200, CLASSIFICATION, "t")
    assert [c["model"] for c in default_configurations(families, True)] == [
        f.name for f in families
    ]


def test_svm_has_epsilon_only_for_regression() -> None:
    by_task = {
        task: next(f for f in choose_families(["svm"], None, 10, task, "t"))
        for task in (CLASSIFICATION, REGRESSION)
    }
    assert "svm__epsilon" not in by_task[CLASSIFICATION].space
    assert "svm__epsilon" in by_task[REGRESSION].space


@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION])
def test_every_default_pipeline_fits_mixed_data(task: str) -> None:
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "c": rng.choice(["x", "y", None], size=n),
        }
    )
    y = (X["a"] > 0).astype(int).to_numpy() if task == CLASSIFICATION else X["a"].to_numpy() * 3
    families = choose_families(None, None, n, task, "t")
    for params in default_configurations(families, has_categorical=True):
        params = dict(params, pre__select="percentile", pre__select_pct=50)
        pipe = build_pipeline(params, task, 3, n, 0, None).fit(X, y)
        pred = pipe.predict(X.iloc[:5])
        assert pred.shape == (5,), params["model"]
        assert params["model"] in describe(params)
