import subprocess
import sys
import textwrap

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
