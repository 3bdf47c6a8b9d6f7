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
    names = [f.name for f in choose_families(["rf", "svm"], None, 10**6, CLASSIFICATION, "t")]
    assert names == ["rf", "svm"]  # named explicitly, so kept on large data
    names = [f.name for f in choose_families(None, ["rf"], 10**6, CLASSIFICATION, "t")]
    assert "rf" not in names and "svm" not in names and "linear" in names
    with pytest.raises(InvalidParameterError, match="'include' parameter of t must be a list"):
        choose_families(["forest"], None, 10, CLASSIFICATION, "t")
    with pytest.raises(InvalidParameterError, match="leave no model"):
        choose_families(["rf"], ["rf"], 10, CLASSIFICATION, "t")


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
