"""Objectives several sampler test files share."""

from __future__ import annotations


def branch_constraint(trial):
    """Only the "big" branch sets a constraint, and it never holds; "small" sets none, so it
    is unconstrained: feasible, as for best_trial and FrozenTrial.feasible. "big" scores
    better, so a sampler that ignored feasibility would chase it."""
    model = trial.suggest_categorical("model", ["small", "big"])
    x = trial.suggest_float("x", 0, 1)
    if model == "big":
        trial.set_constraint("mem", 1.0)
        return x
    return 1 + x
