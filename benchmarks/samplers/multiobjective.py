"""Multi-objective samplers side by side: hypervolume of the feasible Pareto front.

    .venv/bin/python -m benchmarks.samplers.multiobjective              # 5 seeds, 300 trials
    .venv/bin/python -m benchmarks.samplers.multiobjective --seeds 2 --budget 100

tunelab's NSGAIISampler (uniform and SBX crossover) and TPESampler against Optuna's
NSGAIISampler and TPESampler, on ZDT1-3 (6 variables) and the constrained SRN problem (Chankong
and Haimes; two inequality constraints). Every optimizer gets the same seeds and budget, in one
run. The score is the hypervolume of the feasible front found, up to a fixed reference point
(larger is better), as a share of the hypervolume of the true front where it is known in
closed form (ZDT1, ZDT2) and raw otherwise. By hand only; prints a markdown table.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tunelab._pareto import hypervolume_2d

N_VARS = 6
POPULATION = 50


def _zdt_g(x: np.ndarray) -> float:
    return 1.0 + 9.0 * float(np.mean(x[1:]))


def zdt1(x: np.ndarray) -> tuple[list[float], list[float]]:
    g = _zdt_g(x)
    return [x[0], g * (1 - math.sqrt(x[0] / g))], []


def zdt2(x: np.ndarray) -> tuple[list[float], list[float]]:
    g = _zdt_g(x)
    return [x[0], g * (1 - (x[0] / g) ** 2)], []


def zdt3(x: np.ndarray) -> tuple[list[float], list[float]]:
    g = _zdt_g(x)
    h = 1 - math.sqrt(x[0] / g) - (x[0] / g) * math.sin(10 * math.pi * x[0])
    return [x[0], g * h], []


def srn(x: np.ndarray) -> tuple[list[float], list[float]]:
    a, b = x
    f1 = 2 + (a - 2) ** 2 + (b - 1) ** 2
    f2 = 9 * a - (b - 1) ** 2
    return [f1, f2], [a * a + b * b - 225, a - 3 * b + 10]


def _true_hv(front_f2: Callable[[np.ndarray], np.ndarray], ref: tuple[float, float]) -> float:
    f1 = np.linspace(0, 1, 200_001)
    return float(np.trapezoid(ref[1] - front_f2(f1), f1) + (ref[0] - 1) * ref[1])


PROBLEMS: dict[str, dict[str, Any]] = {
    "zdt1": {
        "f": zdt1,
        "bounds": [(0.0, 1.0)] * N_VARS,
        "ref": (1.1, 1.1),
        "optimum": _true_hv(lambda f: 1 - np.sqrt(f), (1.1, 1.1)),
    },
    "zdt2": {
        "f": zdt2,
        "bounds": [(0.0, 1.0)] * N_VARS,
        "ref": (1.1, 1.1),
        "optimum": _true_hv(lambda f: 1 - f**2, (1.1, 1.1)),
    },
    "zdt3": {"f": zdt3, "bounds": [(0.0, 1.0)] * N_VARS, "ref": (1.1, 1.1), "optimum": None},
    "srn (constrained)": {
        "f": srn,
        "bounds": [(-20.0, 20.0)] * 2,
        "ref": (300.0, 50.0),
        "optimum": None,
    },
}


def run_tunelab(kind: str, problem: dict[str, Any], seed: int, budget: int) -> list[list[float]]:
    import tunelab as tl
    from tunelab.samplers import NSGAIISampler, TPESampler

    def constraints(t: Any) -> list[float]:
        return t.user_attrs["c"]

    cf = constraints if problem["f"] is srn else None
    if kind == "tpe":
        sampler: Any = TPESampler(seed=seed, constraints_func=cf)
    else:
        sampler = NSGAIISampler(
            population_size=POPULATION, crossover=kind, seed=seed, constraints_func=cf
        )
    study = tl.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(_objective(problem), n_trials=budget)
    return _feasible_values(study.trials)


def run_optuna(kind: str, problem: dict[str, Any], seed: int, budget: int) -> list[list[float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def constraints(t: Any) -> list[float]:
        return t.user_attrs["c"]

    cf = constraints if problem["f"] is srn else None
    if kind == "tpe":
        sampler: Any = optuna.samplers.TPESampler(seed=seed, constraints_func=cf)
    else:
        sampler = optuna.samplers.NSGAIISampler(
            population_size=POPULATION, seed=seed, constraints_func=cf
        )
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(_objective(problem), n_trials=budget)
    return _feasible_values(study.trials)


def _objective(problem: dict[str, Any]) -> Callable[[Any], list[float]]:
    def objective(trial: Any) -> list[float]:
        x = np.array(
            [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(problem["bounds"])]
        )
        values, constraints = problem["f"](x)
        trial.set_user_attr("c", constraints)
        return values

    return objective


def _feasible_values(trials: list[Any]) -> list[list[float]]:
    return [
        list(t.values)
        for t in trials
        if t.values is not None and all(c <= 0 for c in t.user_attrs.get("c", []))
    ]


OPTIMIZERS: dict[str, Callable[[dict[str, Any], int, int], list[list[float]]]] = {
    "tunelab NSGA-II (uniform)": lambda p, s, b: run_tunelab("uniform", p, s, b),
    "tunelab NSGA-II (sbx)": lambda p, s, b: run_tunelab("sbx", p, s, b),
    "tunelab TPE": lambda p, s, b: run_tunelab("tpe", p, s, b),
    "Optuna NSGA-II": lambda p, s, b: run_optuna("nsga2", p, s, b),
    "Optuna TPE": lambda p, s, b: run_optuna("tpe", p, s, b),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args()
    import optuna

    import tunelab

    scores: dict[tuple[str, str], list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for pname, problem in PROBLEMS.items():
        for oname, run in OPTIMIZERS.items():
            for seed in range(args.seeds):
                began = time.perf_counter()
                values = run(problem, seed, args.budget)
                seconds.setdefault(oname, []).append(time.perf_counter() - began)
                hv = hypervolume_2d(values, problem["ref"])
                if problem["optimum"]:
                    hv /= problem["optimum"]
                scores.setdefault((pname, oname), []).append(hv)
            print(f"{pname:18s} {oname:26s} {np.mean(scores[(pname, oname)]):.4f}", flush=True)
    print()
    print(
        f"`.venv/bin/python -m benchmarks.samplers.multiobjective --seeds {args.seeds} --budget "
        f"{args.budget}`: seeds 0-{args.seeds - 1}, {args.budget} trials, population "
        f"{POPULATION}; tunelab {tunelab.__version__}, Optuna {optuna.__version__}, Python "
        f"{platform.python_version()}. Hypervolume of the feasible front (ZDT1, ZDT2: share of "
        "the true front's), mean ± standard deviation over seeds; larger is better."
    )
    print()
    names = list(OPTIMIZERS)
    print("| problem | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for pname in PROBLEMS:
        cells = []
        for oname in names:
            s = scores[(pname, oname)]
            cells.append(f"{np.mean(s):.4g} ± {np.std(s):.2g}")
        print(f"| {pname} | " + " | ".join(cells) + " |")
    print(
        "| seconds per run (mean) | "
        + " | ".join(f"{np.mean(seconds[o]):.2f}" for o in names)
        + " |"
    )


if __name__ == "__main__":
    main()
