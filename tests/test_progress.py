"""The progress bar of optimize(): what its columns show as time passes."""

import tunelab as tl
from tunelab._progress import ProgressBar


def _shown(bar: ProgressBar, seconds_ago: float) -> str:
    progress = bar._progress
    task = progress.tasks[0]
    task.start_time -= seconds_ago  # as if the run began that long ago
    return " ".join(str(column.render(task)) for column in progress.columns)


def test_a_timeout_run_shows_the_clock_before_any_trial_ends():
    # Found by a QA pass: the bar moved only when a trial ended, so it read 0.0/10.0 s through
    # a 40 s first trial.
    bar = ProgressBar(True, None, 10.0, tl.create_study())
    try:
        assert "4/10 s" in _shown(bar, 4.2)
    finally:
        bar.close()


def test_time_left_never_exceeds_the_budget():
    # Found by a QA pass: n_trials=1000 with timeout=8 read "0:16:33" left as the run ended.
    from rich.progress import ProgressSample

    bar = ProgressBar(True, 1000, 8.0, tl.create_study())
    try:
        task = bar._progress.tasks[0]
        now = bar._progress.get_time()
        # 8 trials in 7 s: at that pace the other 992 would take some 14 minutes.
        task._progress.extend([ProgressSample(now - 7.0, 0), ProgressSample(now, 8)])
        task.completed = 8
        shown = _shown(bar, 6.4)
        assert "0:00:01" in shown and "6/8 s" in shown
    finally:
        bar.close()


def test_the_bars_clock_is_the_budgets():
    # The budget counts from the call, the executor's start-up included (a Dask cluster takes
    # seconds); a bar counting from its own creation lagged behind it by that much.
    import time

    bar = ProgressBar(True, None, 10.0, tl.create_study(), began=time.monotonic() - 4.2)
    try:
        assert "4/10 s" in _shown(bar, 0.0)
    finally:
        bar.close()
