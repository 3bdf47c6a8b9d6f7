"""Every optimizer behind one call: ``run(task, budget, seed) -> Trace``.

Only the optimizer's own time (ask + tell, or the whole run minus the objective) is counted as
overhead. tunelab and Optuna see each task's distributions natively; Hyperopt, scikit-optimize
and SMAC see numeric dimensions through the same unit-interval map tunelab's samplers use
(``Distribution.from_unit``), so log ranges are searched in log space and integers are rounded
the same way everywhere.
"""

from __future__ import annotations

import importlib
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunelab import Categorical, Distribution, Float, Int

from ._tasks import Task


@dataclass
class Trace:
    values: list[float]  # objective value of each trial, in order
    overhead_s: float  # optimizer time, objective time excluded


@dataclass
class Optimizer:
    name: str
    family: str  # "tunelab" or "anchor"
    make_runner: Callable[[], Callable[[Task, int, int], Trace]]
    note: str = ""
    runner: Callable[[Task, int, int], Trace] | None = field(default=None, repr=False)

    def available(self) -> tuple[bool, str]:
        """Whether it imports here; the reason when it does not."""
        try:
            self.runner = self.make_runner()
        except Exception as exc:  # an anchor that does not install is reported, not fatal
            return False, f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        return True, self.note

    def run(self, task: Task, budget: int, seed: int) -> Trace:
        if self.runner is None:
            self.runner = self.make_runner()
        return self.runner(task, budget, seed)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 1e300


# -- tunelab ---------------------------------------------------------------------------------------

# Samplers not yet re-exported by tunelab.samplers are looked up in their private module, so a
# sampler is benchmarked as soon as it exists.
_TUNELAB_SAMPLERS = {
    "RandomSampler": "_random",
    "QMCSampler": "_qmc",
    "TPESampler": "_tpe",
    "GPSampler": "_gp",
    "CmaEsSampler": "_cmaes",
    "AutoSampler": "_auto",
}


def _tunelab_class(name: str) -> tuple[type, str]:
    import tunelab.samplers as samplers

    if hasattr(samplers, name):
        return getattr(samplers, name), ""
    module = importlib.import_module(f"tunelab.samplers.{_TUNELAB_SAMPLERS[name]}")
    return getattr(module, name), f"from tunelab.samplers.{_TUNELAB_SAMPLERS[name]}"


def _tunelab_runner(class_name: str | None) -> Callable[[Task, int, int], Trace]:
    import tunelab as tl

    cls = None if class_name is None else _tunelab_class(class_name)[0]

    def run(task: Task, budget: int, seed: int) -> Trace:
        sampler = None if cls is None else cls(seed=seed)
        study = tl.create_study(sampler=sampler, seed=seed if cls is None else None)
        values, overhead = [], 0.0
        for _ in range(budget):
            t0 = time.perf_counter()
            trial = study.ask(task.space)
            overhead += time.perf_counter() - t0
            value = task.objective(dict(trial.params))
            t0 = time.perf_counter()
            study.tell(trial, value)
            overhead += time.perf_counter() - t0
            values.append(value)
        return Trace(values, overhead)

    return run


def _tunelab_optimizer(class_name: str, label: str) -> Optimizer:
    def make() -> Callable[[Task, int, int], Trace]:
        _tunelab_class(class_name)  # raises when the sampler does not exist yet
        return _tunelab_runner(class_name)

    note = ""
    try:
        note = _tunelab_class(class_name)[1]
    except Exception:
        pass
    return Optimizer(f"tunelab {label}", "tunelab", make, note)


# -- Optuna ----------------------------------------------------------------------------------------


def _optuna_distribution(d: Distribution) -> Any:
    import optuna

    if isinstance(d, Float):
        return optuna.distributions.FloatDistribution(d.low, d.high, log=d.log, step=d.step)
    if isinstance(d, Int):
        return optuna.distributions.IntDistribution(d.low, d.high, log=d.log, step=d.step)
    assert isinstance(d, Categorical)
    return optuna.distributions.CategoricalDistribution(list(d.choices))


def _optuna_runner(make_sampler: Callable[[int], Any]) -> Callable[[Task, int, int], Trace]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def run(task: Task, budget: int, seed: int) -> Trace:
        dists = {n: _optuna_distribution(d) for n, d in task.space.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature and fallback warnings
            study = optuna.create_study(sampler=make_sampler(seed))
            values, overhead = [], 0.0
            for _ in range(budget):
                t0 = time.perf_counter()
                trial = study.ask(dists)
                overhead += time.perf_counter() - t0
                value = task.objective(dict(trial.params))
                t0 = time.perf_counter()
                study.tell(trial, _finite(value))
                overhead += time.perf_counter() - t0
                values.append(value)
        return Trace(values, overhead)

    return run


def _optuna_optimizer(label: str, make_sampler: Callable[[int], Any], note: str = "") -> Optimizer:
    def make() -> Callable[[Task, int, int], Trace]:
        import optuna  # noqa: F401

        make_sampler(0)  # raises here when a dependency (torch for GP) is missing
        return _optuna_runner(make_sampler)

    return Optimizer(f"Optuna {label}", "anchor", make, note)


def _optuna_gp(seed: int) -> Any:
    import optuna
    import torch  # noqa: F401  # Optuna's GPSampler needs it, and only says so at the first trial

    return optuna.samplers.GPSampler(seed=seed)


# -- Hyperopt --------------------------------------------------------------------------------------


def _hyperopt_runner() -> Callable[[Task, int, int], Trace]:
    import hyperopt
    from hyperopt import hp

    logging.getLogger("hyperopt").setLevel(logging.ERROR)

    def run(task: Task, budget: int, seed: int) -> Trace:
        space = {}
        for name, d in task.space.items():
            if isinstance(d, Categorical):
                space[name] = hp.choice(name, list(range(len(d.choices))))
            else:
                space[name] = hp.uniform(name, 0.0, 1.0)
        values: list[float] = []
        spent = [0.0]

        def objective(u: dict[str, Any]) -> float:
            t0 = time.perf_counter()
            params = {
                n: d.choices[u[n]] if isinstance(d, Categorical) else d.from_unit(u[n])
                for n, d in task.space.items()
            }
            value = task.objective(params)
            values.append(value)
            spent[0] += time.perf_counter() - t0
            return _finite(value)

        t0 = time.perf_counter()
        hyperopt.fmin(
            objective,
            space,
            algo=hyperopt.tpe.suggest,
            max_evals=budget,
            trials=hyperopt.Trials(),
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
        return Trace(values, time.perf_counter() - t0 - spent[0])

    return run


# -- scikit-optimize -------------------------------------------------------------------------------


def _skopt_runner() -> Callable[[Task, int, int], Trace]:
    import skopt

    def run(task: Task, budget: int, seed: int) -> Trace:
        names = list(task.space)
        dims = []
        for name in names:
            d = task.space[name]
            if isinstance(d, Categorical):
                dims.append(skopt.space.Categorical(list(range(len(d.choices))), name=name))
            else:
                dims.append(skopt.space.Real(0.0, 1.0, name=name))
        opt = skopt.Optimizer(dims, base_estimator="GP", n_initial_points=10, random_state=seed)
        values, overhead = [], 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GP fits warn about hitting bounds of their scale
            for _ in range(budget):
                t0 = time.perf_counter()
                x = opt.ask()
                overhead += time.perf_counter() - t0
                params = {
                    n: d.choices[int(v)] if isinstance(d, Categorical) else d.from_unit(float(v))
                    for n, d, v in zip(names, (task.space[n] for n in names), x)
                }
                value = task.objective(params)
                t0 = time.perf_counter()
                opt.tell(x, _finite(value))
                overhead += time.perf_counter() - t0
                values.append(value)
        return Trace(values, overhead)

    return run


# -- SMAC3 -----------------------------------------------------------------------------------------


def _smac_runner() -> Callable[[Task, int, int], Trace]:
    import ConfigSpace as CS
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    def run(task: Task, budget: int, seed: int) -> Trace:
        cs = CS.ConfigurationSpace(seed=seed)
        for name, d in task.space.items():
            if isinstance(d, Categorical):
                cs.add(CS.Categorical(name, [str(i) for i in range(len(d.choices))]))
            else:
                cs.add(CS.Float(name, (0.0, 1.0)))
        values, overhead = [], 0.0
        with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scenario = Scenario(
                cs, deterministic=True, n_trials=budget, seed=seed, output_directory=out
            )
            t0 = time.perf_counter()
            smac = HyperparameterOptimizationFacade(
                scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40
            )
            overhead += time.perf_counter() - t0
            for _ in range(budget):
                t0 = time.perf_counter()
                info = smac.ask()
                overhead += time.perf_counter() - t0
                config = dict(info.config)
                params = {
                    n: d.choices[int(config[n])]
                    if isinstance(d, Categorical)
                    else d.from_unit(float(config[n]))
                    for n, d in task.space.items()
                }
                value = task.objective(params)
                t0 = time.perf_counter()
                smac.tell(info, TrialValue(cost=_finite(value)))
                overhead += time.perf_counter() - t0
                values.append(value)
        return Trace(values, overhead)

    return run


# -- the line-up -----------------------------------------------------------------------------------

RANDOM_BASELINE = "tunelab Random"


def all_optimizers() -> list[Optimizer]:
    import_note = "unit-interval view of numeric dimensions"

    def optuna_tpe(seed: int) -> Any:
        import optuna

        return optuna.samplers.TPESampler(seed=seed)

    def optuna_tpe_mv(seed: int) -> Any:
        import optuna

        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)

    def optuna_cma(seed: int) -> Any:
        import optuna

        return optuna.samplers.CmaEsSampler(seed=seed)

    return [
        _tunelab_optimizer("RandomSampler", "Random"),
        _tunelab_optimizer("QMCSampler", "QMC"),
        _tunelab_optimizer("TPESampler", "TPE"),
        _tunelab_optimizer("GPSampler", "GP"),
        _tunelab_optimizer("CmaEsSampler", "CMA-ES"),
        _tunelab_optimizer("AutoSampler", "Auto"),
        Optimizer("tunelab default", "tunelab", lambda: _tunelab_runner(None), "sampler=None"),
        _optuna_optimizer("TPE", optuna_tpe),
        _optuna_optimizer("TPE (multivariate)", optuna_tpe_mv, "multivariate=True, group=True"),
        _optuna_optimizer("GP", _optuna_gp),
        _optuna_optimizer("CMA-ES", optuna_cma, "categoricals fall back to random"),
        Optimizer("Hyperopt TPE", "anchor", _hyperopt_runner, import_note),
        Optimizer("skopt GP", "anchor", _skopt_runner, "Optimizer ask/tell; " + import_note),
        Optimizer("SMAC3 HPO", "anchor", _smac_runner, "HPO facade; " + import_note),
    ]
