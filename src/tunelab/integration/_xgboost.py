"""Report an XGBoost evaluation metric each boosting round and prune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._validation import fail
from ._common import check_direction, report_and_check, require

if TYPE_CHECKING:
    from .._trial import Trial

OWNER = "XGBoostPruningCallback"
xgb = require("xgboost", OWNER)

# Built-in metrics by direction; a custom metric's direction is unknown and left unchecked.
_HIGHER_IS_BETTER = {"auc", "aucpr", "map", "ndcg", "pre", "interval-regression-accuracy"}
_LOWER_IS_BETTER = {
    "rmse",
    "rmsle",
    "mae",
    "mape",
    "mphe",
    "logloss",
    "error",
    "merror",
    "mlogloss",
    "poisson-nloglik",
    "gamma-nloglik",
    "cox-nloglik",
    "gamma-deviance",
    "tweedie-nloglik",
    "aft-nloglik",
}


class XGBoostPruningCallback(xgb.callback.TrainingCallback):  # type: ignore[misc,name-defined]
    """Pass to ``xgboost.train(..., callbacks=[cb])`` (or an ``XGBClassifier(callbacks=[cb])``):
    after each round it reports the metric named by ``observation_key`` as step ``epoch`` and
    raises ``TrialPruned`` if the study's pruner says so.

    Args:
        trial: the running trial.
        observation_key: "<eval set name>-<metric>", e.g. "validation-logloss" for
            ``evals=[(dvalid, "validation")]``, or "validation_0-logloss" in the sklearn API.
    """

    def __init__(self, trial: Trial, observation_key: str) -> None:
        super().__init__()
        if not isinstance(observation_key, str) or "-" not in observation_key:
            raise fail("observation_key", OWNER, "a string '<eval set>-<metric>'", observation_key)
        self.trial = trial
        self.observation_key = observation_key
        self._checked = False

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        data, _, metric = self.observation_key.partition("-")
        history = evals_log.get(data, {}).get(metric)
        if not history:
            seen = sorted(f"{d}-{m}" for d, ms in evals_log.items() for m in ms)
            raise ValueError(
                f"{OWNER}: no {self.observation_key!r} in this round's evaluation log "
                f"({', '.join(seen) or 'empty'}). Pass evals=[(dvalid, name)] and a matching key."
            )
        if not self._checked:
            base = metric.split("@")[0]
            if base in _HIGHER_IS_BETTER or base in _LOWER_IS_BETTER:
                check_direction(self.trial, base in _HIGHER_IS_BETTER, f"metric {metric!r}", OWNER)
            self._checked = True
        latest = history[-1]
        value = latest[0] if isinstance(latest, tuple) else latest  # xgboost.cv logs (mean, std)
        report_and_check(self.trial, value, int(epoch), OWNER)
        return False
