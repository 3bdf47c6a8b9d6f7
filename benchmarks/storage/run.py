"""tunelab's SQL storage next to Optuna's RDBStorage, on the same database (run by hand).

    .venv/bin/python benchmarks/storage/run.py --quick               # SQLite, a few minutes
    .venv/bin/python benchmarks/storage/run.py --postgres URL        # also PostgreSQL
    .venv/bin/python benchmarks/storage/run.py --full --postgres URL  # 1k/10k/20k (long)

Measures, for each library and backend:
- ask+tell per second with a random sampler (one float parameter), over a window of trials run
  in a study that already holds N finished trials;
- seconds to open an N-trial study and get its best trial, and the resident memory it adds,
  each in a fresh subprocess.
Prints a Markdown table (paste it into docs/benchmarks.md between the storage markers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

_CHILD = r"""
import json, resource, sys, time
lib, url, name = sys.argv[1:4]
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20
if lib == "optuna":
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    before = rss_mb(); t0 = time.perf_counter()
    study = optuna.load_study(study_name=name, storage=url)
    best = study.best_trial.value; n = len(study.trials)
else:
    import tunelab as tl
    from tunelab.storage import SQLStorage
    SQLStorage  # import SQLAlchemy before measuring, as optuna does at import
    import sqlalchemy
    before = rss_mb(); t0 = time.perf_counter()
    study = tl.load_study(study_name=name, storage=url)
    best = study.best_trial.value; n = len(study.trials)
print(json.dumps({"seconds": time.perf_counter() - t0, "mb": rss_mb() - before, "n": n}))
"""


def _fill_tunelab(url: str, name: str, n: int) -> None:
    import tunelab as tl

    study = tl.create_study(study_name=name, storage=url)
    dist = tl.Float(-1, 1)
    for i in range(n):
        x = (i * 0.618) % 2 - 1
        study.add_trial(
            tl.FrozenTrial(
                number=-1,
                state=tl.TrialState.COMPLETE,
                values=[x * x],
                params={"x": x},
                distributions={"x": dist},
            )
        )


def _fill_optuna(url: str, name: str, n: int) -> None:
    import optuna

    study = optuna.create_study(study_name=name, storage=url)
    dist = optuna.distributions.FloatDistribution(-1, 1)
    study.add_trials(
        [
            optuna.trial.create_trial(
                params={"x": (i * 0.618) % 2 - 1},
                distributions={"x": dist},
                value=((i * 0.618) % 2 - 1) ** 2,
            )
            for i in range(n)
        ]
    )


def _rate(lib: str, url: str, name: str, window: int) -> float:
    if lib == "optuna":
        import optuna

        study = optuna.load_study(
            study_name=name, storage=url, sampler=optuna.samplers.RandomSampler(seed=0)
        )
    else:
        import tunelab as tl
        from tunelab.samplers import RandomSampler

        study = tl.load_study(study_name=name, storage=url, sampler=RandomSampler(seed=0))
    t0 = time.perf_counter()
    for _ in range(window):
        trial = study.ask()
        x = trial.suggest_float("x", -1, 1)
        study.tell(trial, x * x)
    return window / (time.perf_counter() - t0)


def _load(lib: str, url: str, name: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, lib, url, name], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="postgresql+psycopg://... to include PostgreSQL")
    parser.add_argument("--full", action="store_true", help="1k/10k trials, 20k-trial load")
    parser.add_argument("--quick", action="store_true", help="small sizes (the default)")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sizes, window, load_n = ([1000, 10000], 200, 20000) if args.full else ([300, 1000], 50, 2000)
    backends = {"SQLite": None, "PostgreSQL": args.postgres}
    tmp = tempfile.mkdtemp(prefix="tl-bench-")
    rows = []
    for backend, pg in backends.items():
        if backend == "PostgreSQL" and not pg:
            continue
        for lib in ("tunelab", "optuna"):
            url = pg or f"sqlite:///{tmp}/{lib}.db"
            fill = _fill_tunelab if lib == "tunelab" else _fill_optuna
            result: dict[str, object] = {"backend": backend, "lib": lib}
            for n in sizes:
                name = f"bench-{uuid.uuid4().hex[:8]}"
                t0 = time.perf_counter()
                fill(url, name, n)
                print(f"{backend} {lib}: filled {n} in {time.perf_counter() - t0:.1f}s", flush=True)
                result[f"rate_{n}"] = _rate(lib, url, name, window)
                print(f"  ask+tell/s at {n}: {result[f'rate_{n}']:.1f}", flush=True)
            name = f"bench-{uuid.uuid4().hex[:8]}"
            fill(url, name, load_n)
            loaded = _load(lib, url, name)
            result.update(load_s=loaded["seconds"], load_mb=loaded["mb"])
            print(f"  load {load_n}: {loaded}", flush=True)
            rows.append(result)
    print()
    head = " | ".join(f"ask+tell/s at {n}" for n in sizes)
    print(f"| backend | library | {head} | load {load_n} + best (s) | memory of {load_n} (MB) |")
    print("|---|---|" + "---|" * (len(sizes) + 2))
    for r in rows:
        rates = " | ".join(f"{r[f'rate_{n}']:.1f}" for n in sizes)
        print(f"| {r['backend']} | {r['lib']} | {rates} | {r['load_s']:.2f} | {r['load_mb']:.1f} |")
    print(f"\nwindow={window} trials, python {sys.version.split()[0]}, cpus={os.cpu_count()}")


if __name__ == "__main__":
    main()
