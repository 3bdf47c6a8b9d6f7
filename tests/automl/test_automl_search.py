from __future__ import annotations

import numpy as np

from tunelab.automl._search import Candidate, raced_out, reserve, threads


def _cand(scores, fit_times=(1.0,), number=0) -> Candidate:
    return Candidate(number, {"model": "linear"}, list(scores), list(fit_times), np.zeros(3), None)


def test_racing_stops_a_clearly_worse_configuration() -> None:
    incumbent = _cand([0.90, 0.92, 0.91, 0.93, 0.90])
    assert raced_out([0.80, 0.81], incumbent)
    # Worse on average but not consistently: the paired test is not convinced.
    assert not raced_out([0.95, 0.80], incumbent)
    assert not raced_out([0.91, 0.93], incumbent)


def test_racing_after_one_fold_needs_a_large_gap() -> None:
    incumbent = _cand([0.90, 0.92, 0.91, 0.93, 0.90])
    spread = np.std(incumbent.fold_scores, ddof=1)
    assert raced_out([0.90 - 4 * spread], incumbent)
    assert not raced_out([0.90 - 2 * spread], incumbent)


def test_reserve_covers_the_leaders_refits() -> None:
    cands = [
        _cand([0.5], [1.0], 0),
        _cand([0.9], [2.0], 1),
        _cand([0.8], [3.0], 2),
        _cand([0.7], [4.0], 3),
    ]
    # The three best (0.9, 0.8, 0.7) cost 2 + 3 + 4 per fold; a refit on twice the rows.
    assert reserve(cands, growth=2.0) > 2 * (2 + 3 + 4)
    assert reserve([], growth=2.0) == 0.0


def test_threads_follow_joblib_conventions() -> None:
    assert threads(None) == 1
    assert threads(2) == 2
    assert threads(-1) >= 1
