"""Figures of a study, drawn with plotly (``pip install 'tunelab[plot]'``).

Each ``plot_*`` function returns a ``plotly.graph_objects.Figure``; the matching ``*_data``
function computes what it draws as plain lists and dicts, with no plotly involved. plotly is
imported only when a figure is drawn; this package is never loaded by ``import tunelab``.
"""

from __future__ import annotations

from ._contour import contour_data as contour_data
from ._contour import plot_contour as plot_contour
from ._edf import edf_data as edf_data
from ._edf import plot_edf as plot_edf
from ._history import history_data as history_data
from ._history import plot_optimization_history as plot_optimization_history
from ._html import study_html as study_html
from ._importances import importance_data as importance_data
from ._importances import plot_param_importances as plot_param_importances
from ._intermediate import intermediate_data as intermediate_data
from ._intermediate import plot_intermediate_values as plot_intermediate_values
from ._parallel import parallel_data as parallel_data
from ._parallel import plot_parallel_coordinate as plot_parallel_coordinate
from ._pareto import pareto_data as pareto_data
from ._pareto import plot_pareto_front as plot_pareto_front
from ._slice import plot_slice as plot_slice
from ._slice import slice_data as slice_data
from ._timeline import plot_timeline as plot_timeline
from ._timeline import timeline_data as timeline_data

__all__ = [
    "contour_data",
    "edf_data",
    "history_data",
    "importance_data",
    "intermediate_data",
    "parallel_data",
    "pareto_data",
    "plot_contour",
    "plot_edf",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_slice",
    "plot_timeline",
    "slice_data",
    "study_html",
    "timeline_data",
]
