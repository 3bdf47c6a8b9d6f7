"""How long a big study's dashboard page takes to become usable, in Debian's Chromium.

    .venv/bin/python benchmarks/dashboard/page_load.py [--trials 20000] [--screenshot docs/dashboard.png]

Builds (once, cached in /tmp) a SQLite study of N finished trials over five parameters with
intermediate values, serves the dashboard from a separate process, and times, from navigation:
the trials table shown (all N trials fetched), the history figure drawn, and every figure drawn.
Each page load is measured twice: with a cold server (first request builds the figures) and warm.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np

import tunelab
from tunelab import Categorical, Float, FrozenTrial, Int, TrialState

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build(path: str, n: int) -> str:
    url = f"sqlite:///{path}"
    if os.path.exists(path):
        return url
    study = tunelab.create_study(study_name="big", storage=url)
    rng = np.random.default_rng(0)
    space = {
        "lr": Float(1e-5, 1, log=True),
        "depth": Int(1, 12),
        "dropout": Float(0, 0.5),
        "kernel": Categorical(["rbf", "linear", "poly"]),
        "width": Int(16, 1024, log=True),
    }
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        params = {k: d.from_unit(rng.random()) for k, d in space.items()}
        value = (math.log10(params["lr"]) + 3) ** 2 + 0.3 * params["depth"] + rng.normal()
        state = TrialState.COMPLETE if rng.random() > 0.1 else TrialState.PRUNED
        t0 = start + timedelta(seconds=3 * i)
        study.add_trial(
            FrozenTrial(
                number=-1,
                state=state,
                values=[value] if state == TrialState.COMPLETE else None,
                params=params,
                distributions=dict(space),
                intermediate_values={s: value + 5 / (s + 1) for s in range(0, 10, 3)},
                datetime_start=t0,
                datetime_complete=t0 + timedelta(seconds=2.5),
            )
        )
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--screenshot", default=None)
    args = parser.parse_args()
    path = os.path.join(tempfile.gettempdir(), f"tunelab-dash-{args.trials}.db")
    t = time.perf_counter()
    url = build(path, args.trials)
    print(f"study ready in {time.perf_counter() - t:.1f} s ({path})")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", f"from tunelab.dashboard import run; run({url!r}, port={port})"]
    )
    try:
        from playwright.sync_api import sync_playwright

        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            ctx = p.chromium.launch_persistent_context(
                profile,
                executable_path="/usr/bin/chromium",
                headless=True,
                args=ARGS,
                viewport={"width": 1400, "height": 1000},
            )
            page = ctx.new_page()
            for label in ("cold server", "warm server"):
                t0 = time.perf_counter()
                page.goto(f"{base}/studies/1")
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                table = time.perf_counter() - t0
                page.wait_for_selector("#plot-history[data-rendered='1']", timeout=60_000)
                history = time.perf_counter() - t0
                page.wait_for_function(
                    "[...document.querySelectorAll('.plot')].every(d => d.dataset.rendered)",
                    timeout=120_000,
                )
                every = time.perf_counter() - t0
                rows = page.inner_text("#page-info")
                print(
                    f"{label}: table {table:.2f} s, history {history:.2f} s, "
                    f"all figures {every:.2f} s ({rows})"
                )
            if args.screenshot:
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=args.screenshot)
            ctx.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
