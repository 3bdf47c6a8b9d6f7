"""The pruners documented as Optuna's make Optuna's decisions on the same report sequences."""

from __future__ import annotations

import inspect
import math
import random
import warnings

import pytest

import tunelab as tl
from tunelab import pruners as tp

optuna = pytest.importorskip("optuna", reason="the parity tests compare with Optuna's pruners")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _curves(seed: int, n_trials: int, n_steps: int, direction: str) -> list[list[float]]:
    """Noisy saturating learning curves, rising (maximize) or falling (minimize)."""
    rng = random.Random(seed)
    curves = []
    for _ in range(n_trials):
        q, r = rng.uniform(0.3, 1.0), rng.uniform(0.05, 0.5)
        curve = [q * (1 - math.exp(-r * (s + 1))) + rng.gauss(0, 0.05) for s in range(n_steps)]
        curves.append(curve if direction == "maximize" else [1 - v for v in curve])
    return curves


def _replay(lib: str, pruner, curves, direction: str) -> list[int | None]:
    """Run the curves one trial after another, stopping each at its first prune; the step each
    trial was pruned at (None: ran to the end)."""
    mod = tl if lib == "tunelab" else optuna
    pruned_state = tl.TrialState.PRUNED if lib == "tunelab" else optuna.trial.TrialState.PRUNED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning
        study = mod.create_study(direction=direction, pruner=pruner)
        out = []
        for curve in curves:
            trial = study.ask()
            pruned = None
            for step, value in enumerate(curve):
                trial.report(value, step)
                if trial.should_prune():
                    pruned = step
                    break
            if pruned is None:
                study.tell(trial, curve[-1])
            else:
                study.tell(trial, state=pruned_state)
            out.append(pruned)
    return out


def _decisions(lib: str, pruner, curve, direction: str) -> list[bool]:
    """should_prune after every report of one trial that keeps reporting (for pruners that
    look at the trial alone)."""
    mod = tl if lib == "tunelab" else optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = mod.create_study(direction=direction, pruner=pruner)
        trial = study.ask()
        answers = []
        for step, value in enumerate(curve):
            trial.report(value, step)
            answers.append(bool(trial.should_prune()))
    return answers


# -- defaults ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "SuccessiveHalvingPruner",
        "HyperbandPruner",
        "PatientPruner",
        "WilcoxonPruner",
        "MedianPruner",
        "PercentilePruner",
        "ThresholdPruner",
    ],
)
def test_default_arguments_are_optunas(name):
    ours = inspect.signature(getattr(tp, name)).parameters
    theirs = inspect.signature(getattr(optuna.pruners, name)).parameters
    for param, spec in theirs.items():
        assert param in ours, f"{name} lacks Optuna's {param!r}"
        assert ours[param].default == spec.default, f"{name}({param}=...) default differs"


# -- SuccessiveHalving / Hyperband with default arguments -----------------------------------------
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_successive_halving_defaults_make_optunas_decisions(direction, seed):
    # min_resource="auto" settles on 1 step for 20-step curves, on 2 steps for 300-step ones.
    for n_steps in (20, 300):
        curves = _curves(seed, 30, n_steps, direction)
        ours = _replay("tunelab", tp.SuccessiveHalvingPruner(), curves, direction)
        theirs = _replay("optuna", optuna.pruners.SuccessiveHalvingPruner(), curves, direction)
        assert ours == theirs
        assert any(step is not None for step in ours)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("max_resource", [1, 2])
def test_single_bracket_hyperband_with_default_arguments_makes_optunas_decisions(
    direction, max_resource
):
    # Bracket assignment differs on purpose (tunelab hashes the trial number, Optuna the study
    # name), so compare only configurations with one bracket: max_resource < eta * min_resource.
    curves = _curves(3, 30, 20, direction)
    ours = _replay("tunelab", tp.HyperbandPruner(max_resource=max_resource), curves, direction)
    theirs = _replay(
        "optuna", optuna.pruners.HyperbandPruner(max_resource=max_resource), curves, direction
    )
    assert ours == theirs
    assert any(step is not None for step in ours)


# -- PatientPruner ------------------------------------------------------------------------------
NAN = math.nan
PATIENT_CURVES = {
    "plateau": [0.5, 0.6] + [0.6] * 10,
    "slow improvement": [0.5 + 0.001 * i for i in range(12)],
    "decline after peak": [0.5, 0.6, 0.55, 0.54, 0.53, 0.52, 0.51, 0.5, 0.49, 0.48, 0.47],
    "rise after trough": [0.5, 0.4, 0.45, 0.46, 0.47, 0.48, 0.49, 0.5, 0.51, 0.52],
    "small dip then recovery": [0.5, 0.6, 0.595, 0.59, 0.6, 0.61, 0.6, 0.605, 0.6, 0.59],
    "NaN in the middle": [0.5, 0.6, NAN, 0.55, 0.54, NAN, 0.53, 0.52, 0.7, 0.5],
    "leading NaN": [NAN, NAN, 0.5, 0.4, 0.3, 0.2, 0.6, 0.7],
    "NaN tail": [0.5, 0.6, 0.4, NAN, NAN, NAN, NAN, 0.3],
    "all NaN": [NAN] * 6,
    "infinities": [0.5, math.inf, 0.6, 0.5, -math.inf, 0.4, 0.3, 0.2],
    "zigzag": [0.5, 0.3, 0.6, 0.2, 0.7, 0.1, 0.65, 0.15, 0.6, 0.2],
}


@pytest.mark.parametrize("name", sorted(PATIENT_CURVES))
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize(
    ("patience", "min_delta"), [(0, 0.0), (1, 0.0), (2, 0.0), (2, 0.01), (3, 0.05)]
)
def test_patient_pruner_makes_optunas_decisions(name, direction, patience, min_delta):
    curve = PATIENT_CURVES[name]
    ours = _decisions("tunelab", tp.PatientPruner(None, patience, min_delta), curve, direction)
    theirs = _decisions(
        "optuna", optuna.pruners.PatientPruner(None, patience, min_delta), curve, direction
    )
    assert ours == theirs


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize(("patience", "min_delta"), [(1, 0.0), (2, 0.01), (3, 0.0)])
def test_patient_pruner_wrapping_median_makes_optunas_decisions(direction, patience, min_delta):
    curves = _curves(4, 30, 20, direction)
    ours = _replay(
        "tunelab", tp.PatientPruner(tp.MedianPruner(), patience, min_delta), curves, direction
    )
    theirs = _replay(
        "optuna",
        optuna.pruners.PatientPruner(optuna.pruners.MedianPruner(), patience, min_delta),
        curves,
        direction,
    )
    assert ours == theirs


# -- WilcoxonPruner: non-finite values ------------------------------------------------------------
@pytest.mark.parametrize(
    ("best", "current"),
    [
        ([0.1] * 5 + [NAN, 0.1, 0.1], [0.3, 0.35, 0.3, 0.4, 0.3]),  # NaN off the shared steps
        ([0.1] * 8, [0.3, 0.35, 0.3, NAN, 0.4, 0.3]),
        ([0.1, 0.1, math.inf, 0.1, 0.1, 0.1], [0.3, 0.35, 0.3, 0.4, 0.3]),
        ([0.1] * 8, [0.3, 0.35, 0.3, 0.4, 0.3, 0.45]),  # finite: pruned by both
    ],
)
def test_wilcoxon_non_finite_values_as_in_optuna(best, current):
    answers = {}
    for lib, pruner in (
        ("tunelab", tp.WilcoxonPruner()),
        ("optuna", optuna.pruners.WilcoxonPruner()),
    ):
        mod = tl if lib == "tunelab" else optuna
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = mod.create_study(pruner=pruner)
            trial = study.ask()
            for step, value in enumerate(best):
                trial.report(value, step)
            study.tell(trial, 0.1)
            trial = study.ask()
            answers[lib] = []
            for step, value in enumerate(current):
                trial.report(value, step)
                answers[lib].append(bool(trial.should_prune()))
    assert answers["tunelab"] == answers["optuna"]
