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
