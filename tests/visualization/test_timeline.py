from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tunelab import FrozenTrial, TrialState
from tunelab.visualization import plot_timeline, timeline_data


def test_rows_with_durations_and_running_until_now(make_study):
    study = make_study()
    done = study.tell(study.ask(), 1.0)
    study.tell(study.ask(), state=TrialState.FAIL)
    running = study.ask()
    now = running._frozen.datetime_start
    rows = timeline_data(study, now=now)["trials"]
    assert [r["state"] for r in rows] == ["COMPLETE", "FAIL", "RUNNING"]
    assert rows[0]["duration"] == done.duration
    assert rows[2]["duration"] == 0.0
    names = [tr.name for tr in plot_timeline(study).data]
    assert names == ["COMPLETE", "FAIL", "RUNNING"]


def test_bars_start_in_utc_as_the_axis_says(make_study):
    # Found by a QA pass: bases went out as isoformat() with "+00:00", which plotly.js drops,
    # and the axis did not say which zone it shows. Times now travel in UTC, in plotly's own
    # format, under "Time (UTC)" (the dashboard redraws them in the browser's zone).
    study = make_study()
    start = datetime(2024, 3, 1, 12, 30, 15, 250000, tzinfo=timezone(timedelta(hours=9)))
    study.add_trial(
        FrozenTrial(
            number=0,
            state=TrialState.COMPLETE,
            values=[1.0],
            datetime_start=start,
            datetime_complete=start + timedelta(seconds=2),
        )
    )
    fig = plot_timeline(study)
    assert list(fig.data[0].base) == ["2024-03-01 03:30:15.250000"]
    assert list(fig.data[0].x) == [2000.0]
    assert fig.layout.xaxis.title.text == "Time (UTC)"
