"""What one SQLStorage object remembers of a study between reads.

Finished trials never change, so they are read once. Each later read asks the database only for
trials newer than any seen (``max_id``) and for those that were still unfinished (``pending``):
a read while 8 workers run costs a handful of rows, not the whole study.
"""

from __future__ import annotations

import bisect
from typing import Any

from .._frozen import FrozenTrial


class StudyCache:
    def __init__(self, stamp: Any) -> None:
        # The study's creation time: a study deleted and re-created under a reused id must not
        # inherit the old one's trials.
        self.stamp = stamp
        self.finished: list[FrozenTrial] = []  # ordered by number
        self._numbers: list[int] = []  # numbers of ``finished``, for bisect
        self.finished_ids: set[int] = set()
        self.pending: set[int] = set()  # ids seen RUNNING or WAITING
        self.max_id = -1

    def absorb(self, fresh: dict[int, FrozenTrial]) -> list[FrozenTrial]:
        """Take the rows just read; return the unfinished ones among them."""
        unfinished = []
        for trial_id, trial in fresh.items():
            self.max_id = max(self.max_id, trial_id)
            if trial.state.is_finished():
                self.pending.discard(trial_id)
                self.add_finished(trial)
            else:
                self.pending.add(trial_id)
                unfinished.append(trial)
        return unfinished

    def add_finished(self, trial: FrozenTrial) -> None:
        if trial.trial_id in self.finished_ids:
            return
        self.finished_ids.add(trial.trial_id)
        if not self._numbers or trial.number > self._numbers[-1]:
            self._numbers.append(trial.number)
            self.finished.append(trial)
            return
        at = bisect.bisect_left(self._numbers, trial.number)
        self._numbers.insert(at, trial.number)
        self.finished.insert(at, trial)

    def finish(self, trial: FrozenTrial) -> None:
        """A trial this process finished: cache it now if it is one we already track."""
        if trial.trial_id in self.pending:
            self.pending.discard(trial.trial_id)
            self.add_finished(trial)

    def merged(self, unfinished: list[FrozenTrial]) -> list[FrozenTrial]:
        if not unfinished:
            return list(self.finished)
        return _merge(self.finished, self._numbers, unfinished)


def _merge(
    finished: list[FrozenTrial], numbers: list[int], unfinished: list[FrozenTrial]
) -> list[FrozenTrial]:
    out: list[FrozenTrial] = []
    start = 0
    for trial in sorted(unfinished, key=lambda t: t.number):
        at = bisect.bisect_left(numbers, trial.number, lo=start)
        out.extend(finished[start:at])
        out.append(trial)
        start = at
    out.extend(finished[start:])
    return out
