"""Which metric a study's values score, recorded with the study so that it is never mixed.

A stored study continued with another metric ranked the values of both together (accuracy
about 0.97 beside neg_log_loss about -0.08: the best trial was whichever scale ran higher), and
its sampler learnt from both. The first run that scores a study records the metric; a later run
that scores another one is refused before it adds a trial. ``tunelab tune`` keeps the same rule
in its own record (``tune_task``), which holds more than the metric.
"""

from __future__ import annotations

from typing import Any

from .exceptions import InvalidParameterError

#: Study user attribute holding the name of the metric the study's values are scores of.
METRIC_ATTR = "scoring_metric"


def name_metric(study: Any, metric: str) -> None:
    """Give a single-objective study's objective the name ``metric`` (plots label their value
    axis with it) unless the study already has names: a user's own names are kept."""
    if len(study.directions) == 1 and study.metric_names is None:
        study.set_metric_names([metric])


def record_metric(study: Any, metric: str, *, owner: str, param: str = "metric") -> None:
    """Record ``metric`` on a study that has no record yet, or check it against the record.

    ``owner`` (such as ``"AutoClassifier"``) and ``param`` (the parameter that chose the
    metric: ``"metric"``, ``"scoring"``) name the culprit in the error. A study stored before
    records were kept is taken as it is, and recorded from now on.

    Raises InvalidParameterError when the study holds scores of another metric.
    """
    stored = study.user_attrs.get(METRIC_ATTR)
    if stored is None:
        study.set_user_attr(METRIC_ATTR, metric)
    elif stored != metric:
        raise InvalidParameterError(
            f"{owner}: study {study.study_name!r} holds trials scored with {stored!r}, and "
            f"{param}={metric!r} scores another metric; the values of two metrics cannot be "
            f"ranked together. Use a new study_name for {metric!r}, or {param}={stored!r} to "
            "continue this study."
        )
    name_metric(study, metric)
