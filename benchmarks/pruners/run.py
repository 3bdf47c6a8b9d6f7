"""Pruners on real iterative training: tunelab vs no pruning vs Optuna's matching pruner.

Every run of a task tries the *same* random configurations in the same order (drawn once per
seed), so the only difference between runs is which trials the pruner stops. Figures per run:
the best validation score among trials that ran to the end, the total training steps, and wall
time (the recorded cost of the training steps the pruner let run, plus the study's and pruner's
own measured time; see ``record_curve``).

    .venv/bin/python benchmarks/pruners/run.py            # 5 seeds, 40 trials per task
    .venv/bin/python benchmarks/pruners/run.py --quick    # 3 seeds, 24 trials (a few minutes)
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

# One thread per fit: the machine is shared, and oversubscribed OpenMP makes timings noise.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import tunelab as tl  # noqa: E402
from tunelab import pruners as tp  # noqa: E402


# -- tasks: config -> (train step by step, calling on_step(step, score); return final score) --
def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_va), y_tr, y_va


def sgd_task() -> tuple[str, int, Callable, Callable]:
    from sklearn.linear_model import SGDClassifier

    X_tr, X_va, y_tr, y_va = _digits()
    classes = np.unique(y_tr)
    n_steps = 20

    def sample(rng):
        return {
            "alpha": float(10 ** rng.uniform(-6, 0)),
            "eta0": float(10 ** rng.uniform(-5, 0)),
            "learning_rate": str(rng.choice(["constant", "invscaling", "adaptive", "optimal"])),
            "loss": str(rng.choice(["hinge", "log_loss", "modified_huber"])),
        }

    def train(cfg, on_step):
        clf = SGDClassifier(random_state=0, **cfg)
        score = 0.0
        for step in range(n_steps):
            clf.partial_fit(X_tr, y_tr, classes=classes)
            score = clf.score(X_va, y_va)
            on_step(step, score)
        return score

    return "SGDClassifier/digits (20 epochs, accuracy)", n_steps, sample, train


def hgb_task() -> tuple[str, int, Callable, Callable]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    n_steps = 27

    def sample(rng):
        return {
            "learning_rate": float(10 ** rng.uniform(-3, 0)),
            "max_leaf_nodes": int(rng.integers(2, 48)),
            "l2_regularization": float(10 ** rng.uniform(-4, 1)),
            "min_samples_leaf": int(rng.integers(5, 60)),
        }

    def train(cfg, on_step):
        clf = HistGradientBoostingClassifier(
            warm_start=True, early_stopping=False, random_state=0, max_bins=63, **cfg
        )
        score = 0.0
        for step in range(n_steps):
            clf.set_params(max_iter=step + 1)
            clf.fit(X_tr, y_tr)
            score = clf.score(X_va, y_va)
            on_step(step, score)
        return score

    return "HistGradientBoosting/breast_cancer (27 iterations, accuracy)", n_steps, sample, train


def lgb_task() -> tuple[str, int, Callable, Callable] | None:
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    n_steps = 60

    def sample(rng):
        return {
            "learning_rate": float(10 ** rng.uniform(-3, -0.5)),
            "num_leaves": int(rng.integers(2, 64)),
            "min_child_samples": int(rng.integers(2, 60)),
            "feature_fraction": float(rng.uniform(0.3, 1.0)),
            "lambda_l2": float(10 ** rng.uniform(-4, 1)),
        }

    def train(cfg, on_step):
        params = {"objective": "binary", "metric": "auc", "verbose": -1, "num_threads": 1, **cfg}
        last = {"auc": 0.0}

        def callback(env):
            _, _, auc, _ = env.evaluation_result_list[0]
            last["auc"] = auc
            on_step(env.iteration, auc)

        lgb.train(
            params,
            lgb.Dataset(X_tr, y_tr),
            num_boost_round=n_steps,
            valid_sets=[lgb.Dataset(X_va, y_va)],
            callbacks=[callback],
        )
        return last["auc"]

    return "LightGBM/breast_cancer (60 rounds, AUC)", n_steps, sample, train


# -- pruner pairs ------------------------------------------------------------------------------
def pruner_pairs(n_steps: int) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    import optuna

    op = optuna.pruners
    return [
        ("none", lambda: tp.NopPruner(), lambda: op.NopPruner()),
        ("Median(5, warmup 3)", lambda: tp.MedianPruner(5, 3), lambda: op.MedianPruner(5, 3)),
        (
            "Percentile(25, warmup 3)",
            lambda: tp.PercentilePruner(25.0, 5, 3),
            lambda: op.PercentilePruner(25.0, 5, 3),
        ),
        (
            "Patient(Median, 2)",
            lambda: tp.PatientPruner(tp.MedianPruner(5, 3), 2),
            lambda: op.PatientPruner(op.MedianPruner(5, 3), 2),
        ),
        (
            "SuccessiveHalving(1, 3)",
            lambda: tp.SuccessiveHalvingPruner(1, 3),
            lambda: op.SuccessiveHalvingPruner(1, 3),
        ),
        (
            f"Hyperband(1, {n_steps}, 3)",
            lambda: tp.HyperbandPruner(1, n_steps, 3),
            lambda: op.HyperbandPruner(1, n_steps, 3),
        ),
    ]


def record_curve(cfg: dict, train: Callable) -> tuple[list[float], list[float]]:
    """Train one configuration to the end once: its score and the seconds of each step.

    Training is deterministic (fixed random_state), so a pruned run would see exactly this
    prefix; every pruner then replays the recorded curves instead of retraining, and its wall
    time is the recorded cost of the steps it let run plus its own measured overhead.
    """
    scores: list[float] = []
    seconds: list[float] = []
    last = time.perf_counter()

    def on_step(step: int, score: float) -> None:
        nonlocal last
        now = time.perf_counter()
        scores.append(float(score))
        seconds.append(now - last)
        last = now

    train(cfg, on_step)
    return scores, seconds


def run_one(
    lib: str, pruner: Any, curves: list[tuple[list[float], list[float]]]
) -> tuple[float, int, float]:
    if lib == "tunelab":
        study = tl.create_study(direction="maximize", pruner=pruner)
        pruned_state = tl.TrialState.PRUNED
    else:
        import optuna

        study = optuna.create_study(direction="maximize", pruner=pruner)
        pruned_state = optuna.trial.TrialState.PRUNED
    iterations, best, training = 0, -math.inf, 0.0
    start = time.perf_counter()
    for scores, seconds in curves:
        trial = study.ask()
        for step, score in enumerate(scores):
            iterations += 1
            training += seconds[step]
            trial.report(score, step)
            if trial.should_prune():
                study.tell(trial, state=pruned_state)
                break
        else:
            study.tell(trial, scores[-1])
            best = max(best, scores[-1])
    return best, iterations, training + time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, 24 trials per task")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--trials", type=int, default=None)
    args = parser.parse_args()
    n_seeds = args.seeds or (3 if args.quick else 5)
    n_trials = args.trials or (24 if args.quick else 40)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    tasks = [t for t in (sgd_task(), hgb_task(), lgb_task()) if t is not None]
    print(f"seeds={n_seeds} trials={n_trials} (same configurations for every pruner)\n")
    for title, n_steps, sample, train in tasks:
        rows: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
        for seed in range(n_seeds):
            rng = np.random.default_rng(seed)
            curves = [record_curve(sample(rng), train) for _ in range(n_trials)]
            for name, make_tl, make_op in pruner_pairs(n_steps):
                libs = [("tunelab", make_tl)] + ([("optuna", make_op)] if name != "none" else [])
                for lib, make in libs:
                    rows.setdefault((name, lib), []).append(run_one(lib, make(), curves))
        full_iters = n_trials * n_steps
        base_best = np.mean([r[0] for r in rows[("none", "tunelab")]])
        print(f"## {title}\n")
        print(
            "| pruner | library | best score (mean over seeds) | vs none | iterations | share | wall s |"
        )
        print("|---|---|---|---|---|---|---|")
        for (name, lib), res in rows.items():
            best = np.mean([r[0] for r in res])
            iters = np.mean([r[1] for r in res])
            wall = np.mean([r[2] for r in res])
            print(
                f"| {name} | {lib} | {best:.4f} | {best - base_best:+.4f} | {iters:.0f} | "
                f"{iters / full_iters:.0%} | {wall:.2f} |"
            )
        print()


if __name__ == "__main__":
    main()
