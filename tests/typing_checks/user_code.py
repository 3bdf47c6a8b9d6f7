"""User code that must type-check against tunelab's hints (run by tests/test_typing.py, never
imported): each line is a spelling the docs show or an Optuna user writes."""

import numpy as np

import tunelab as tl
from tunelab.pruners import MedianPruner
from tunelab.samplers import TPESampler


def objective(trial: tl.Trial) -> float:
    kernel: str = trial.suggest_categorical("kernel", ["rbf", "linear"])
    depth: int | None = trial.suggest_categorical("depth", [2, 4, None])
    c: float = trial.suggest_float("c", 1e-3, 1e3, log=True)
    n: int = trial.suggest_int("n", 1, 10)
    trial.report(c, step=0)
    if trial.should_prune():
        raise tl.TrialPruned()
    return c * n + len(kernel) + (depth or 0)


def vector_objective(trial: tl.Trial) -> np.ndarray:
    x = trial.suggest_float("x", 0, 1)
    return np.array([x, 1 - x])


def stop_early(study: tl.Study, trial: tl.FrozenTrial) -> bool:
    return trial.number > 3


study = tl.create_study(sampler=TPESampler(seed=0), pruner=MedianPruner())
study.optimize(objective, n_trials=3, callbacks=[stop_early], catch=(ValueError,))
best: dict[str, object] = study.best_params
value: float = study.best_value
asked = study.ask()
study.tell(asked, np.float32(1.0))
study.tell(study.ask(), np.array([0.5]))

pair = tl.create_study(directions=["minimize", "maximize"])
pair.optimize(vector_objective, n_trials=2)

executor = tl.ProcessExecutor(n_workers=2)
search_cls = tl.sklearn.SearchCV
history = tl.visualization.plot_optimization_history
importances: dict[str, float] = tl.importance.get_param_importances(study)
sampler = tl.samplers.RandomSampler(seed=1)
pruner = tl.pruners.NopPruner()
