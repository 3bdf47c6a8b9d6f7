"""The default sampler: picks a strategy per trial from the space, the budget, the number of
objectives and how much has been learned so far, and says why."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._constraints import check_constraints_func
from .._frozen import TrialState
from .._space import Categorical, Distribution, Float
from .._validation import fail, is_int, seed_or_none
from ._base import BaseSampler, fresh_seed
from ._qmc import QMCSampler

if TYPE_CHECKING:
    from .._frozen import FrozenTrial
    from .._study import Study

CHOICE_ATTR = "auto_sampler"

# A Gaussian process is the stronger model on small numeric spaces, but its cost grows with the
# number of trials and it has no natural handling of conditional parameters; TPE scales and
# models conditional and categorical spaces well.
_GP_MAX_DIMENSIONS = 16
_GP_MAX_TRIALS = 250
_GP_MAX_CATEGORICAL_SHARE = 0.5
_GP_MAX_WORKERS = 8
# On a finite space the Sobol start can land on a point already tried (the first trial of a
# define-by-run study comes from other sequences, enqueued trials from the user); it then
# takes the first of this many following points of the sequence that is new.
_SOBOL_LOOKAHEAD = 32


def _load(name: str) -> type[BaseSampler] | None:
    module = {
        "TPESampler": "._tpe",
        "GPSampler": "._gp",
        "QMCSampler": "._qmc",
        "RandomSampler": "._random",
    }[name]
    try:
        return getattr(importlib.import_module(module, __package__), name)
    except (ImportError, AttributeError):
        return None


class AutoSampler(BaseSampler):
    """Chooses, for every trial, between quasi-random search (the first trials), a Gaussian
    process (small numeric spaces, modest budgets) and TPE (conditional, categorical-heavy or
    high-dimensional spaces, long runs, several objectives). Each trial records the choice in its
    system attribute ``auto_sampler``; ``describe()`` explains the latest one in a sentence.
    ``constraints_func`` is handed to the GP and TPE it picks, which both steer by it."""

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int = 10,
        *,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        self.constraints_func = check_constraints_func(constraints_func, "AutoSampler")
        self.seed = seed_or_none(seed, "seed", "AutoSampler")
        # Integral, as TPE and GP take it (np.int64 from a config array was refused here only).
        if not is_int(n_startup_trials) or n_startup_trials < 0:
            raise fail("n_startup_trials", "AutoSampler", "a non-negative int", n_startup_trials)
        self.n_startup_trials = int(n_startup_trials)
        self._seed = self.seed if self.seed is not None else fresh_seed()
        self._delegates: dict[str, BaseSampler] = {}
        self._budget: int | None = None
        self._n_workers = 1
        self._last_reason = "AutoSampler has not chosen yet: it starts with quasi-random search."

    def plan(self, study: Study, n_trials: int | None, n_workers: int) -> None:
        self._budget = n_trials
        self._n_workers = n_workers

    def _delegate(self, name: str) -> BaseSampler:
        if name not in self._delegates:
            cls = _load(name) or _load("RandomSampler")
            assert cls is not None
            offset = {"QMCSampler": 1, "GPSampler": 2, "TPESampler": 3}.get(name, 4)
            options: dict[str, Any] = {}
            if name in ("GPSampler", "TPESampler"):
                # The quasi-random start is ours (see _startup_trials); a model handed the
                # study must not run a second start of its own.
                options["n_startup_trials"] = min(2, self.n_startup_trials)
                options["constraints_func"] = self.constraints_func
            self._delegates[name] = cls(seed=(self._seed + offset) % 2**32, **options)
        return self._delegates[name]

    def _startup_trials(self) -> int:
        """How many quasi-random trials to run before a model takes over.

        With a short known budget (a SearchCV of 25 configurations), ten space-filling points
        would spend most of it before learning anything; a quarter of the budget, at least 3,
        still spreads the first points out.
        """
        if self._budget is None:
            return self.n_startup_trials
        return min(self.n_startup_trials, max(3, self._budget // 4))

    def _choose(self, study: Study) -> tuple[str, str]:
        finished = study.get_trials((TrialState.COMPLETE, TrialState.PRUNED), deepcopy=False)
        n_done = len(finished)
        n_startup = self._startup_trials()
        if n_done < n_startup:
            return "QMCSampler", (
                f"only {n_done} of the first {n_startup} trials have finished, and those use "
                "quasi-random (Sobol) search to cover the space before any model is fitted"
            )
        if len(study.directions) > 1:
            return (
                "TPESampler",
                f"the study has {len(study.directions)} objectives, which TPE models",
            )
        union: dict[str, Distribution] = {}
        for t in finished:
            union.update(t.distributions)
        shared = study._intersection_search_space()
        varying = {n: d for n, d in union.items() if not d.is_single()}
        n_cat = sum(isinstance(d, Categorical) for d in varying.values())
        conditional = set(varying) - set(shared)
        budget = self._budget
        if _load("GPSampler") is None:
            return "TPESampler", "no Gaussian-process sampler is available"
        if conditional:
            return "TPESampler", (
                f"{len(conditional)} parameter(s) ({', '.join(sorted(conditional)[:3])}) appear only "
                "in some trials, and TPE models conditional spaces"
            )
        if len(varying) > _GP_MAX_DIMENSIONS:
            return (
                "TPESampler",
                f"the space has {len(varying)} dimensions, too many for a GP to model well",
            )
        if varying and n_cat / len(varying) > _GP_MAX_CATEGORICAL_SHARE:
            return "TPESampler", f"{n_cat} of {len(varying)} parameters are categorical"
        if self._n_workers > _GP_MAX_WORKERS:
            return "TPESampler", (
                f"{self._n_workers} workers run at once, and TPE's constant liar scales to many "
                "pending trials more cheaply than a GP's fantasies"
            )
        if n_done >= _GP_MAX_TRIALS or (budget is not None and budget > 4 * _GP_MAX_TRIALS):
            return "TPESampler", (
                f"the run is long ({n_done} trials done, budget {budget}), where TPE's cost per "
                "trial stays flat"
            )
        return "GPSampler", (
            f"the space has {len(varying)} parameter(s), none conditional"
            + (f", {n_cat} categorical" if n_cat else "")
            + ", and a Gaussian process makes the most of a modest budget"
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        name, reason = self._choose(study)
        self._last_reason = f"AutoSampler chose {name} for trial {trial.number} because {reason}."
        study._set_trial_system_attr(trial, CHOICE_ATTR, name)
        self._delegate(name).before_trial(study, trial)

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        return self._delegate(trial.system_attrs.get(CHOICE_ATTR, "QMCSampler"))

    def infer_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, Distribution]:
        return self._for(trial).infer_search_space(study, trial)

    def sample_joint(
        self, study: Study, trial: FrozenTrial, search_space: Mapping[str, Distribution]
    ) -> dict[str, Any]:
        delegate = self._for(trial)
        point = delegate.sample_joint(study, trial, search_space)
        if not point or not isinstance(delegate, QMCSampler):
            return point
        if not all(_is_finite(search_space[name]) for name in point):
            return point  # a continuous draw does not repeat
        seen = {
            _point_key(t.params, point)
            for t in study.get_trials(deepcopy=False)
            if t.number != trial.number and all(name in t.params for name in point)
        }
        for ahead in range(_SOBOL_LOOKAHEAD + 1):
            candidate = delegate.point_at(search_space, trial.number + ahead) if ahead else point
            if _point_key(candidate, point) not in seen:
                return candidate
        return point

    def sample_one(
        self, study: Study, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> Any:
        return self._for(trial).sample_one(study, trial, name, distribution)

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._for(trial).after_trial(study, trial)

    def describe(self) -> str:
        return self._last_reason


def _is_finite(dist: Distribution) -> bool:
    return not isinstance(dist, Float) or dist.step is not None


def _point_key(params: Mapping[str, Any], names: Mapping[str, Any]) -> tuple[str, ...]:
    # repr tells True from 1 and 1 from 1.0, as a categorical does.
    return tuple(repr(params[name]) for name in names)
