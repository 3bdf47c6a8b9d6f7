"""End to end: Debian's Chromium, driven by Playwright, against a live dashboard server."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from datetime import UTC, timedelta

import pytest

import tunelab
from tunelab import Float, Int

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


@contextlib.contextmanager
def _browser_page(profile, **options):
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
            **options,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def page(tmp_path):
    with _browser_page(tmp_path / "profile") as new_page:
        yield new_page


@pytest.fixture
def tokyo_page(tmp_path):
    """A browser in Asia/Tokyo (UTC+9, no daylight saving): times the page shows in UTC
    differ from the local ones by 9 hours."""
    with _browser_page(tmp_path / "tokyo-profile", timezone_id="Asia/Tokyo") as new_page:
        yield new_page


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


def test_parameters_named_like_table_fields_and_metric_names(served, page, db_url):
    # Found by a QA pass: parameters named "number", "duration" and "value" showed the trial's
    # own number, duration and value, and filters and sorting read those too. The objective
    # column is labelled with the study's metric name and follows a rename.
    study = tunelab.create_study(study_name="clash", storage=db_url, seed=0)
    space = {"number": Int(100, 200), "duration": Float(50, 60), "value": Float(7, 8)}
    for i, number in enumerate((180, 120, 160)):
        study.enqueue_trial({"number": number, "duration": 55.0, "value": 7.5})
        study.tell(study.ask(space), float(i))
    study.set_metric_names(["loss"])
    page.goto(served + f"/studies/{study._study_id}")
    page.wait_for_selector("body[data-ready='1']")
    headers = page.locator("#trials thead th").all_inner_texts()
    assert [h.rstrip(" ▲▼") for h in headers] == [
        "#", "State", "loss", "Duration (s)", "duration", "number", "value"
    ]  # fmt: skip
    cells = page.locator("#trials tbody tr:first-child td").all_inner_texts()
    assert cells[0] == "0" and cells[2] == "0" and cells[4:] == ["55", "180", "7.5"]

    page.fill("#text-filter", "params.number>150")
    assert page.locator("#trials tbody tr").count() == 2  # parameters 180 and 160
    page.fill("#text-filter", "number>=1")
    assert page.locator("#trials tbody tr").count() == 2  # trials 1 and 2
    page.fill("#text-filter", "values_loss<1")  # as study.trials_dataframe() names it
    assert page.locator("#trials tbody tr").count() == 1
    page.fill("#text-filter", "")
    page.click("th[data-key='params.number']")
    firsts = page.locator("#trials tbody tr td:first-child").all_inner_texts()
    assert firsts == ["1", "2", "0"]  # parameters 120, 160, 180

    study.set_metric_names(["val_loss"])
    page.wait_for_function(
        "document.querySelector(\"th[data-key='value']\").innerText.startsWith('val_loss')",
        timeout=30_000,
    )


def test_timeline_in_the_browser_time_zone(served, tokyo_page, filled):
    # Found by a QA pass: the timeline showed UTC (plotly.js drops a "+00:00") while every
    # other time on the page is the browser's local time.
    page = tokyo_page
    page.goto(served + f"/studies/{filled._study_id}")
    page.wait_for_selector("#plot-timeline[data-rendered='1']", timeout=30_000)
    trace = page.evaluate(
        "(() => { const d = document.getElementById('plot-timeline');"
        " return {base: d.data[0].base, title: d.layout.xaxis.title.text}; })()"
    )
    first = filled.trials[0].datetime_start.astimezone(UTC)
    tokyo = (first + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    assert trace["base"][0] == tokyo
    assert trace["title"] == "Time (Asia/Tokyo)"
