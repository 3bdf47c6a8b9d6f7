"""The live trial an objective receives: define-by-run ``suggest_*``, ``report``, ``should_prune``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._constraints import check_constraint_value, constraint_key, constraint_values
from ._frozen import FrozenTrial, TrialState
from ._space import Distribution, Float, Int, as_given, outside_message
from ._suggest import SuggestMethods
from ._validation import as_float, check_name, is_int, is_real, json_attr
from .exceptions import InvalidParameterError

if TYPE_CHECKING:
    from ._study import Study

FIXED_PARAMS_ATTR = "fixed_params"
# GridSampler's record of a trial's whole point, values by name. Defined here, beside the fixed
# parameters, because a retry of a lost grid trial runs that point as fixed parameters.
GRID_POINT_ATTR = "grid_point"
# Per-step objective vectors of multi-objective trials: {"step": [v0, v1, ...]} (JSON keys).
INTERMEDIATE_VECTORS_ATTR = "intermediate_vectors"
# The traceback optimize stores on a trial whose objective raised.
TRACEBACK_ATTR = "fail_traceback"
# How every fail reason about what the objective returned (NaN, None, not a number) begins.
OBJECTIVE_RETURNED = "the objective returned"


def failed_by_configuration(trial: FrozenTrial) -> bool:
    """A FAIL trial whose objective raised or returned no usable value: its configuration is
    at fault, not its run (a lost worker, an interrupt, a stopped optimize)."""
    return trial.state == TrialState.FAIL and (
        TRACEBACK_ATTR in trial.system_attrs
        or (trial.fail_reason or "").startswith(OBJECTIVE_RETURNED)
    )


def check_suggest(
    number: int, name: Any, distribution: Any, known: Distribution | None = None
) -> None:
    """The checks of a ``suggest`` call, on the driver's trial and on a worker's alike;
    ``known``: the distribution ``name`` already has in this trial, if any."""
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(f"Parameter names must be non-empty strings, got {name!r}.")
    check_name("Parameter name", name)
    if not isinstance(distribution, Distribution):
        raise InvalidParameterError(
            f"Parameter {name!r}: expected a tunelab distribution, got {distribution!r}."
        )
    if known is not None and known != distribution:
        raise InvalidParameterError(
            f"Parameter {name!r} was already suggested in trial {number} as "
            f"{known!r}; it cannot be suggested again as {distribution!r}."
        )


def _native(distribution: Distribution, value: Any) -> Any:
    """``value`` as the type its distribution promises: a grid or an enqueued list may hold 2.0
    for an Int or 0 for a Float, and the objective must get what it asked for."""
    if isinstance(distribution, Int):
        return int(value)
    if isinstance(distribution, Float):
        return distribution.round_to_step(float(value))
    return value


class Trial(SuggestMethods):
    """One evaluation of the objective. Get values with ``suggest_*``; report progress with
    ``report``; ask ``should_prune`` and raise ``TrialPruned`` to stop early."""

    def __init__(
        self,
        study: Study,
        frozen: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> None:
        self.study = study
        self._frozen = frozen
        self._declared_space = declared_space
        self._joint: dict[str, Any] | None = None
        self._joint_space: dict[str, Distribution] = {}

    # -- what the objective sees ---------------------------------------------------------------
    @property
    def number(self) -> int:
        return self._frozen.number

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._frozen.params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._frozen.distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._frozen.user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._frozen.system_attrs)

    @property
    def datetime_start(self) -> datetime | None:
        return self._frozen.datetime_start

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._frozen.intermediate_values)

    def suggest(self, name: str, distribution: Distribution) -> Any:
        """Suggest a value for ``name`` from any tunelab distribution."""
        known = self._frozen.distributions.get(name)
        check_suggest(self.number, name, distribution, known)
        if known is not None:
            return self._frozen.params[name]
        self.study._check_distribution(name, distribution)
        value = self._choose(name, distribution)
        self.study._set_trial_param(self._frozen, name, value, distribution)
        return value

    def _choose(self, name: str, distribution: Distribution) -> Any:
        fixed = self._frozen.system_attrs.get(FIXED_PARAMS_ATTR, {})
        if name in fixed:
            value = as_given(distribution, fixed[name])
            if not distribution.contains(value):
                raise InvalidParameterError(
                    outside_message(name, "the enqueued value", value, distribution)
                )
            return _native(distribution, value)
        if distribution.is_single():
            return distribution.from_unit(0.5)
        joint = self._joint_sample()
        if name in joint and self._joint_space.get(name) == distribution:
            return _native(distribution, joint[name])
        value = self.study.sampler.sample_one(self.study, self._frozen, name, distribution)
        return _native(distribution, value)

    def _joint_sample(self) -> dict[str, Any]:
        if self._joint is None:
            sampler = self.study.sampler
            if self._declared_space is not None:
                space = dict(self._declared_space)
            else:
                space = sampler.infer_search_space(self.study, self._frozen)
            space = {n: d for n, d in space.items() if not d.is_single()}
            self._joint_space = space
            self._joint = sampler.sample_joint(self.study, self._frozen, space) if space else {}
        return self._joint

    def _predraw(self, space: Mapping[str, Distribution]) -> dict[str, Any]:
        """Draw ``space`` now, before the objective asks, so the configuration is known upfront;
        later ``suggest`` calls return these values."""
        joint = self._joint_sample()
        for name, distribution in space.items():
            # The same choice suggest() would make: enqueued values first, then the joint draw.
            joint[name] = self._choose(name, distribution)
            self._joint_space[name] = distribution
        return {name: joint[name] for name in space}

    def report(self, value: float, step: int) -> None:
        """Record an intermediate objective value at ``step`` (an epoch, a fold, a round)."""
        value, step = check_report(value, step)
        refuse_report_with_several_objectives(len(self.study.directions))
        self.study._set_intermediate_value(self._frozen, step, value)

    def report_values(self, values: Sequence[float], step: int) -> None:
        """Record one intermediate value per objective at ``step`` (multi-objective pruning)."""
        n = len(self.study.directions)
        if getattr(values, "ndim", None) == 1 and hasattr(values, "tolist"):
            # A 1-d array, as objectives return their values; n_jobs workers already took it.
            values = values.tolist()
        floats = (
            [as_float(v) for v in values]
            if isinstance(values, Sequence) and not isinstance(values, (str, bytes))
            else []
        )
        if len(floats) != n or any(f is None for f in floats):
            raise InvalidParameterError(
                f"The 'values' parameter of Trial.report_values must be a list of {n} numbers "
                f"(one per objective). Got {values!r} instead."
            )
        step = checked_step(step, "Trial.report_values")
        vectors = dict(self._frozen.system_attrs.get(INTERMEDIATE_VECTORS_ATTR, {}))
        vectors[str(step)] = floats
        self.study._set_trial_attr(self._frozen, INTERMEDIATE_VECTORS_ATTR, vectors, system=True)

    def should_prune(self) -> bool:
        """True when the study's pruner says this trial should stop now."""
        return bool(self.study.pruner.prune(self.study, self._frozen))

    def set_user_attr(self, key: str, value: Any) -> None:
        value = json_attr("Trial.set_user_attr", key, value)
        self.study._set_trial_attr(self._frozen, key, value, system=False)

    def set_constraint(self, name: str, value: float) -> None:
        """Record constraint ``name`` for this trial: it holds when ``value <= 0``. Infeasible
        trials never become the best, and TPE, the GP and NSGA-II steer away from them. As
        Optuna 5's ``Trial.set_constraint``, except that setting a name again replaces its
        value (Optuna keeps the first and warns): the last measurement is the one that holds."""
        key = constraint_key(name)
        value = check_constraint_value(name, value)
        self.study._set_trial_attr(self._frozen, key, value, system=True)

    @property
    def constraints(self) -> dict[str, float]:
        """The constraint values set so far, by name."""
        return constraint_values(self._frozen)

    def heartbeat(self) -> None:
        """Renew this trial's lease (storages with leases fail trials whose lease runs out)."""
        self.study._storage.heartbeat(self._frozen.trial_id)

    @property
    def state(self) -> TrialState:
        return self._frozen.state

    def freeze(self) -> FrozenTrial:
        return self._frozen.copy()

    # A Trial is a handle on a running trial of a study, not a value: scikit-learn's clone
    # deep-copies an estimator's parameters, so XGBClassifier(callbacks=[XGBoostPruningCallback
    # (trial, ...)]) inside cross_val_score reported into a private copy of the study (and of an
    # in-memory storage) and never pruned. Copies are the trial itself.
    def __copy__(self) -> Trial:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Trial:
        return self

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._frozen.params!r})"


def check_report(value: Any, step: Any, owner: str = "Trial.report") -> tuple[float, int]:
    """The argument rules of ``report``, shared by the driver's Trial and the workers' proxy:
    the value as a float and the step as an int. A value is what an objective may return (a
    0-d array or tensor, a numpy scalar, ``Decimal``; no str or bool), a step any
    non-negative integer (``1.0`` too, as Optuna takes it)."""
    number = as_float(value)
    if number is None:
        raise InvalidParameterError(
            f"The 'value' parameter of {owner} must be a number (a float, a numpy scalar, a "
            f"0-d array or tensor). Got {value!r} instead."
        )
    return number, checked_step(step, owner)


def refuse_report_with_several_objectives(n_objectives: int) -> None:
    """``report`` takes one value: in a study of several objectives it is refused, on the
    driver's Trial and on a worker's alike."""
    if n_objectives > 1:
        raise InvalidParameterError(
            "Trial.report takes one value; this study has several objectives. Use "
            "Trial.report_values(values, step)."
        )


def checked_step(step: Any, owner: str) -> int:
    """A report's step: any non-negative integer (an integral float too, as Optuna takes)."""
    if is_real(step) and not is_int(step) and math.isfinite(step) and float(step).is_integer():
        step = int(step)
    if not is_int(step) or step < 0:
        raise InvalidParameterError(
            f"The 'step' parameter of {owner} must be a non-negative int. Got {step!r} instead."
        )
    return int(step)


def is_nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
