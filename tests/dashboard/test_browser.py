"""End to end: Debian's Chromium, driven by Playwright, against a live dashboard server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

import tunelab
from tunelab import Float

CHROMIUM = os.environ.get("TUNELAB_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
    pytest.skip(
        f"browser test needs Chromium at {CHROMIUM} (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser test needs `pip install playwright`"
)
uvicorn = pytest.importorskip("uvicorn", reason="dashboard needs uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(filled, db_url):
    from tunelab.dashboard import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(db_url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "dashboard server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_list_plots_and_live_trial(served, page, filled, tmp_path):
    page.goto(served + "/")
    page.wait_for_selector("#studies tbody tr a")
    assert page.inner_text("#studies tbody tr a") == "demo"
    page.click("#studies tbody tr a")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#plot-history[data-rendered='1'] .main-svg", timeout=20_000)
    page.wait_for_selector("#plot-slice[data-rendered='1']", timeout=20_000)
    assert page.locator("#trials tbody tr").count() == 7

    # A trial of the running study shows up without a reload: first RUNNING (the page polls
    # between ask and tell), then with its value once told. The waits are generous because a
    # loaded 2-core machine once took more than 10 s to show a row; a page that never updates
    # the row still fails.
    writer = tunelab.load_study("demo", filled.storage)
    asked = writer.ask({"x": Float(-1, 1)})
    page.wait_for_function(
        "document.querySelectorAll('#trials tbody tr').length === 8", timeout=30_000
    )
    assert "RUNNING" in page.inner_text("#trials tbody tr:last-child")
    told = writer.tell(asked, -3.0)
    page.wait_for_function(
        "document.querySelector('#trials tbody tr:last-child').innerText.includes('-3')",
        timeout=30_000,
    )
    # The history figure is redrawn with the new point (figures follow the study's version).
    page.wait_for_function(
        "Array.from(document.getElementById('plot-history').data[0].y).includes(-3)",
        timeout=30_000,
    )
    assert told.number == 7

    # Sorting by value puts the new best first; filtering by state keeps only failures.
    page.click("th[data-key='value']")
    assert page.inner_text("#trials tbody tr:first-child td:first-child") == "7"
    page.select_option("#state-filter", "FAIL")
    assert page.locator("#trials tbody tr").count() == 1
    page.select_option("#state-filter", "")
    page.wait_for_timeout(300)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "study.png"))  # docs/dashboard.png: benchmarks/dashboard
    assert (tmp_path / "study.png").stat().st_size > 10_000

    # The trial page shows the failure reason.
    page.goto(served + f"/studies/{filled._study_id}/trials/5")
    page.wait_for_selector("body[data-ready='1']")
    assert "ValueError: boom" in page.inner_text("#failure")


def test_constrained_study_shows_feasibility(served, page, constrained):
    page.goto(served + "/")
    page.wait_for_selector("#studies tbody tr:nth-child(2) a")
    row = page.locator("#studies tbody tr", has_text="constrained")
    assert row.locator("td").nth(8).inner_text() == "3"  # the feasible best, not 0.5

    page.goto(served + f"/studies/{constrained._study_id}")
    page.wait_for_selector("body[data-ready='1']")
    summary = page.inner_text("#summary")
    assert "2 infeasible" in summary and "best 3 ·" in summary
    assert page.inner_text("th[data-key='feasible']").startswith("Feasible")
    assert page.locator("#trials tbody tr.infeasible").count() == 2
    page.fill("#text-filter", "feasible=no")
    assert page.locator("#trials tbody tr").count() == 2
    page.wait_for_selector("#plot-history[data-rendered='1']", timeout=20_000)
    names = page.evaluate("document.getElementById('plot-history').data.map((d) => d.name)")
    assert "Infeasible trial" in names

    page.goto(served + f"/studies/{constrained._study_id}/trials/1")
    page.wait_for_selector("body[data-ready='1']")
    assert "0.5 · infeasible (total violation 0.5)" in page.inner_text("#overview")
