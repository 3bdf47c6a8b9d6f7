"""Markdown for docs/benchmarks.md. This writer owns only the text between the samplers markers;
the scores and the overhead tables are sub-blocks, so running one leaves the other in place."""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

START, END = "<!-- samplers:start -->", "<!-- samplers:end -->"
BLOCKS = ("scores", "overhead")

HEADER = "## Samplers (issue 3)\n"

INTRO = """How well each optimizer tunes, side by side in one run: every optimizer, every task, the same
seeds. Reproduce with `.venv/bin/python -m benchmarks.samplers.run --seeds 5 --budget 100
--ml-budget 60` (a few minutes' subset: `--quick`; overhead only: `--overhead --overhead-max 300`);
anchors install from `benchmarks/requirements.txt`. Raw per-trial values land in
`benchmarks/samplers/results/`.

- **score** (Bayesmark's normalization): `100 * (f_rand - best) / (f_rand - f_opt)` per task and
  seed, averaged over tasks and seeds; 0 = random search, 100 = the optimum. `f_rand` is the
  median over seeds of random search's (tunelab RandomSampler) best after the same number of
  trials; `f_opt` the known optimum, or the best value any run has found
  (`benchmarks/samplers/best_known.json`). Tasks where random search already reached `f_opt` are
  left out of the score (listed below).
- **mean rank**: per task, optimizers ranked by their mean best value at the full budget (ties
  share a rank), averaged over tasks.
- **ms/trial**: the optimizer's own time per trial (ask + tell; the objective is not counted).
- Synthetic tasks: Branin, Hartmann6, Ackley-5 (domain [-15, 30]), Rosenbrock-4, Levy-4,
  Styblinski-Tang-4, and variants with integer, stepped, categorical and log-scaled dimensions.
  ML tasks: 3-fold CV error (1 - accuracy) or MSE of scikit-learn models on the bundled datasets.
"""


def _render(blocks: dict[str, str]) -> str:
    body = [HEADER, START, "", INTRO]
    for name in BLOCKS:
        body += [
            f"<!-- samplers-{name}:start -->",
            blocks.get(name, "").strip(),
            f"<!-- samplers-{name}:end -->",
            "",
        ]
    body.append(END)
    return "\n".join(body) + "\n"


def write_block(path: Path, name: str, markdown: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    blocks: dict[str, str] = {}
    section = re.search(
        r"## Samplers \(issue 3\)\s*\n\s*" + re.escape(START) + r".*?" + re.escape(END) + r"\n?",
        text,
        re.S,
    )
    if section:
        for other in BLOCKS:
            found = re.search(
                rf"<!-- samplers-{other}:start -->\n?(.*?)<!-- samplers-{other}:end -->",
                section.group(0),
                re.S,
            )
            if found:
                blocks[other] = found.group(1)
    blocks[name] = markdown
    rendered = _render(blocks)
    if section:
        text = text[: section.start()] + rendered + text[section.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + rendered
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "tunelab commit": commit or "unknown",
        "load average at start": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    packages = (
        "tunelab numpy scipy scikit-learn optuna cmaes hyperopt scikit-optimize smac torch"
    ).split()
    info["versions"] = ", ".join(f"{p} {_version(p)}" for p in packages)
    return info


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
