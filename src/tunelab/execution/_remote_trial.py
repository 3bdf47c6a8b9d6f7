"""The trial an objective sees inside a worker: a proxy whose calls the driver answers.

Validation of arguments happens here, in the worker, so a bad ``suggest_float`` raises where the
user wrote it; everything that needs the study (sampling, storage, pruning) goes to the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._constraints import check_constraint_value, constraint_key, constraint_values
from .._frozen import FrozenTrial, TrialState
from .._space import (
    Distribution,
)
from .._suggest import SuggestMethods
from .._trial import Trial, check_report, check_suggest, refuse_report_with_several_objectives
from .._validation import json_attr
from ..storage._rules import check_writable

# The only Trial methods a worker may invoke on the driver.
REMOTE_METHODS = frozenset(
    {
        "suggest",
        "report",
        "report_values",
        "should_prune",
        "set_user_attr",
        "set_constraint",
        "heartbeat",
    }
)
# Read-only properties a worker may read from the driver's trial and from its study.
TRIAL_READS = frozenset({"system_attrs", "distributions"})
STUDY_READS = frozenset(
    {
        "study_name",
        "direction",
        "directions",
        "user_attrs",
        "trials",
        "best_trial",
        "best_trials",
        "best_params",
        "best_value",
    }
)
# What a worker may change on the driver's study: stop it (after the running trials), and note
# something on it for every later trial and the user to read.
STUDY_WRITES = frozenset({"stop", "set_user_attr"})
_WHERE = (
    "in a worker process (n_jobs > 1, trial_timeout or another executor), and the Study stays "
    "in the driver process"
)


class RemoteStudy:
    """What a worker's ``trial.study`` offers: the views in ``STUDY_READS`` and ``get_trials``,
    each read from the driver's study when asked, and ``stop`` and ``set_user_attr``, which the
    driver carries out on its study."""

    def __init__(self, call: Callable[[str, tuple[Any, ...]], Any]) -> None:
        self._call = call

    def get_trials(
        self, states: Container[TrialState] | TrialState | None = None, *, deepcopy: bool = True
    ) -> list[FrozenTrial]:
        # Trials reach the worker pickled, so they are always copies; deepcopy is accepted so
        # that code written for Study runs unchanged.
        return self._call("get_trials", (states,))

    def stop(self) -> None:
        """Ask the driver's optimize() to start no new trial; running ones finish."""
        self._call("study_write", ("stop",))

    def set_user_attr(self, key: str, value: Any) -> None:
        value = json_attr("Study.set_user_attr", key, value)
        self._call("study_write", ("set_user_attr", key, value))

    def __getattr__(self, name: str) -> Any:
        # STUDY_READS is the one list of what a worker may read (the driver checks it too).
        if name in STUDY_READS:
            return self._call("study_read", (name,))
        if name.startswith("__"):
            raise AttributeError(name)
        offered = ", ".join(sorted(STUDY_READS | STUDY_WRITES | {"get_trials"}))
        raise AttributeError(
            f"trial.study.{name} is not available here: the objective runs {_WHERE}. A worker's "
            f"trial.study offers only what the driver answers ({offered}). Read what else you "
            "need before optimize() and capture it in the objective, pass results back with "
            "trial.set_user_attr, or run with n_jobs=1."
        )

    def __repr__(self) -> str:
        return "RemoteStudy()"


class RemoteTrial(SuggestMethods):
    """Stands in for :class:`tunelab.Trial` in another process or on another machine."""

    def __init__(
        self,
        call: Callable[[str, tuple[Any, ...]], Any],
        number: int,
        params: dict[str, Any],
        user_attrs: dict[str, Any],
        datetime_start: datetime | None,
        prefetched: dict[str, tuple[Distribution, Any]] | None = None,
        *,
        distributions: Mapping[str, Distribution] | None = None,
        n_objectives: int | None = None,
    ) -> None:
        self._call = call
        self.number = number
        # Given by executors that send reports without waiting for an answer, so that a report
        # in a multi-objective study fails where it was made, as with n_jobs=1.
        self._n_objectives = n_objectives
        self._params = dict(params)
        # Distributions of ``_params``; a sender that does not pass them leaves the check of a
        # repeated suggest of those names to the driver.
        self._distributions = {n: d for n, d in (distributions or {}).items() if n in params}
        self._user_attrs = dict(user_attrs)
        self._intermediate: dict[int, float] = {}
        self.datetime_start = datetime_start
        # Values the driver drew before dispatch: answered here without a round trip, and
        # reported back with the result so the driver stores them.
        self._prefetched = dict(prefetched or {})
        self.used_prefetched: dict[str, Distribution] = {}
        self.study = RemoteStudy(call)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        if len(self._distributions) < len(self._params):
            known = self._call("read", ("distributions",))
            for name in self._params:
                self._distributions.setdefault(name, known[name])
        return dict(self._distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return self._call("read", ("system_attrs",))

    @property
    def state(self) -> TrialState:
        # The objective only ever runs while its trial is running.
        return TrialState.RUNNING

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    def suggest(self, name: str, distribution: Distribution) -> Any:
        # Trial.suggest's own checks: a prefetched or repeated parameter is answered here, so
        # the driver never gets to check it.
        known = self._distributions.get(name) if isinstance(name, str) else None
        check_suggest(self.number, name, distribution, known)
        if name in self._params:
            if known is None:
                value = self._call("suggest", (name, distribution))
                self._distributions[name] = distribution
                return value
            return self._params[name]
        ahead = self._prefetched.get(name)
        if ahead is not None and ahead[0] == distribution:
            self.used_prefetched[name] = distribution
            value = ahead[1]
        else:
            value = self._call("suggest", (name, distribution))
        self._params[name] = value
        self._distributions[name] = distribution
        return value

    def report(self, value: float, step: int) -> None:
        # Checked here too, because some executors send reports without waiting for an answer.
        value, step = check_report(value, step)  # plain numbers cross to the driver
        if self._n_objectives is not None:
            refuse_report_with_several_objectives(self._n_objectives)
        self._call("report", (value, step))
        self._intermediate[step] = value

    def report_values(self, values: Sequence[float], step: int) -> None:
        self._call("report_values", (list(values), step))

    def should_prune(self) -> bool:
        return bool(self._call("should_prune", ()))

    def set_user_attr(self, key: str, value: Any) -> None:
        # Checked and stored as JSON here, as by Trial.set_user_attr: a bad value fails where
        # the user set it, and this trial's user_attrs read back what the storage holds.
        value = json_attr("Trial.set_user_attr", key, value)
        self._call("set_user_attr", (key, value))
        self._user_attrs[key] = value

    @property
    def constraints(self) -> dict[str, float]:
        """The constraint values set so far, by name (read from the driver's trial)."""
        return constraint_values(
            FrozenTrial(
                number=self.number, state=TrialState.RUNNING, system_attrs=self.system_attrs
            )
        )

    def set_constraint(self, name: str, value: float) -> None:
        # Checked here, as by Trial.set_constraint, so a bad value fails where it was set.
        constraint_key(name)
        self._call("set_constraint", (name, check_constraint_value(name, value)))

    def heartbeat(self) -> None:
        self._call("heartbeat", ())

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the proxy lacks: say why for the parts of Trial it leaves out.
        if name.startswith("_") or not hasattr(Trial, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise AttributeError(
            f"Trial.{name} is not available here: the objective runs {_WHERE}. A worker's trial "
            "offers number, params, distributions, user_attrs, system_attrs, state, "
            "datetime_start, intermediate_values, study (views, stop, set_user_attr), suggest_*, report, "
            "report_values, should_prune, set_user_attr, set_constraint and heartbeat. Run with "
            "n_jobs=1 to use "
            f"Trial.{name}."
        )

    # A handle, as Trial is (see Trial.__deepcopy__): scikit-learn's clone deep-copies the
    # pruning callbacks that hold it.
    def __copy__(self) -> RemoteTrial:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> RemoteTrial:
        return self

    def __repr__(self) -> str:
        return f"RemoteTrial(number={self.number}, params={self._params!r})"


def acts_on_trial(method: str) -> bool:
    """Whether a worker's call reads or changes its own trial (rather than the study): such a
    call through the handle of a trial that is no longer running is refused, as with n_jobs=1."""
    return method in REMOTE_METHODS or method == "read"


def finished_error(study: Any, number: int) -> BaseException | None:
    """What n_jobs=1 raises for a change to trial ``number`` of ``study`` once it is finished
    (None while it is not, or if the study has no such trial)."""
    trials = study.get_trials(deepcopy=False)
    # Numbers run 0, 1, 2, ... without a gap, so the list's index is the number.
    frozen = trials[number] if 0 <= number < len(trials) else None
    if frozen is None or frozen.number != number:
        return None
    try:
        check_writable(frozen)
    except Exception as exc:
        return exc
    return None


def stale_call_error(study: Any, number: int, method: str) -> BaseException:
    """The error for a call made through trial ``number``'s handle after that trial left the
    worker (a handle kept in a cache, a thread still reporting): what n_jobs=1 raises for a
    finished trial. Served on the trial the worker runs now, it used to land there."""
    return finished_error(study, number) or RuntimeError(
        f"Trial.{method} was called through trial {number}'s handle, but trial {number} is not "
        "the one running in this worker; call it on the trial the objective was given."
    )


def serve_call(trial: Any, method: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """Run a worker's call on the driver's live trial; errors travel back to the worker."""
    try:
        if method in REMOTE_METHODS:
            return "ok", getattr(trial, method)(*args)
        if method == "read" and args[0] in TRIAL_READS:
            return "ok", getattr(trial, args[0])
        if method == "study_read" and args[0] in STUDY_READS:
            return "ok", getattr(trial.study, args[0])
        if method == "study_write" and args[0] in STUDY_WRITES:
            return "ok", getattr(trial.study, args[0])(*args[1:])
        if method == "get_trials":
            return "ok", trial.study.get_trials(*args, deepcopy=False)
    except Exception as exc:
        return "error", exc
    return "error", RuntimeError(f"Trial.{method} cannot be called from a worker.")
