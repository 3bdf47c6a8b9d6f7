from __future__ import annotations

from tunelab import TrialState
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
