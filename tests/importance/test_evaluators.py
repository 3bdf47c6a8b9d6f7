from __future__ import annotations

import math

import pytest

from tunelab import Float, Int
from tunelab.exceptions import InvalidParameterError
from tunelab.importance import (
    CorrelationRatioImportanceEvaluator,
    FanovaImportanceEvaluator,
    get_param_importances,
)

EVALUATORS = [
    FanovaImportanceEvaluator(n_trees=24, seed=0),
    CorrelationRatioImportanceEvaluator(),
]
UNIT = {"a": Float(-1, 1), "b": Float(-1, 1), "c": Float(-1, 1)}


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=lambda e: type(e).__name__)
def test_dominant_small_and_useless(study_of, evaluator):
    # Variance shares: a: 25*Var(a^2)=2.22, b: Var(b)/3... -> a ~0.87, b ~0.13, c 0.
    study = study_of("dominant", UNIT, lambda p: 5 * p["a"] ** 2 + p["b"], n=200)
    shares = get_param_importances(study, evaluator)
    assert list(shares) == ["a", "b", "c"]
    assert math.isclose(sum(shares.values()), 1.0)
    assert shares["a"] > 0.7
    assert 0.04 < shares["b"] < 0.3
    assert shares["c"] < 0.05


def test_fanova_credits_both_sides_of_a_pure_interaction(study_of):
    # a*b has no main effect at all: only the interaction term, shared between a and b.
    study = study_of("interaction", UNIT, lambda p: p["a"] * p["b"], n=250)
    shares = get_param_importances(study, FanovaImportanceEvaluator(n_trees=24, seed=0))
    assert shares["c"] < 0.1
    assert shares["a"] > 0.3 and shares["b"] > 0.3
    main_only = get_param_importances(
        study, FanovaImportanceEvaluator(n_trees=24, seed=0, interactions=False)
    )
    assert main_only["c"] > shares["c"]  # without interactions the signal is mostly lost


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=lambda e: type(e).__name__)
def test_categorical_log_and_conditional(study_of, evaluator):
    space = {
        "lr": Float(1e-5, 1.0, log=True),
        "noise_lr": Float(1e-5, 1.0, log=True),
        "layers": Int(1, 64, log=True),
        "model": {"linear": {"alpha": Float(0, 1)}, "tree": {"depth": Int(1, 10)}},
    }

    def objective(p):
        # Uniform in log space, log10(lr) spans 5 units; "model" shifts by 3; depth does nothing.
        base = math.log10(p["lr"]) + (3.0 if p["model"] == "tree" else 0.0)
        return base + (2 * p["alpha"] if "alpha" in p else 0.0)

    study = study_of("conditional", space, objective, n=250)
    shares = get_param_importances(study, evaluator)
    assert set(shares) == {"lr", "noise_lr", "layers", "model", "alpha", "depth"}
    assert list(shares)[:2] == ["lr", "model"]
    for useless in ("noise_lr", "layers", "depth"):
        assert shares[useless] < 0.05, (useless, shares)
    assert shares["alpha"] > max(shares["noise_lr"], shares["depth"])


def test_params_and_target_select_what_is_explained(study_of):
    study = study_of(
        "two", UNIT, lambda p: (p["a"], p["c"]), n=80, directions=("minimize", "maximize")
    )
    with pytest.raises(InvalidParameterError, match="'target' parameter"):
        get_param_importances(study)
    fast = CorrelationRatioImportanceEvaluator()
    shares = get_param_importances(study, fast, params=["c", "b"], target=lambda t: t.values[1])
    assert list(shares) == ["c", "b"]
    with pytest.raises(InvalidParameterError, match="'params' parameter.*Unknown: \\['zzz'\\]"):
        get_param_importances(study, fast, params=["zzz"], target=lambda t: t.values[0])


def test_constant_target_gives_equal_shares_and_says_they_rank_nothing(study_of):
    study = study_of("constant", UNIT, lambda p: 1.0, n=20)
    for evaluator in EVALUATORS:
        with pytest.warns(UserWarning, match="equal shares, not a ranking"):
            shares = get_param_importances(study, evaluator)
        assert all(math.isclose(v, 1 / 3) for v in shares.values())


def test_too_few_trials_and_bad_arguments(study_of):
    study = study_of("one", UNIT, lambda p: p["a"], n=1)
    with pytest.raises(InvalidParameterError, match="at least 2 completed trials"):
        get_param_importances(study)
    with pytest.raises(InvalidParameterError, match="'evaluator' parameter"):
        get_param_importances(study, evaluator="fanova")
    with pytest.raises(InvalidParameterError, match="'n_trees' parameter"):
        FanovaImportanceEvaluator(n_trees=0)
    with pytest.raises(InvalidParameterError, match="'n_bins' parameter"):
        CorrelationRatioImportanceEvaluator(n_bins=1)


def test_infinite_values_are_left_out(study_of):
    study = study_of("inf", UNIT, lambda p: math.inf if p["b"] > 0.9 else p["a"], n=60)
    shares = get_param_importances(study, CorrelationRatioImportanceEvaluator())
    assert list(shares)[0] == "a"


@pytest.mark.parametrize("scale", [1e-9, 1e-12, 1e300])
def test_importance_does_not_depend_on_the_objectives_scale(scale):
    # Found by a QA pass: values around 1e-8 read as a constant objective (equal shares and a
    # warning), and values around 1e300 overflowed.
    import warnings

    import tunelab as tl
    from tunelab.importance import get_param_importances

    study = tl.create_study(sampler=tl.samplers.RandomSampler(seed=0))
    study.optimize(
        lambda t: (
            scale * (t.suggest_float("x", -1, 1) ** 2 + 0.1 * t.suggest_float("y", -1, 1) ** 2)
        ),
        n_trials=40,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shares = get_param_importances(study)
    assert shares["x"] > 0.9
