from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tunelab import FrozenTrial, TrialState
from tunelab.exceptions import InvalidParameterError
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


def test_n_recent_trials_keeps_the_last_trials(make_study):
    study = make_study()
    for v in range(5):
        study.tell(study.ask(), float(v))
    study.enqueue_trial({})  # waiting: among the last trials, but it has no bar
    rows = timeline_data(study, n_recent_trials=3)["trials"]
    assert [r["number"] for r in rows] == [3, 4]
    fig = plot_timeline(study, n_recent_trials=2)
    assert [list(tr.y) for tr in fig.data] == [[4]]
    assert sum(len(tr.y) for tr in plot_timeline(study).data) == 5
    for bad in (0, -1, 1.5, "3"):
        with pytest.raises(InvalidParameterError, match="'n_recent_trials' parameter"):
            plot_timeline(study, n_recent_trials=bad)
