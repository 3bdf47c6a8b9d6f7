from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tunelab import Categorical, Float, Int, InvalidParameterError
from tunelab.sklearn._space import check_param_names, convert_space


def test_lists_and_tunelab_distributions():
    conv = convert_space({"C": [0.1, 1, 10], "gamma": Float(1e-3, 1.0, log=True)})
    assert conv.space["C"] == Categorical([0.1, 1, 10])
    assert conv.space["gamma"] == Float(1e-3, 1.0, log=True)
    assert not conv.finite


def test_scipy_distributions_map_to_tunelab():
    conv = convert_space(
        {
            "a": stats.loguniform(1e-3, 1e3),
            "b": stats.uniform(2, 3),
            "c": stats.randint(1, 10),
        }
    )
    assert conv.space["a"] == Float(1e-3, 1e3, log=True)
    assert conv.space["b"] == Float(2.0, 5.0)
    assert conv.space["c"] == Int(1, 9)


def test_other_bounded_scipy_distribution_uses_its_quantiles():
    conv = convert_space({"p": stats.beta(2, 5)})
    assert conv.space["p"] == Float(0.0, 1.0)
    assert conv.decode({"p": 0.5})["p"] == pytest.approx(stats.beta(2, 5).median())


def test_unbounded_scipy_distribution_is_rejected():
    with pytest.raises(InvalidParameterError, match=r"'x'.*unbounded support"):
        convert_space({"x": stats.norm()})


def test_scipy_distribution_with_reversed_bounds_is_named_as_such():
    with pytest.raises(InvalidParameterError, match=r"'C'.*invalid arguments \(10, 1\)"):
        convert_space({"C": stats.loguniform(10, 1)})


def test_objects_and_numpy_scalars_decode_to_the_originals():
    svc, lr = SVC(), LogisticRegression()
    conv = convert_space({"clf": [svc, lr], "n": np.array([1, 2]), "shape": [(10,), (5, 5)]})
    point = {name: dist.choices[1] for name, dist in conv.space.items()}
    decoded = conv.decode(point)
    assert decoded["clf"] is lr
    assert decoded["n"] == 2 and decoded["shape"] == (5, 5)


def test_conditional_dict_and_decode():
    conv = convert_space({"kernel": {"rbf": {"gamma": [0.1, 1.0]}, "linear": {}}, "C": [1, 2]})
    points = conv.enumerate()
    decoded = [conv.decode(p) for p in points]
    assert len(decoded) == 6
    assert {"kernel": "linear", "C": 1} in decoded
    assert {"kernel": "rbf", "gamma": 0.1, "C": 2} in decoded


def test_list_of_grids_enumerates_like_parameter_grid():
    grids = [{"kernel": ["linear"], "C": [1, 10]}, {"kernel": ["rbf"], "C": [1], "gamma": [0.1, 1]}]
    conv = convert_space(grids)
    decoded = [conv.decode(p) for p in conv.enumerate()]
    assert decoded == list(ParameterGrid(grids))


@pytest.mark.parametrize(
    ("space", "match"),
    [
        ({}, r"'param_space' parameter of SearchCV must name at least one parameter"),
        ({"C": []}, r"Parameter 'C' of param_space has an empty list"),
        ({"C": "abc"}, r"Parameter 'C' of param_space: expected a list of values"),
        ({"kernel": {}}, r"Parameter 'kernel' of param_space: a conditional dict"),
        ([], r"non-empty dict or a list of non-empty dicts"),
        (42, r"'param_space' parameter of SearchCV must be a dict"),
    ],
)
def test_bad_spaces(space, match):
    with pytest.raises(InvalidParameterError, match=match):
        convert_space(space)


def test_unknown_parameter_names_the_parameter_and_lists_valid_ones():
    with pytest.raises(
        InvalidParameterError, match=r"'Cc' .* SVC\. Did you mean 'C'.*Valid parameters: C, "
    ):
        check_param_names(SVC(), convert_space({"Cc": [1, 2]}))


def test_pipeline_names_and_searched_steps_are_accepted():
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    check_param_names(pipe, convert_space({"clf__C": [1, 2]}))
    # `clf__max_iter` belongs to the candidate step, not to the SVC in the pipeline.
    check_param_names(pipe, convert_space({"clf": [LogisticRegression()], "clf__max_iter": [50]}))
    with pytest.raises(InvalidParameterError, match=r"'clf__CC' .*Did you mean 'clf__C'"):
        check_param_names(pipe, convert_space({"clf__CC": [1]}))
