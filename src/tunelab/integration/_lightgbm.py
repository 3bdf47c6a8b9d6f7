"""Report a LightGBM validation metric each boosting round and prune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._validation import fail
from ._common import check_direction, report_and_check, require

if TYPE_CHECKING:
    from .._trial import Trial

OWNER = "LightGBMPruningCallback"


class LightGBMPruningCallback:
    """Pass to ``lightgbm.train(..., callbacks=[cb])`` (or ``lightgbm.cv``, or the sklearn
    API's ``fit(callbacks=[cb])``): each round reports ``metric`` on the validation set
    ``valid_name`` as step ``iteration`` and raises ``TrialPruned`` if the study's pruner says so.

    Args:
        trial: the running trial.
        metric: the metric's name as LightGBM logs it ("binary_logloss", "auc", "l2", ...).
        valid_name: the validation set's name (``valid_names`` in ``lightgbm.train``; LightGBM
            calls the first one "valid_0"). With ``lightgbm.cv`` the mean over folds ("valid")
            is used.

    The metric's own direction must match the study's; a mismatch raises at the first round.
    """

    order = 30  # LightGBM sorts callbacks by this; run after its own logging and recording.

    def __init__(self, trial: Trial, metric: str, valid_name: str = "valid_0") -> None:
        require("lightgbm", OWNER)
        if not isinstance(metric, str) or not metric:
            raise fail("metric", OWNER, "a non-empty metric name", metric)
        if not isinstance(valid_name, str) or not valid_name:
            raise fail("valid_name", OWNER, "a non-empty validation set name", valid_name)
        self.trial = trial
        self.metric = metric
        self.valid_name = valid_name
        self._checked = False

    def __call__(self, env: Any) -> None:
        results = env.evaluation_result_list or []
        is_cv = bool(results) and len(results[0]) == 5
        names = {self.valid_name, "valid", "cv_agg"} if is_cv else {self.valid_name}
        for entry in results:
            data_name, metric_name, value, higher_is_better = entry[:4]
            if data_name in names and metric_name == self.metric:
                break
        else:
            seen = sorted({f"{e[0]}:{e[1]}" for e in results})
            raise ValueError(
                f"{OWNER}: no metric {self.metric!r} on validation set {self.valid_name!r} in "
                f"this round's results ({', '.join(seen) or 'none'}). Pass valid_sets=... and a "
                "matching metric and valid_name."
            )
        if not self._checked:
            check_direction(self.trial, bool(higher_is_better), f"metric {self.metric!r}", OWNER)
            self._checked = True
        report_and_check(self.trial, value, int(env.iteration), OWNER)
