from __future__ import annotations

import numpy as np

from tunelab import Float
from tunelab.importance._design import Design
from tunelab.importance._fanova import tree_shares


def _design(inactive=(0.0, 0.0)) -> Design:
    return Design(
        names=["x", "y"],
        distributions=[Float(0, 1), Float(0, 1)],
        X=np.zeros((1, 2)),
        y=np.zeros(1),
        inactive_share=np.array(inactive),
    )


def test_additive_tree_splits_variance_by_effect():
    # f = 2*[x>0.5] + [y>0.5] as a tree of four leaves over [-1,1]^2 (x<0 has no mass).
    lo = np.array([[-1, -1], [-1, 0.5], [0.5, -1], [0.5, 0.5]], dtype=float)
    hi = np.array([[0.5, 0.5], [0.5, 1], [1, 0.5], [1, 1]], dtype=float)
    v = np.array([0.0, 1.0, 2.0, 3.0])
    shares = tree_shares(_design(), lo, hi, v, interactions=True)
    # Var(2*B) = 1, Var(B) = 0.25: shares 0.8 and 0.2, no interaction.
    np.testing.assert_allclose(shares, [0.8, 0.2], atol=1e-12)


def test_xor_tree_is_all_interaction_split_in_half():
    lo = np.array([[-1, -1], [-1, 0.5], [0.5, -1], [0.5, 0.5]], dtype=float)
    hi = np.array([[0.5, 0.5], [0.5, 1], [1, 0.5], [1, 1]], dtype=float)
    v = np.array([0.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(tree_shares(_design(), lo, hi, v, True), [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(tree_shares(_design(), lo, hi, v, False), [0.0, 0.0], atol=1e-12)


def test_conditional_column_is_credited_only_within_where_it_is_set():
    # x absent (encoded < 0) in 75% of trials, with value 0 there; where set, 2 or 6.
    lo = np.array([[-1, -1], [0, -1], [0.5, -1]], dtype=float)
    hi = np.array([[0, 1], [0.5, 1], [1, 1]], dtype=float)
    v = np.array([0.0, 2.0, 6.0])
    design = _design(inactive=(0.75, 0.0))
    np.testing.assert_allclose(design.measure(0, lo[:, 0], hi[:, 0]), [0.75, 0.125, 0.125])
    # Total variance 4 (mean 1); set-vs-absent explains 3 (the parent's effect); x keeps 1.
    np.testing.assert_allclose(tree_shares(design, lo, hi, v, True), [0.25, 0.0], atol=1e-12)
    assert tree_shares(design, lo, hi, np.array([2.0, 2.0, 2.0]), True) is None


def test_set_or_not_seen_on_the_childs_column_is_the_parents_share():
    # The same tree with y recorded as x's parent: the 3 of 4 that set-vs-absent explains go
    # to y (it was dropped, and a parent whose middle choice sets the child scored 0).
    lo = np.array([[-1, -1], [0, -1], [0.5, -1]], dtype=float)
    hi = np.array([[0, 1], [0.5, 1], [1, 1]], dtype=float)
    design = _design(inactive=(0.75, 0.0))
    design.parents = [(1,), ()]
    shares = tree_shares(design, lo, hi, np.array([0.0, 2.0, 6.0]), True)
    np.testing.assert_allclose(shares, [0.25, 0.75], atol=1e-12)


def test_a_parent_whose_middle_choice_sets_the_child_ranks_first():
    # Found by a QA pass: optimizer scored 0 and the child's sibling 0.63.
    import tunelab as tl
    from tunelab.importance import get_param_importances

    study = tl.create_study(sampler=tl.samplers.RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("lr", 0, 1)
        if trial.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"]) == "sgd":
            return 5 + 0.5 * trial.suggest_float("momentum", 0, 1) + 0.5 * lr
        return 0.5 * lr

    study.optimize(objective, n_trials=200)
    importances = get_param_importances(study)
    assert next(iter(importances)) == "optimizer" and importances["optimizer"] > 0.9


def test_parents_are_the_categoricals_that_decide_presence():
    import tunelab as tl
    from tunelab.importance._design import build_design

    study = tl.create_study(sampler=tl.samplers.RandomSampler(seed=1))

    def objective(trial):
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        other = trial.suggest_categorical("other", ["u", "v"])  # decides nothing
        x = trial.suggest_float("x", 0, 1)
        if kind == "b":
            trial.suggest_float("child", 0, 1)
        if x > 0.5:  # a numeric parent is not inferred (every value would "decide")
            trial.suggest_float("late", 0, 1)
        return x + (other == "u")

    study.optimize(objective, n_trials=60)
    design = build_design(study, None, None, "test")
    parents = {n: [design.names[k] for k in ks] for n, ks in zip(design.names, design.parents)}
    assert parents == {"child": ["kind"], "kind": [], "late": [], "other": [], "x": []}
