from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from tunelab.automl._ensemble import Ensemble, greedy_selection


def _accuracy(y):
    return lambda p: float(np.mean(np.argmax(p, axis=1) == y))


def test_greedy_selection_is_never_worse_than_the_best_single() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=200)
    score = _accuracy(y)
    for _ in range(10):
        preds = [rng.dirichlet(np.ones(3), size=200) for _ in range(6)]
        # Each candidate knows the truth on a different third of the rows.
        for i, p in enumerate(preds):
            rows = np.arange(200) % 6 == i
            p[rows, y[rows]] += 1.0
        counts, best = greedy_selection(preds, score, size=10)
        assert best >= max(score(p) for p in preds)
        assert sum(counts.values()) <= 10
        weights = np.array([counts[i] for i in counts], float)
        blend = sum(w * preds[i] for w, i in zip(weights, counts)) / weights.sum()
        assert np.isclose(score(blend), best)


def test_greedy_selection_keeps_a_dominant_single_alone() -> None:
    y = np.array([0, 1, 1, 0])
    perfect = np.eye(2)[y]
    noise = np.full((4, 2), 0.5)
    counts, best = greedy_selection([noise, perfect], _accuracy(y), size=5)
    assert counts == {1: 1} and best == 1.0


def test_ensemble_averages_member_probabilities() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array(["a", "a", "b", "b"])
    m1 = LogisticRegression().fit(X, y)
    m2 = LogisticRegression(C=0.01).fit(X, y)
    ens = Ensemble([m1, m2], [3.0, 1.0], np.array(["a", "b"]))
    expected = 0.75 * m1.predict_proba(X) + 0.25 * m2.predict_proba(X)
    assert np.allclose(ens.predict_proba(X), expected)
    assert list(ens.predict(X)) == list(np.array(["a", "b"])[expected.argmax(axis=1)])
