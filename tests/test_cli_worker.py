import signal
import subprocess
import sys
import textwrap
import time

import pytest

import tunelab as tl


def _run_workers(tmp_path, url, n_workers=2, n_trials=10):
    (tmp_path / "myobjective.py").write_text(
        textwrap.dedent(
            """
            def objective(trial):
                x = trial.suggest_float("x", -3, 3)
                return x * x
            """
        )
    )
    cmd = [
        sys.executable,
        "-m",
        "tunelab",
        "worker",
        "--storage",
        url,
        "--study",
        "shared",
        "--objective",
        "myobjective:objective",
        "--n-trials",
        str(n_trials),
        "--sampler",
        "random",
    ]
    procs = [
        subprocess.Popen(
            cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(n_workers)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    return outs


def _check(url, expected):
    study = tl.load_study(study_name="shared", storage=url)
    trials = study.trials
    assert len(trials) == expected
    assert [t.number for t in trials] == list(range(expected))
    assert all(t.state == tl.TrialState.COMPLETE for t in trials)


def test_two_workers_share_a_sqlite_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    tl.create_study(study_name="shared", storage=url)
    _run_workers(tmp_path, url)
    _check(url, 20)


def test_two_workers_share_a_postgres_study(tmp_path, postgres_url):
    try:
        tl.delete_study("shared", postgres_url)
    except KeyError:
        pass
    tl.create_study(study_name="shared", storage=postgres_url)
    _run_workers(tmp_path, postgres_url)
    _check(postgres_url, 20)
    tl.delete_study("shared", postgres_url)


def test_worker_errors_are_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    tl.create_study(study_name="other", storage=url)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tunelab",
            "worker",
            "--storage",
            url,
            "--study",
            "nope",
            "--objective",
            "x",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (
        proc.returncode == 2 and "module:function" in proc.stderr and "Traceback" not in proc.stderr
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tunelab",
            "worker",
            "--storage",
            url,
            "--study",
            "nope",
            "--objective",
            "os:getcwd",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "No study named 'nope'" in proc.stderr


@pytest.fixture(autouse=True)
def _no_stale_module():
    sys.modules.pop("myobjective", None)
    sys.modules.pop("crowded", None)


def test_a_worker_without_create_on_a_missing_database_creates_none(tmp_path):
    # Found by a QA pass: it failed with "No study named", leaving an empty tunelab.db behind.
    proc = subprocess.run(
        [sys.executable, "-m", "tunelab", "worker", "--study", "s", "--objective", "os:getcwd"]
        + ["--storage", "sqlite:///tunelab.db"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"there is no database file at {tmp_path / 'tunelab.db'}" in proc.stderr
    assert "--create" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_worker_counts_only_its_own_trials(tmp_path, monkeypatch):
    # Found by a QA pass: two workers of 20 trials each said "ran 39/40 trial(s)"; the count
    # was the study's growth, other workers' trials included. Here every trial of this worker
    # makes another worker's trial appear, deterministically.
    from click.testing import CliRunner

    from tunelab.cli import main

    url = f"sqlite:///{tmp_path / 'c.db'}"
    (tmp_path / "crowded.py").write_text(
        textwrap.dedent(
            f"""
            import tunelab as tl

            def objective(trial):
                other = tl.load_study(study_name="shared", storage={url!r})
                other.tell(other.ask(), 0.0)
                return trial.suggest_float("x", 0, 1)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["worker", "--storage", url, "--study", "shared", "--objective", "crowded:objective"]
        + ["--n-trials", "3", "--create"],
    )
    assert result.exit_code == 0, result.output
    assert "ran 3 trial(s) on 'shared'" in result.output
    assert len(tl.load_study(study_name="shared", storage=url).trials) == 6


def test_ctrl_c_on_a_worker_exits_130_with_one_line(tmp_path):
    # Found by a QA pass: click's bare "Aborted!" and exit code 1, unlike `tunelab tune`.
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef objective(trial):\n    time.sleep(0.2)\n"
        "    return trial.suggest_float('x', 0, 1)\n"
    )
    url = f"sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunelab", "worker", "--storage", url, "--study", "s"]
        + ["--objective", "slow:objective", "--create", "--n-trials", "1000"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a background job inherits SIGINT ignored (some CI runners); a terminal's
        # worker does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until a trial has finished
            if (tmp_path / "s.db").exists() and _n_complete(url) >= 1:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.startswith("error: interrupted after ") and err.count("\n") == 1, err
    assert "the finished trials are kept in study 's'" in err and "Aborted" not in err


def _n_complete(url):
    try:
        study = tl.load_study(study_name="s", storage=url)
    except KeyError:
        return 0
    return len(study.get_trials((tl.TrialState.COMPLETE,)))


def test_a_worker_goes_on_after_a_failing_trial_unless_told_to_stop(tmp_path, monkeypatch):
    # Found in session 12: one raising trial ended an unattended worker with a traceback.
    from click.testing import CliRunner

    from tunelab.cli import main

    url = f"sqlite:///{tmp_path / 'f.db'}"
    (tmp_path / "flaky.py").write_text(
        textwrap.dedent(
            """
            def objective(trial):
                x = trial.suggest_float("x", 0, 1)
                if trial.number % 2 == 0:
                    raise ValueError("even trials fail")
                return x
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    args = ["worker", "--storage", url, "--study", "s", "--objective", "flaky:objective"]
    result = CliRunner().invoke(main, args + ["--n-trials", "4", "--create"])
    assert result.exit_code == 0, result.output
    assert "ran 4 trial(s) on 's' (2 failed; `tunelab trials` shows why)" in result.output
    trials = tl.load_study(study_name="s", storage=url).trials
    assert [t.state for t in trials] == [tl.TrialState.FAIL, tl.TrialState.COMPLETE] * 2
    assert trials[0].fail_reason == "ValueError: even trials fail"
    stopped = CliRunner().invoke(main, args + ["--n-trials", "4", "--stop-on-error"])
    assert isinstance(stopped.exception, ValueError)  # the user's own error, with its traceback
    assert len(tl.load_study(study_name="s", storage=url).trials) == 5


def _worker(tmp_path, monkeypatch, url, *options):
    from click.testing import CliRunner

    from tunelab.cli import main

    (tmp_path / "peak.py").write_text(
        "def objective(trial):\n    return -abs(trial.suggest_float('x', -1, 1))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ["worker", "--storage", url, "--study", "s", "--objective", "peak:objective"]
    return CliRunner().invoke(main, [*args, "--n-trials", "2", *options])


def test_worker_create_joins_an_existing_maximize_study(tmp_path, monkeypatch):
    # Found by a QA pass: --create asked for a minimize study, so joining a maximize study
    # created in Python failed on the direction.
    url = f"sqlite:///{tmp_path / 'w.db'}"
    tl.create_study(study_name="s", storage=url, direction="maximize")
    result = _worker(tmp_path, monkeypatch, url, "--create")
    assert result.exit_code == 0, result.output
    assert len(tl.load_study(study_name="s", storage=url).trials) == 2


def test_worker_create_sets_a_new_studys_directions(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = _worker(tmp_path, monkeypatch, url, "--create", "--direction", "maximize")
    assert result.exit_code == 0, result.output
    assert tl.load_study(study_name="s", storage=url).direction == tl.StudyDirection.MAXIMIZE
    again = _worker(tmp_path, monkeypatch, url, "--direction", "maximize")
    assert again.exit_code == 0, again.output
    assert len(tl.load_study(study_name="s", storage=url).trials) == 4


@pytest.mark.parametrize("create", [True, False])
def test_worker_direction_unlike_the_studys_is_one_line(tmp_path, monkeypatch, create):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    tl.create_study(study_name="s", storage=url, direction="maximize")
    result = _worker(
        tmp_path, monkeypatch, url, *(["--create"] if create else []), "--direction", "minimize"
    )
    assert result.exit_code == 2
    assert "maximize" in result.output and "Traceback" not in result.output
    assert tl.load_study(study_name="s", storage=url).trials == []


def test_worker_decides_with_the_pruner_it_is_given(tmp_path, monkeypatch):
    # Found by a QA pass: a worker could only use the study's default pruner (median).
    from click.testing import CliRunner

    from tunelab.cli import main

    (tmp_path / "steps.py").write_text(
        "def objective(trial):\n"
        "    x = trial.suggest_float('x', 0, 1)\n"
        "    for step in range(4):\n"
        "        trial.report(x, step)\n"
        "        if trial.should_prune():\n"
        "            raise __import__('tunelab').TrialPruned()\n"
        "    return x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    url = f"sqlite:///{tmp_path / 'w.db'}"
    args = ["worker", "--storage", url, "--study", "s", "--objective", "steps:objective"]
    result = CliRunner().invoke(main, [*args, "--create", "--n-trials", "12", "--pruner", "none"])
    assert result.exit_code == 0, result.output
    study = tl.load_study(study_name="s", storage=url)
    assert all(t.state == tl.TrialState.COMPLETE for t in study.trials)  # median would prune
    bad = CliRunner().invoke(main, [*args, "--pruner", "bogus"])
    assert bad.exit_code == 2 and "median" in bad.output
