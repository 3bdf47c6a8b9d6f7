"""Early stopping: pruners decide from intermediate values whether a trial continues."""

from ._base import TRIAL_GROUP_ATTR as TRIAL_GROUP_ATTR
from ._base import BasePruner as BasePruner
from ._base import NopPruner as NopPruner
from ._base import same_group as same_group
from ._hyperband import HyperbandPruner as HyperbandPruner
from ._median import MedianPruner as MedianPruner
from ._pareto import ParetoPruner as ParetoPruner
from ._patient import PatientPruner as PatientPruner
from ._percentile import PercentilePruner as PercentilePruner
from ._successive_halving import SuccessiveHalvingPruner as SuccessiveHalvingPruner
from ._threshold import ThresholdPruner as ThresholdPruner
from ._wilcoxon import WilcoxonPruner as WilcoxonPruner

__all__ = [
    "TRIAL_GROUP_ATTR",
    "BasePruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "ParetoPruner",
    "PatientPruner",
    "PercentilePruner",
    "SuccessiveHalvingPruner",
    "ThresholdPruner",
    "WilcoxonPruner",
    "same_group",
]
