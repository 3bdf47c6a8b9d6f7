"""The study page's figures, computed by ``tunelab.visualization`` and cached per study version.

A figure is rebuilt only when the study changed since it was last drawn, and one request at a
time builds a given figure, so many open pages cost the server what one does. Figures that draw
one heavy mark per trial (slice, parallel coordinates, learning curves, timeline) show the most
recent ``RECENT`` trials of a large study, and say so in their title: a browser without a GPU
takes seconds to draw 20,000 lines. History, EDF, contour and importances use every trial.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._frozen import TrialState
from .._study import Study

RECENT = 2000  # trials shown by the figures that draw one heavy mark per trial


class _Recent(Study):
    """A study seen through its last ``RECENT`` trials (for figures that draw each one)."""

    def get_trials(self, states: Any = None, *, deepcopy: bool = True) -> list:  # type: ignore[override]
        trials = super().get_trials(states, deepcopy=deepcopy)
        return trials[-RECENT:]


def plot_kinds(study: Study) -> list[str]:
    n = len(study.directions)
    kinds = [
        "history",
        "slice",
        "parallel",
        "contour",
        "importance",
        "edf",
        "intermediate",
        "timeline",
    ]
    if n in (2, 3):
        kinds.insert(0, "pareto")
    return kinds


def _target(study: Study, metric_names: list[str] | None) -> tuple[Any, str]:
    """What the single-value figures plot (objective 0) and its name: the study's metric name
    (``set_metric_names``) when it has one."""
    if len(study.directions) == 1:
        return None, metric_names[0] if metric_names else "Objective value"
    return (lambda t: t.values[0]), metric_names[0] if metric_names else "Objective 0"


def build(study: Study, kind: str, metric_names: list[str] | None = None) -> Any:
    """The figure ``kind`` of ``study``, its objectives named ``metric_names`` (the names the
    caller read once for its cache key: a figure is never labelled with other names than the
    key it is cached under)."""
    from .. import visualization as V
    from ..importance import CorrelationRatioImportanceEvaluator

    target, name = _target(study, metric_names)
    makers: dict[str, Callable[[], Any]] = {
        "history": lambda: V.plot_optimization_history(study, target=target, target_name=name),
        "slice": lambda: V.plot_slice(_recent(study), target=target, target_name=name),
        "parallel": lambda: V.plot_parallel_coordinate(
            _recent(study), target=target, target_name=name
        ),
        "contour": lambda: V.plot_contour(study, target=target, target_name=name),
        "importance": lambda: V.plot_param_importances(
            study, evaluator=CorrelationRatioImportanceEvaluator(), target=target
        ),
        "edf": lambda: V.plot_edf(study, target=target, target_name=name),
        "intermediate": lambda: V.plot_intermediate_values(_recent(study)),
        "timeline": lambda: V.plot_timeline(_recent(study)),
        "pareto": lambda: V.plot_pareto_front(study, target_names=metric_names),
    }
    figure = makers[kind]()
    if kind in _WINDOWED and study.storage.get_n_trials(study._study_id) > RECENT:
        figure.update_layout(title=f"{figure.layout.title.text} (latest {RECENT} trials)")
    return figure


_WINDOWED = ("slice", "parallel", "intermediate", "timeline")


def _recent(study: Study) -> Study:
    return _Recent(study.study_name, study.storage)


def version_of(trials: list) -> str:
    """Changes whenever a trial is added, starts, sets a parameter, reports, or finishes.

    A trial's state only moves forward (WAITING -> RUNNING -> finished; a retry is a new trial)
    and a finished trial never changes, so counting the trials, the finished ones and the
    started ones (RUNNING or finished) sees every change of state; the marks (parameters and
    reports) of the unfinished trials only grow. One pass, no attribute read: the page polls it.
    """
    done = started = open_marks = 0
    for t in trials:
        if t.state.is_finished():
            done += 1
            started += 1
        else:
            started += t.state == TrialState.RUNNING
            open_marks += 1 + len(t.intermediate_values) + len(t.params)
    return f"{len(trials)}.{done}.{started}.{open_marks}"


class FigureCache:
    """The last figure of each (study, kind), kept while its ``stamp`` (the study's version and
    whatever else the figure shows, such as the metric names) is unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[tuple[int, str], threading.Lock] = {}
        self._figures: dict[tuple[int, str], tuple[Any, str]] = {}

    def get(self, study_id: int, kind: str, stamp: Any, make: Callable[[], str]) -> str:
        key = (study_id, kind)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._figures.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            text = make()
            self._figures[key] = (stamp, text)
            return text
