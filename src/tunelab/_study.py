"""Study: the one object users need. Ask, tell, optimize, and read the results."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import uuid
import warnings
import weakref
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, SupportsFloat, Union

from ._constraints import (
    CONSTRAINTS_ATTR,
    NAMED_PREFIX,
    check_constraint_attrs,
    evaluate_constraints,
    is_feasible,
    violation,
)
from ._frozen import FrozenTrial, StudyDirection, TrialState
from ._heartbeat import Heartbeat
from ._interrupts import failure_reason, interrupts_held
from ._json import json_float
from ._pareto import front_mask
from ._space import (
    Distribution,
    as_given,
    outside_message,
    sample_space,
    unconditional_part,
    validate_space,
)
from ._trial import FIXED_PARAMS_ATTR, OBJECTIVE_RETURNED, Trial
from ._validation import (
    array_ndim,
    as_float,
    check_name,
    fail,
    json_attr,
    plain_scalar,
    seed_or_none,
)
from .exceptions import (
    GridExhausted,
    InvalidParameterError,
    StaleTrialError,
    TrialAlreadyFinishedError,
)
from .pruners import TRIAL_GROUP_ATTR, BasePruner, MedianPruner, NopPruner
from .samplers import BaseSampler
from .storage import RETRY_FAILED_ATTR, BaseStorage, get_storage

logger = logging.getLogger("tunelab")
METRIC_NAMES_ATTR = "metric_names"
# Where a trial failed by its constraints_func keeps what the objective returned.
OBJECTIVE_VALUES_ATTR = "objective_values"
_NAN_RESULT = f"{OBJECTIVE_RETURNED} NaN"

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .execution import Executor

# What an objective may return and tell may take: a number (numpy scalars, 0-d arrays and
# tensors, Decimal all convert with float()), one per objective, or a 1-d array of them.
ObjectiveValue = Union[SupportsFloat, Sequence[SupportsFloat], "np.ndarray"]  # noqa: UP007
ObjectiveFunc = Callable[[Trial], ObjectiveValue]
# Whatever a callback returns is ignored.
Callback = Callable[["Study", FrozenTrial], object]

SAMPLER_ATTR = "sampler"
SKIP_DUPLICATES_ATTR = "skip_duplicates"
DUPLICATE_OF_ATTR = "duplicate_of"


def _parse_directions(
    direction: str | StudyDirection | None,
    directions: Sequence[str | StudyDirection] | None,
    owner: str,
) -> list[StudyDirection]:
    if direction is not None and directions is not None:
        raise InvalidParameterError(f"{owner} takes either 'direction' or 'directions', not both.")
    if isinstance(directions, (str, StudyDirection)):
        raise fail(
            "directions",
            owner,
            "a list of 'minimize'/'maximize', one per objective",
            directions,
            hint="For a single objective pass direction=... instead.",
        )
    raw = [direction or "minimize"] if directions is None else list(directions)
    if not raw:
        raise fail("directions", owner, "a non-empty list of 'minimize'/'maximize'", directions)
    parsed = []
    for item in raw:
        if isinstance(item, StudyDirection):
            parsed.append(item)
            continue
        if not isinstance(item, str) or item.lower() not in ("minimize", "maximize"):
            name = "direction" if directions is None else "directions"
            raise fail(name, owner, "'minimize' or 'maximize'", item)
        parsed.append(StudyDirection(item.lower()))
    return parsed


class Study:
    """A named optimization: its trials live in ``storage``; ``sampler`` proposes, ``pruner``
    stops early. Create one with :func:`create_study` or :func:`load_study`."""

    def __init__(
        self,
        study_name: str,
        storage: BaseStorage,
        sampler: BaseSampler | None = None,
        pruner: BasePruner | None = None,
    ) -> None:
        self._storage = storage
        self._study_id = storage.get_study_id(study_name)
        self.study_name = study_name
        self.directions = storage.get_study_directions(self._study_id)
        self.sampler = sampler if sampler is not None else _default_sampler(None)
        self.pruner = pruner if pruner is not None else _default_pruner(len(self.directions))
        self._stop_flag = False
        self._space_seen: set[int] = set()
        self._space: dict[str, Distribution] | None = None
        self._known_distributions: dict[str, Distribution] = {}
        self._known_seen: set[int] = set()
        self._skip_duplicates = bool(
            storage.get_study_attrs(self._study_id, system=True).get(SKIP_DUPLICATES_ATTR, False)
        )
        self._done_by_params: dict[tuple[tuple[str, str], ...], FrozenTrial] = {}
        self._done_seen: set[int] = set()
        # Renews the leases of trials handed out by ask() outside optimize (which renews its
        # own) until they are told; see _keep_lease.
        self._lease_keeper: Heartbeat | None = None
        self._lease_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_space_seen"], state["_space"] = set(), None
        state["_lease_keeper"], state["_lease_lock"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lease_lock = threading.Lock()

    # -- properties ----------------------------------------------------------------------------
    @property
    def storage(self) -> BaseStorage:
        return self._storage

    @property
    def direction(self) -> StudyDirection:
        if len(self.directions) != 1:
            raise ValueError("This study has several objectives; use `directions`.")
        return self.directions[0]

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial in number order, as copies the caller may change."""
        return self.get_trials()

    def get_trials(
        self,
        states: Container[TrialState] | TrialState | None = None,
        *,
        deepcopy: bool = True,
    ) -> list[FrozenTrial]:
        """Trials in number order, only those in ``states`` when given.

        They are copies: editing one (``t.params["n_jobs"] = -1``) changes nothing in the study.
        ``deepcopy=False`` returns the storage's own records instead, which is faster for
        read-only use (samplers, pruners, plots) and must not be changed.
        """
        trials = self._storage.get_all_trials(self._study_id, _checked_states(states))
        return [t.copy() for t in trials] if deepcopy else trials

    @property
    def user_attrs(self) -> dict[str, Any]:
        return self._storage.get_study_attrs(self._study_id)

    def set_user_attr(self, key: str, value: Any) -> None:
        value = json_attr("Study.set_user_attr", key, value)
        self._storage.set_study_attr(self._study_id, key, value)

    def set_metric_names(self, names: Sequence[str]) -> None:
        """Name the objectives, in order (stored with the study): ``trials_dataframe`` then has
        ``values_<name>`` columns and ``plot_pareto_front`` labels its axes with them."""
        owner = "Study.set_metric_names"
        n = len(self.directions)
        if isinstance(names, str) or not isinstance(names, Sequence) or len(names) != n:
            raise fail("names", owner, f"a list of {n} names, one per objective", names)
        if not all(isinstance(name, str) and name for name in names) or len(set(names)) != n:
            raise fail("names", owner, f"{n} distinct non-empty strings", names)
        self._storage.set_study_attr(self._study_id, METRIC_NAMES_ATTR, list(names), system=True)

    @property
    def metric_names(self) -> list[str] | None:
        """The objectives' names from ``set_metric_names``, or None."""
        names = self._storage.get_study_attrs(self._study_id, system=True).get(METRIC_NAMES_ATTR)
        return None if names is None else list(names)

    @property
    def best_trial(self) -> FrozenTrial:
        if len(self.directions) != 1:
            raise ValueError(
                "A study with several objectives has no single best trial; use `best_trials`."
            )
        best: FrozenTrial | None = None
        maximize = self.directions[0] == StudyDirection.MAXIMIZE
        done = self.get_trials((TrialState.COMPLETE,), deepcopy=False)
        for t in self._feasible(done):
            v = t.values[0]  # type: ignore[index]
            if best is None:
                best = t
            elif (v > best.values[0]) if maximize else (v < best.values[0]):  # type: ignore[index]
                best = t
        if best is None:
            if done:
                raise ValueError(self._none_feasible(done))
            raise ValueError(
                f"Study {self.study_name!r} has no completed trial yet; run optimize() or tell() "
                "a value first."
            )
        return best.copy()

    @staticmethod
    def _feasible(trials: list[FrozenTrial]) -> list[FrozenTrial]:
        return [t for t in trials if is_feasible(t)]

    def _none_feasible(self, done: list[FrozenTrial]) -> str:
        least = min(done, key=lambda t: violation(t) or 0.0)
        return (
            f"Study {self.study_name!r} has {len(done)} completed trial(s) but none satisfies "
            f"its constraints; the closest is trial {least.number} (constraints "
            f"{least.constraints}, total violation {violation(least):.6g}). Run more trials, or "
            "relax the constraints."
        )

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front of completed feasible trials (for one objective: the best trial).
        Empty when no completed trial satisfies the constraints."""
        done = self._feasible(self.get_trials((TrialState.COMPLETE,), deepcopy=False))
        signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in self.directions]
        minimised = [[s * v for s, v in zip(signs, t.values)] for t in done]  # type: ignore[arg-type]
        return [t.copy() for t, on_front in zip(done, front_mask(minimised)) if on_front]

    @property
    def best_params(self) -> dict[str, Any]:
        return self.best_trial.params

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    # -- internal helpers used by Trial and samplers -------------------------------------------
    def _intersection_search_space(self) -> dict[str, Distribution]:
        """Parameters (with equal distributions) shared by every finished trial, incrementally."""
        for t in self.get_trials((TrialState.COMPLETE, TrialState.PRUNED), deepcopy=False):
            if t.trial_id in self._space_seen:
                continue
            self._space_seen.add(t.trial_id)
            if self._space is None:
                self._space = dict(t.distributions)
            else:
                self._space = {n: d for n, d in self._space.items() if t.distributions.get(n) == d}
        return dict(self._space or {})

    def _known_distribution(self, name: str) -> Distribution | None:
        """The distribution earlier trials gave ``name``, if any."""
        known = self._known_distributions.get(name)
        if known is None:
            # Only a name this process has not seen needs a look at the newer trials.
            for t in self.get_trials(deepcopy=False):
                if t.trial_id in self._known_seen:
                    continue
                if t.state.is_finished():
                    self._known_seen.add(t.trial_id)
                for n, d in t.distributions.items():
                    self._known_distributions.setdefault(n, d)
            known = self._known_distributions.get(name)
        return known

    def _check_distribution(self, name: str, distribution: Distribution) -> None:
        known = self._known_distribution(name)
        if known is None:
            self._known_distributions[name] = distribution
        elif known != distribution:
            raise InvalidParameterError(
                f"Parameter {name!r} is {distribution!r} here but was {known!r} in earlier "
                "trials of this study. One name keeps one distribution within a study: use a new "
                "name, or a new study, for the new range."
            )

    def _set_trial_param(
        self, trial: FrozenTrial, name: str, value: Any, distribution: Distribution
    ) -> None:
        self._storage.set_trial_param(
            trial.trial_id, name, distribution.to_internal(value), distribution
        )
        trial.params[name] = value
        trial.distributions[name] = distribution

    def _set_intermediate_value(self, trial: FrozenTrial, step: int, value: float) -> None:
        self._storage.set_trial_intermediate_value(trial.trial_id, step, value)
        trial.intermediate_values[step] = value

    def _set_trial_attr(self, trial: FrozenTrial, key: str, value: Any, *, system: bool) -> None:
        self._storage.set_trial_attr(trial.trial_id, key, value, system=system)
        (trial.system_attrs if system else trial.user_attrs)[key] = value

    def _set_trial_system_attr(self, trial: FrozenTrial, key: str, value: Any) -> None:
        self._set_trial_attr(trial, key, value, system=True)

    def _params_key(self, params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((name, repr(value)) for name, value in params.items()))

    def _finish_if_duplicate(self, trial: Trial) -> FrozenTrial | None:
        """With ``skip_duplicates``, a trial whose sampled configuration equals a completed
        trial's is finished at once with that trial's values instead of being run again.

        Only configurations the sampler draws jointly can be recognised before the objective
        runs, so conditional parameters first seen in the objective are never skipped."""
        if not self._skip_duplicates:
            return None
        space = {n: d for n, d in self._intersection_search_space().items() if not d.is_single()}
        if not space:
            return None
        joint = trial._predraw(space)
        for t in self.get_trials((TrialState.COMPLETE,), deepcopy=False):
            if t.trial_id not in self._done_seen:
                self._done_seen.add(t.trial_id)
                varying = {n: v for n, v in t.params.items() if not t.distributions[n].is_single()}
                self._done_by_params.setdefault(self._params_key(varying), t)
        match = self._done_by_params.get(self._params_key(joint))
        if match is None:
            return None
        for name, distribution in match.distributions.items():
            trial.suggest(name, distribution)
        self._set_trial_system_attr(trial._frozen, DUPLICATE_OF_ATTR, match.number)
        # The same configuration is as feasible as its twin: its constraint values are
        # copied, not re-evaluated (a constraints_func reading the objective's user attributes
        # would find none here, and a copy without them made an infeasible twin feasible).
        for key, value in match.system_attrs.items():
            if key == CONSTRAINTS_ATTR or key.startswith(NAMED_PREFIX):
                self._set_trial_system_attr(trial._frozen, key, value)
        return self.tell(trial, match.values)

    # -- ask / tell ----------------------------------------------------------------------------
    def ask(self, space: Mapping[str, Any] | None = None) -> Trial:
        """Start a trial. With a declarative ``space`` every parameter is drawn now and is in
        ``trial.params``; without one, the objective draws them through ``trial.suggest_*``.

        With a storage that keeps leases, this ``Study`` renews the trial's lease from a
        background thread until it tells the trial (docs/storage.md)."""
        return self._ask(space, keep_lease=True)

    def _ask(self, space: Mapping[str, Any] | None, *, keep_lease: bool) -> Trial:
        """``ask``; optimize passes ``keep_lease=False``, its own heartbeat renews its trials."""
        declared = None
        if space is not None:
            validate_space(space, "Study.ask")
            declared = unconditional_part(space)
        sampler_name = type(self.sampler).__name__
        # Trials of dead workers go back to the queue before we look for queued ones, and
        # before the sampler says whether it has more: a lost grid trial's retry must run.
        self._storage.reap_stale_trials(self._study_id)
        # Once the trial exists, whatever stops ask (Ctrl-C, a grid another worker has just
        # used up, a bad declared space) fails it rather than leave it RUNNING until a reaper
        # finds it, or for good without leases. A Ctrl-C is held over the short steps from
        # creating the trial to its sampler's bookkeeping (a grid point claimed), so that it
        # lands where this handler knows the trial.
        frozen: FrozenTrial | None = None
        try:
            with interrupts_held():
                frozen = self._storage.claim_waiting_trial(self._study_id)
                if frozen is not None:
                    self._set_trial_system_attr(frozen, SAMPLER_ATTR, sampler_name)
                elif not self.sampler.has_more(self):
                    # Queued trials (enqueued, retries) run even then: they bring their values.
                    raise GridExhausted(f"{self.sampler!r} has nothing left to propose.")
                else:
                    # One write creates the trial with its sampler tag (a write per trial
                    # saved on SQL).
                    template = FrozenTrial(
                        number=-1,
                        state=TrialState.RUNNING,
                        system_attrs={SAMPLER_ATTR: sampler_name},
                    )
                    frozen = self._storage.create_trial(self._study_id, template)
                # A pruner that splits trials into groups (Hyperband brackets) says so before
                # sampling, so a sampler can learn from the trial's own group only.
                group = self.pruner.trial_group(self, frozen)
                if group is not None:
                    self._set_trial_system_attr(frozen, TRIAL_GROUP_ATTR, group)
                self.sampler.before_trial(self, frozen)
            trial = Trial(self, frozen, declared)
            if keep_lease:
                self._keep_lease(frozen.trial_id)
            if space is not None:
                sample_space(trial, space)
        except BaseException as exc:
            if frozen is not None:
                with contextlib.suppress(Exception):
                    self.tell(frozen, state=TrialState.FAIL, fail_reason=failure_reason(exc))
            raise
        return trial

    def tell(
        self,
        trial: Trial | FrozenTrial | int,
        values: ObjectiveValue | None = None,
        state: TrialState | None = None,
        *,
        fail_reason: str | None = None,
        skip_if_finished: bool = False,
    ) -> FrozenTrial:
        """Finish a trial with its value(s), or with ``state=TrialState.PRUNED``/``FAIL``.

        A trial finished already raises TrialAlreadyFinishedError; with ``skip_if_finished``
        it is returned as stored instead (a retried tell, say after a lost connection).
        """
        try:
            frozen = self._resolve_trial(trial)
        except TrialAlreadyFinishedError:
            self._release_lease_of(trial)
            if not skip_if_finished:
                raise
            number = trial.number if isinstance(trial, (Trial, FrozenTrial)) else trial
            # One copy, not one of every trial.
            return next(t for t in self.get_trials(deepcopy=False) if t.number == number).copy()
        if skip_if_finished:
            stored = self._storage.get_trial(frozen.trial_id)
            if stored.state.is_finished():
                self._release_lease(frozen.trial_id)
                return stored.copy()
        if state is None:
            if values is None:
                raise InvalidParameterError(
                    "Study.tell needs the objective value(s) or a state; got neither. "
                    "Pass values=..., or state=TrialState.FAIL (or PRUNED)."
                )
            state = TrialState.COMPLETE
        if not isinstance(state, TrialState) or not state.is_finished():
            raise fail("state", "Study.tell", "TrialState.COMPLETE, PRUNED or FAIL", state)
        stored_values: list[float] | None = None
        if state == TrialState.COMPLETE:
            stored_values, problem = self._check_values(values)
            if problem is not None:
                state, fail_reason = TrialState.FAIL, problem
                # Logged as optimize() logs every other failed trial, so that one logger
                # setting quiets them all (a warning also went unshown on its second time).
                logger.warning(
                    "Trial %d failed with parameters %s: %s", frozen.number, frozen.params, problem
                )
        elif state == TrialState.PRUNED:
            if values is not None:
                stored_values, problem = self._check_values(values)
                if problem is not None and problem != _NAN_RESULT:
                    # Dropping them without a word hid a caller's bug; a NaN is no value.
                    raise InvalidParameterError(
                        f"Study.tell: the values of pruned trial {frozen.number} cannot be "
                        f"stored: {problem.replace(OBJECTIVE_RETURNED, 'got')}. Pass "
                        "numbers, or leave values out to keep its last reported value."
                    )
            elif frozen.intermediate_values and len(self.directions) == 1:
                last = frozen.intermediate_values[max(frozen.intermediate_values)]
                stored_values = None if math.isnan(last) else [last]
        # A skipped duplicate carries its twin's constraint values already (see
        # _finish_if_duplicate); every other finished trial gets the sampler's evaluated.
        if (
            state in (TrialState.COMPLETE, TrialState.PRUNED)
            and DUPLICATE_OF_ATTR not in frozen.system_attrs
        ):
            state, stored_values, fail_reason = self._store_constraints(
                frozen, state, stored_values, fail_reason
            )
        try:
            finished = self._storage.finish_trial(
                frozen.trial_id, state, stored_values, fail_reason
            )
        except StaleTrialError as exc:
            self._release_lease(frozen.trial_id)
            warnings.warn(f"{exc} The late result was not stored.", stacklevel=2)
            return self._storage.get_trial(frozen.trial_id)
        except TrialAlreadyFinishedError:
            self._release_lease(frozen.trial_id)  # finished by another handle
            raise
        self._release_lease(frozen.trial_id)
        self.sampler.after_trial(self, finished)
        return finished

    def _keep_lease(self, trial_id: int) -> None:
        """Renew an asked trial's lease from a background thread until it is told.

        Without it an ask/tell loop whose evaluations outlast ``grace_period`` lost them to
        the next ``ask``'s reaper, its own process's included; a process that dies stops
        renewing, so its trials are still reaped. Optimize renews its trials itself.
        """
        if self._storage.heartbeat_interval is None:
            return
        with self._lease_lock:
            if self._lease_keeper is None:
                # It ends its thread itself once nothing is left to renew: a trial told by
                # another handle, or reaped, must not keep it running.
                keeper = Heartbeat(self._storage, stop_when_idle=True)
                # Nor must a Study nobody holds any more (a notebook cell run again asks on a
                # new one): its untold trials can no longer be told from here, and each kept
                # keeper held a thread and a database connection for good. Their leases then
                # run out, as a dead process's do.
                weakref.finalize(self, keeper.request_stop)
                self._lease_keeper = keeper
            self._lease_keeper.track(trial_id)
            self._lease_keeper.start()

    def _release_lease_of(self, trial: Trial | FrozenTrial | int) -> None:
        frozen = getattr(trial, "_frozen", trial)
        if isinstance(frozen, FrozenTrial) and frozen.trial_id is not None:
            self._release_lease(frozen.trial_id)

    def _release_lease(self, trial_id: int) -> None:
        with self._lease_lock:
            keeper = self._lease_keeper
            if keeper is None:
                return
            keeper.untrack(trial_id)
            if keeper.idle():
                # No thread left behind: a later optimize may fork worker processes.
                keeper.stop()

    def _store_constraints(
        self,
        frozen: FrozenTrial,
        state: TrialState,
        values: list[float] | None,
        fail_reason: str | None,
    ) -> tuple[TrialState, list[float] | None, str | None]:
        """Evaluate the sampler's ``constraints_func`` on the trial as it will be stored, and
        store the result on it while it is still RUNNING. A function that fails fails a
        COMPLETE trial (its feasibility is unknown, and an unknown one must not become the
        best); a PRUNED trial stays pruned, without constraint values."""
        func = getattr(self.sampler, "constraints_func", None)
        if func is None:
            return state, values, fail_reason
        view = frozen.copy()
        view.state, view.values = state, values
        try:
            constraints = evaluate_constraints(func, view)
        except Exception as exc:
            reason = f"constraints_func failed: {type(exc).__name__}: {exc}"
            if state == TrialState.COMPLETE and values is not None:
                # A FAIL trial has no values, yet the evaluation may have cost hours: keep them.
                kept = [json_float(v) for v in values]
                self._set_trial_system_attr(frozen, OBJECTIVE_VALUES_ATTR, kept)
                reason += (
                    f" (the objective's values {kept} are kept in the system attribute "
                    f"{OBJECTIVE_VALUES_ATTR!r})"
                )
            warnings.warn(f"Trial {frozen.number}: {reason}", stacklevel=3)
            if state == TrialState.COMPLETE:
                return TrialState.FAIL, None, reason
            return state, values, fail_reason
        self._set_trial_system_attr(frozen, CONSTRAINTS_ATTR, constraints)
        shadowed = [
            str(i) for i in range(len(constraints)) if NAMED_PREFIX + str(i) in frozen.system_attrs
        ]
        if shadowed:
            # Both forms name their values alike ("0", "1", ... for the list, as in Optuna).
            warnings.warn(
                f"Trial {frozen.number}: set_constraint({shadowed[0]!r}, ...) hides "
                f"constraints_func's value {shadowed[0]}; give set_constraint another name.",
                stacklevel=3,
            )
        return state, values, fail_reason

    def _unusable_result(self, values: Any) -> str | None:
        """Why an objective's return value cannot be told at all (None: it can be). ``tell``
        raises on these, which suits ask-and-tell; from ``optimize`` the trial fails instead."""
        if values is None:
            return (
                "the objective returned None; it must return a float (or one float per "
                "objective): is a `return` missing?"
            )
        try:
            self._check_values(values)
        except InvalidParameterError as exc:  # the wrong number of values
            return str(exc)
        return None

    def _check_values(self, values: Any) -> tuple[list[float] | None, str | None]:
        """The floats to store for ``values``, or (None, why not); a wrong count raises.

        One value is anything ``float()`` takes (Python and numpy numbers, ``Decimal``,
        ``Fraction``, 0-d arrays and tensors, any object with ``__float__``) except text and
        booleans: ``return "0.9"`` or ``return score > best`` is almost always a mistake, and
        either would otherwise be stored as a plausible number. Several values come as a
        sequence or a 1-d array of such values, and so may a single one (``[0.5]``); nothing
        deeper (``[[0.5]]``, a 2-d array) is taken apart."""
        if isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
            items = list(values)
        elif array_ndim(values) == 1:
            items = list(values)
        else:
            if as_float(values) is None:
                return None, (
                    f"the objective returned {_shown(values)} ({type(values).__name__}); "
                    f"{_why_not_a_float(values)}it must return a float (or one float per "
                    "objective)"
                )
            items = [values]
        if len(items) != len(self.directions):
            raise InvalidParameterError(
                f"The study has {len(self.directions)} objective(s) but {len(items)} value(s) "
                f"were given: {values!r}. Return one value per direction."
            )
        floats = []
        for v in items:
            f = as_float(v)
            if f is None:
                why = _why_not_a_float(v).rstrip("; ")
                return None, (
                    f"the objective returned {_shown(v)}, which is not a real number"
                    + (f" ({why})" if why else "")
                )
            if math.isnan(f):
                return None, _NAN_RESULT
            floats.append(f)
        return floats, None

    def _resolve_trial(self, trial: Trial | FrozenTrial | int) -> FrozenTrial:
        if isinstance(trial, Trial):
            if not self._is_same_study(trial.study):
                raise InvalidParameterError(
                    f"{trial!r} belongs to another study; tell it to the study that asked for it."
                )
            return trial._frozen
        if isinstance(trial, FrozenTrial):
            number = trial.number
        elif isinstance(trial, int) and not isinstance(trial, bool):
            number = trial
        else:
            raise fail("trial", "Study.tell", "a Trial, a FrozenTrial or a trial number", trial)
        for t in self.get_trials(deepcopy=False):
            if t.number == number:
                if t.fail_reason and t.fail_reason.startswith("worker lost"):
                    return t  # reaped: tell() warns instead of raising
                if t.state.is_finished():
                    raise TrialAlreadyFinishedError(
                        f"Trial {number} is already finished ({t.state.name}); it cannot be told again."
                    )
                return t
        raise InvalidParameterError(
            f"Study {self.study_name!r} has no trial numbered {number}; tell() takes a trial from ask()."
        )

    def _is_same_study(self, other: Any) -> bool:
        """The same stored study: study ids repeat across storages (every in-memory storage and
        every new SQLite file starts at its own first id), so the storage must match too; two
        handles on one database (the same URL) are the same storage."""
        if other is self:
            return True
        if getattr(other, "_study_id", None) != self._study_id:
            return False
        mine, theirs = self._storage, getattr(other, "_storage", None)
        if theirs is mine:
            return True
        url = getattr(mine, "url", None)
        return url is not None and url == getattr(theirs, "url", None)

    def _fail_lost(self, trial: Trial, fail_reason: str) -> tuple[FrozenTrial, FrozenTrial | None]:
        """Fail a trial whose worker process died and queue its re-run while the study's
        ``retry_failed`` allows, in one storage transaction (a dead ``n_jobs`` or Dask worker is
        as lost as a dead machine, whose trials the reaper fails and re-queues the same way)."""
        frozen = self._resolve_trial(trial)
        try:
            lost, retry = self._storage.fail_lost_trial(
                self._study_id, frozen.trial_id, fail_reason
            )
        except StaleTrialError as exc:
            warnings.warn(f"{exc} The late result was not stored.", stacklevel=2)
            return self._storage.get_trial(frozen.trial_id), None
        self.sampler.after_trial(self, lost)
        return lost, retry

    def enqueue_trial(
        self,
        params: Mapping[str, Any],
        user_attrs: Mapping[str, Any] | None = None,
        skip_if_exists: bool = False,
    ) -> None:
        """Queue a trial whose parameters are fixed in advance; the next ask() runs it.

        ``skip_if_exists=True`` queues nothing when a trial with exactly these parameters is
        already queued, running or finished other than FAIL, so a script re-run on a stored
        study does not evaluate its starting points again (a failed one is queued again). Two
        processes enqueueing the same point at the same moment may both queue it.
        """
        self._enqueue(params, user_attrs, skip_if_exists)

    def _enqueue(
        self,
        params: Mapping[str, Any],
        user_attrs: Mapping[str, Any] | None = None,
        skip_if_exists: bool = False,
    ) -> bool:
        """``enqueue_trial``, saying whether it queued a trial (False: one like it exists)."""
        if not isinstance(params, Mapping):
            raise fail("params", "Study.enqueue_trial", "a dict of parameter values", params)
        fixed = {name: plain_scalar(v) for name, v in params.items()}
        for name, value in fixed.items():
            # One name keeps one distribution within a study, so a value outside the one
            # earlier trials gave it would only fail the queued trial when it runs.
            known = self._known_distribution(name) if isinstance(name, str) else None
            if known is not None and not known.contains(as_given(known, value)):
                raise InvalidParameterError(
                    outside_message(name, "the enqueued value", value, known)
                    + " Earlier trials of this study gave it that distribution, and one name "
                    "keeps one distribution within a study: enqueue a value inside it."
                )
        if skip_if_exists and self._has_trial_with(fixed):
            return False
        template = FrozenTrial(
            number=-1,
            state=TrialState.WAITING,
            user_attrs=dict(user_attrs or {}),
            system_attrs={FIXED_PARAMS_ATTR: fixed},
        )
        self._storage.create_trial(self._study_id, template)
        return True

    def _has_trial_with(self, params: Mapping[str, Any]) -> bool:
        for t in self.get_trials(deepcopy=False):
            if t.state == TrialState.FAIL:
                continue
            known = {**t.params, **(t.system_attrs.get(FIXED_PARAMS_ATTR) or {})}
            if known.keys() == params.keys() and all(known[k] == v for k, v in params.items()):
                return True
        return False

    def add_trial(self, trial: FrozenTrial) -> FrozenTrial:
        """Add a finished trial evaluated elsewhere (for warm starts)."""
        return self.add_trials([trial])[0]

    def add_trials(self, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
        """``add_trial`` for each of ``trials``, in order (copying another study's trials).

        Every trial is checked before any is stored, so a refused one (a RUNNING trial of a
        live study, say) leaves the study as it was, and a corrected retry adds no duplicates.
        """
        trials = list(trials)
        known = dict(self._known_distributions)
        try:
            for trial in trials:
                self._check_addable(trial)
        except BaseException:
            # What the refused batch taught about distributions was never stored.
            self._known_distributions = known
            raise
        return [self._storage.create_trial(self._study_id, t) for t in trials]

    def _check_addable(self, trial: FrozenTrial) -> None:
        if not trial.state.is_finished():
            raise fail("trial", "Study.add_trial", "a finished trial", trial.state)
        label = f"trial {trial.number}" if trial.number >= 0 else "the trial"
        # A trial that does not fit the study would break best_trial and the samplers for
        # every later call, so it is refused here, as ask-and-tell refuses it.
        if trial.state == TrialState.COMPLETE and trial.values is None:
            raise InvalidParameterError(
                f"Study.add_trial: {label} is COMPLETE but has no values; give "
                "values=[...] (one per objective), or state=TrialState.FAIL."
            )
        if trial.state == TrialState.FAIL and trial.values is not None:
            # tell stores none for a failed trial; with values it would read as scored.
            raise InvalidParameterError(
                f"Study.add_trial: {label} is FAIL but has values {trial.values!r}; a failed "
                "trial has none. Drop the values, or give state=TrialState.COMPLETE."
            )
        if trial.values is not None:
            _, problem = self._check_values(trial.values)  # raises on a wrong count
            if problem is not None:
                raise InvalidParameterError(
                    f"Study.add_trial: {label}'s values {trial.values!r} cannot be "
                    f"stored: {problem.replace(OBJECTIVE_RETURNED, 'got')}."
                )
        for name, value in trial.params.items():
            distribution = trial.distributions.get(name)
            if distribution is None:
                raise InvalidParameterError(
                    f"Study.add_trial: parameter {name!r} of {label} has no "
                    f"distribution; give distributions={{{name!r}: Float(...)/Int(...)/"
                    "Categorical(...)}."
                )
            _check_foreign_distribution("Study.add_trial", name, distribution)
            if not distribution.contains(value):
                raise InvalidParameterError(
                    f"Study.add_trial: parameter {name!r} of {label} is {value!r}, "
                    f"outside its distribution {distribution!r}."
                )
            # As for an asked trial: importance and the plots read one distribution per name.
            self._check_distribution(name, distribution)
        check_constraint_attrs(trial, "Study.add_trial")

    def stop(self) -> None:
        """Ask a running optimize() to start no new trial; running ones finish."""
        self._stop_flag = True

    # -- optimize ------------------------------------------------------------------------------
    def optimize(
        self,
        objective: ObjectiveFunc,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        callbacks: Iterable[Callback] | None = None,
        catch: type[Exception] | Iterable[type[Exception]] = (),
        show_progress_bar: bool = False,
        *,
        executor: Executor | None = None,
        trial_timeout: float | None = None,
        gc_after_trial: bool = False,
    ) -> None:
        """Run ``objective`` on new trials until ``n_trials`` ran, ``timeout`` seconds passed,
        the sampler ran out (a finished grid) or ``stop()`` was called.

        ``n_jobs > 1`` runs trials in that many worker processes (real CPU parallelism; the
        objective must be picklable); ``-1`` uses every core. ``trial_timeout`` (seconds) stops a
        trial that runs longer and marks it FAIL with that reason; it runs trials in worker
        processes even with ``n_jobs=1``, since only a process can be stopped reliably.
        ``gc_after_trial`` runs a full garbage collection after each trial (a cheap one of the
        youngest objects runs anyway).
        """
        from ._optimize import run_optimize

        run_optimize(
            self,
            objective,
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            callbacks=list(callbacks or []),
            catch=catch,
            show_progress_bar=show_progress_bar,
            executor=executor,
            trial_timeout=trial_timeout,
            gc_after_trial=bool(gc_after_trial),
        )

    # -- reporting -----------------------------------------------------------------------------
    def trials_dataframe(
        self,
        attrs: Sequence[str] = (
            "number",
            "value",
            "datetime_start",
            "datetime_complete",
            "duration",
            "params",
            "user_attrs",
            "constraints",
            "feasible",
            "fail_reason",
            "state",
        ),
        multi_index: bool = False,
    ) -> pd.DataFrame:
        """One row per trial, one column per attribute in ``attrs`` (in that order), as Optuna's.

        ``attrs`` names ``FrozenTrial`` attributes: ``number``, ``value`` / ``values``,
        ``datetime_start``, ``datetime_complete`` (timezone-aware UTC), ``duration`` (float
        seconds, not a timedelta), ``params``, ``user_attrs``, ``system_attrs``,
        ``intermediate_values``, ``distributions`` (a column per key, ``params_<name>``...,
        sorted by key), ``state`` (its name), ``last_step``, ``trial_id``, and tunelab's
        ``constraints`` (``constraints_<name>``) and ``feasible`` (None until the trial
        finished), which give columns only in a study with constraint values, and
        ``fail_reason``. The default is Optuna's without ``system_attrs`` (tunelab's
        internals) and with ``constraints``, ``feasible`` and ``fail_reason`` before ``state``.

        The objectives: ``value`` for one unnamed objective, else one ``values_<i>`` or
        ``values_<metric name>`` column each (``value`` and ``values`` alike; the names come
        from ``set_metric_names``). ``multi_index=True`` gives two-level columns (``("params",
        "x")``, ``("number", "")``) instead of joining the levels with ``_``. A study without
        trials gives an empty frame."""
        import pandas as pd

        owner = "Study.trials_dataframe"
        known = (
            "number",
            "value",
            "values",
            "datetime_start",
            "datetime_complete",
            "duration",
            "params",
            "user_attrs",
            "system_attrs",
            "intermediate_values",
            "distributions",
            "state",
            "last_step",
            "trial_id",
            "_trial_id",
            "constraints",
            "feasible",
            "fail_reason",
        )
        # A column per key, sorted by key (constraints keep the order they are set in).
        keyed = ("params", "user_attrs", "system_attrs", "intermediate_values", "distributions")
        if (
            isinstance(attrs, str)
            or not isinstance(attrs, Sequence)
            or not all(isinstance(a, str) and a in known for a in attrs)
        ):
            raise fail("attrs", owner, f"a tuple of trial attributes from {known}", attrs)
        if not isinstance(multi_index, bool):
            raise fail("multi_index", owner, "True or False", multi_index)
        trials = self.get_trials(deepcopy=False)
        if not trials:
            return pd.DataFrame()
        names = self.metric_names
        n = len(self.directions)
        # One unnamed objective is "value"; otherwise "value" means the list of "values".
        single = n == 1 and names is None
        wanted = dict.fromkeys(
            "trial_id" if a == "_trial_id" else "values" if a == "value" and not single else a
            for a in attrs
        )
        constrained = any(t.constraints for t in trials)
        if not constrained:
            wanted.pop("constraints", None)
            wanted.pop("feasible", None)
        labels: list[Any] = list(names) if names is not None else list(range(n))
        nested: dict[str, dict[Any, None]] = {a: {} for a in wanted}
        records = []
        for t in trials:
            record: dict[tuple[str, Any], Any] = {}
            for attr in wanted:
                if attr == "values":
                    for label, v in zip(labels, t.values or [None] * n):
                        record[(attr, label)] = v
                    continue
                if attr == "value":
                    got: Any = t.values[0] if t.values else None
                elif attr == "feasible":
                    # Only finished trials have all their constraint values.
                    got = t.feasible if t.state.is_finished() else None
                else:
                    got = getattr(t, attr)
                if isinstance(got, dict):
                    for key, v in got.items():
                        record[(attr, key)] = v
                        nested[attr][key] = None
                else:
                    record[(attr, "")] = got.name if isinstance(got, TrialState) else got
            records.append(record)
        columns: list[tuple[str, Any]] = []
        for attr in wanted:
            if attr == "values":
                columns += [(attr, label) for label in labels]
            elif attr == "constraints":  # in the order they are set: "0", "1", ..., "10"
                columns += [(attr, key) for key in nested[attr]]
            elif attr in keyed:
                columns += [(attr, key) for key in sorted(nested[attr])]
            else:
                columns.append((attr, ""))
        index = (
            pd.MultiIndex.from_tuples(columns) if columns else pd.MultiIndex.from_arrays([[]] * 2)
        )
        frame = pd.DataFrame(records, columns=index)
        if not multi_index:
            frame.columns = ["_".join(str(c) for c in col if c != "") for col in columns]
        return frame

    def _repr_html_(self) -> str:
        from .visualization import study_html

        return study_html(self)

    def explain_sampler(self) -> str:
        """One sentence on how this study chooses its trials."""
        return self.sampler.describe()

    def __repr__(self) -> str:
        return f"Study(study_name={self.study_name!r}, storage={self._storage!r})"


def _check_foreign_distribution(owner: str, name: str, distribution: Any) -> None:
    if isinstance(distribution, Distribution):
        return
    raise InvalidParameterError(
        f"{owner}: the distribution of parameter {name!r} is {distribution!r}, not a tunelab "
        "one; give tunelab.Float, tunelab.Int or tunelab.Categorical (docs/storage.md, 'Trials "
        "from an Optuna database', converts Optuna's)."
    )


def _shown(value: Any) -> str:
    """``repr(value)``, cut short: a fail reason quoted a 400-digit int whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...{text[-12:]} ({len(text)} characters)"


def _why_not_a_float(value: Any) -> str:
    """What makes a number that is not a float unusable, when it is not obvious ('; ' ended)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "an int this large does not fit in a float; "
    if isinstance(value, complex) or "complex" in str(getattr(value, "dtype", "")):
        return "a complex number has no order; "
    return ""


def _default_sampler(seed: int | None) -> BaseSampler:
    from .samplers import AutoSampler

    return AutoSampler(seed=seed)


def create_study(
    study_name: str | None = None,
    storage: str | BaseStorage | None = None,
    direction: str | StudyDirection | None = None,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    load_if_exists: bool = False,
    seed: int | None = None,
    *,
    directions: Sequence[str | StudyDirection] | None = None,
    skip_duplicates: bool = False,
    retry_failed: int = 0,
) -> Study:
    """Create a study (or, with ``load_if_exists=True``, continue one with the same name).

    ``seed`` seeds the default sampler; pass a seed to your own sampler instead of here.
    ``retry_failed=N`` re-queues a trial whose worker was lost (its lease expired) with the same
    parameters, up to N times (storages with leases: SQLite and PostgreSQL).
    ``skip_duplicates=True`` makes optimize() reuse the value of a completed trial with the same
    parameters instead of evaluating them again (the reused trial records ``duplicate_of``).
    """
    owner = "create_study"
    parsed = _parse_directions(direction, directions, owner)
    seed = seed_or_none(seed, "seed", owner)
    if sampler is not None and not isinstance(sampler, BaseSampler):
        raise fail("sampler", owner, "a tunelab sampler or None", sampler)
    if pruner is not None and not isinstance(pruner, BasePruner):
        raise fail("pruner", owner, "a tunelab pruner or None", pruner)
    if sampler is not None and seed is not None:
        raise InvalidParameterError(
            "create_study got both 'sampler' and 'seed'; the seed only seeds the default "
            "sampler. Pass it to your sampler instead, e.g. RandomSampler(seed=...)."
        )
    if study_name is not None and (not isinstance(study_name, str) or not study_name.strip()):
        raise fail("study_name", owner, "a non-empty string or None", study_name)
    if study_name is not None:
        check_name("The study name", study_name)
    backend = get_storage(storage)
    name = study_name or f"study-{uuid.uuid4().hex[:12]}"
    from .exceptions import DuplicatedStudyError

    if not isinstance(skip_duplicates, bool):
        raise fail("skip_duplicates", owner, "True or False", skip_duplicates)
    if isinstance(retry_failed, bool) or not isinstance(retry_failed, int) or retry_failed < 0:
        raise fail("retry_failed", owner, "a non-negative int", retry_failed)
    try:
        options: dict[str, Any] = {}
        if skip_duplicates:
            options[SKIP_DUPLICATES_ATTR] = True
        if retry_failed:
            options[RETRY_FAILED_ATTR] = retry_failed
        study_id = backend.create_study(name, parsed, system_attrs=options)
    except DuplicatedStudyError:
        if not load_if_exists:
            raise
        study_id = backend.get_study_id(name)
        existing = backend.get_study_directions(study_id)
        if existing != parsed:
            raise InvalidParameterError(
                f"Study {name!r} exists with directions {[d.value for d in existing]}, not "
                f"{[d.value for d in parsed]}. Use another name or the stored directions."
            ) from None
        # Resuming with these options turns them on for the stored study (they used to be
        # ignored).
        if skip_duplicates:
            backend.set_study_attr(study_id, SKIP_DUPLICATES_ATTR, True, system=True)
        if retry_failed:
            backend.set_study_attr(study_id, RETRY_FAILED_ATTR, retry_failed, system=True)
    return Study(name, backend, sampler if sampler is not None else _default_sampler(seed), pruner)


def load_study(
    study_name: str | None = None,
    storage: str | BaseStorage | None = None,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    seed: int | None = None,
) -> Study:
    """Open an existing study. With one study in the storage, ``study_name`` may be omitted."""
    if storage is None:
        raise fail("storage", "load_study", "a database URL or a storage object", storage)
    backend = get_storage(storage)
    if study_name is None:
        names = [s.study_name for s in backend.list_studies()]
        if len(names) != 1:
            raise InvalidParameterError(
                f"load_study needs a study_name: the storage holds {len(names)} studies "
                f"({', '.join(repr(n) for n in names[:5])}{'...' if len(names) > 5 else ''})."
            )
        study_name = names[0]
    study_id = backend.get_study_id(study_name)
    from ._transfer import UnfinishedImportWarning, unfinished_import

    unfinished = unfinished_import(backend, study_id, storage if isinstance(storage, str) else None)
    if unfinished is not None:
        # A study left by a killed import looks whole; loading it is allowed (to inspect or
        # delete it), but never silently.
        warnings.warn(unfinished, UnfinishedImportWarning, stacklevel=2)
    return Study(study_name, backend, sampler or _default_sampler(seed), pruner)


def delete_study(study_name: str, storage: str | BaseStorage) -> None:
    backend = get_storage(storage)
    backend.delete_study(backend.get_study_id(study_name))


def get_all_study_summaries(storage: str | BaseStorage) -> list[Any]:
    return get_storage(storage).list_studies()


def _checked_states(states: Any) -> Container[TrialState] | None:
    """``states`` as a collection of TrialState members; one member alone is taken as a set of
    one. Anything else (strings, another library's states) would match no trial and return an
    empty list without a word, so it is refused by name."""
    if states is None:
        return None
    if isinstance(states, TrialState):
        return (states,)
    if isinstance(states, (str, bytes)):
        states = (states,)
    if not isinstance(states, Iterable):
        raise fail(
            "states",
            "Study.get_trials",
            "None or a collection of tunelab.TrialState members",
            states,
            "For example states=(tl.TrialState.COMPLETE, tl.TrialState.PRUNED).",
        )
    members = tuple(states)
    for member in members:
        if not isinstance(member, TrialState):
            raise fail(
                "states",
                "Study.get_trials",
                "a collection of tunelab.TrialState members",
                member,
                f"Use tunelab.TrialState.{_state_name(member)} (an Optuna TrialState or a "
                "string matches no trial).",
            )
    return members


def _state_name(member: Any) -> str:
    name = str(getattr(member, "name", member)).upper()
    return name if name in TrialState.__members__ else "COMPLETE"


def _default_pruner(n_objectives: int) -> BasePruner:
    """The median rule for one objective, as Optuna's default: an objective written the
    Optuna way (``report`` and ``should_prune`` with no pruner chosen) prunes as its author
    expects. It does nothing for an objective that never reports. With several objectives
    there is no median to compare with, so nothing is pruned unless a pruner is chosen."""
    return MedianPruner() if n_objectives == 1 else NopPruner()


def create_trial(
    *,
    state: TrialState = TrialState.COMPLETE,
    value: float | None = None,
    values: Sequence[float] | None = None,
    params: Mapping[str, Any] | None = None,
    distributions: Mapping[str, Distribution] | None = None,
    user_attrs: Mapping[str, Any] | None = None,
    system_attrs: Mapping[str, Any] | None = None,
    intermediate_values: Mapping[int, float] | None = None,
) -> FrozenTrial:
    """A finished trial evaluated elsewhere, for :meth:`Study.add_trial` (warm starts).

    Give ``value`` for one objective or ``values`` for several; ``Study.add_trial`` checks the
    values against the study and each parameter against its distribution.
    """
    if value is not None and values is not None:
        raise InvalidParameterError(
            "create_trial takes `value` (one objective) or `values` (several), not both."
        )
    if not isinstance(state, TrialState) or not state.is_finished():
        raise fail("state", "create_trial", "TrialState.COMPLETE, PRUNED or FAIL", state)
    for name, distribution in (distributions or {}).items():
        _check_foreign_distribution("create_trial", name, distribution)
    if value is not None:
        values = [value]
    moment = datetime.now(UTC)
    return FrozenTrial(
        number=-1,
        state=state,
        values=None if values is None else list(values),
        params=dict(params or {}),
        distributions=dict(distributions or {}),
        user_attrs=dict(user_attrs or {}),
        system_attrs=dict(system_attrs or {}),
        intermediate_values=dict(intermediate_values or {}),
        datetime_start=moment,
        datetime_complete=moment,
    )
