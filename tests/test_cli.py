import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tunelab.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PENGUINS = Path(__file__).resolve().parents[2] / "shared" / "data" / "penguins.csv"


@pytest.fixture
def runner():
    return CliRunner()


def test_tune_then_inspect_then_resume(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    job = EXAMPLES / "ridge_diabetes.yaml"
    result = runner.invoke(
        main, ["tune", str(job), "--n-trials", "4", "--storage", url, "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "alpha" in result.output and "mean CV neg_mean_squared_error" in result.output
    assert "held-out test" in result.output

    result = runner.invoke(
        main, ["tune", str(job), "--n-trials", "3", "--storage", url, "--no-progress"]
    )
    assert result.exit_code == 0 and "trials in study: 7" in result.output  # resumed, not restarted

    listing = runner.invoke(main, ["studies", "--storage", url])
    assert listing.exit_code == 0 and "ridge-diabetes" in listing.output

    trials = runner.invoke(main, ["trials", "ridge-diabetes", "--storage", url])
    assert trials.exit_code == 0 and "COMPLETE" in trials.output

    best = runner.invoke(main, ["best", "ridge-diabetes", "--storage", url])
    payload = json.loads(best.output)
    assert set(payload["params"]) == {"alpha", "fit_intercept"}

    out = tmp_path / "t.csv"
    exported = runner.invoke(
        main, ["export", "ridge-diabetes", "--storage", url, "--out", str(out)]
    )
    assert exported.exit_code == 0 and out.read_text().startswith("number,value")
    as_json = runner.invoke(
        main, ["export", "ridge-diabetes", "--storage", url, "--format", "json"]
    )
    assert len(json.loads(as_json.output)) == 7

    deleted = runner.invoke(main, ["delete", "ridge-diabetes", "--storage", url, "--yes"])
    assert deleted.exit_code == 0
    assert "no studies" in runner.invoke(main, ["studies", "--storage", url]).output


def test_tune_a_csv_with_missing_values(runner, tmp_path):
    if not PENGUINS.exists():
        pytest.skip("shared/data/penguins.csv is not present")
    url = f"sqlite:///{tmp_path / 'p.db'}"
    result = runner.invoke(
        main,
        [
            "tune",
            str(EXAMPLES / "hgb_penguins.yaml"),
            "--n-trials",
            "2",
            "--storage",
            url,
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "held-out test accuracy" in result.output


def test_bad_job_file_is_one_line_exit_2(tmp_path):
    job = tmp_path / "bad.yaml"
    job.write_text(
        "estimator: sklearn.svm.SVC\ndataset: iris\nspace: {C: {type: float, low: 5, high: 1}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tunelab", "tune", str(job)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "bad.yaml: space.C: `low <= high` must hold" in proc.stderr


def test_missing_study_is_one_line(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    result = runner.invoke(main, ["best", "nope", "--storage", url])
    assert result.exit_code == 2 and "No study named 'nope'" in result.output


def test_csv_target_missing(runner, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    job = tmp_path / "j.yaml"
    job.write_text(
        f"estimator: sklearn.tree.DecisionTreeClassifier\ndataset: {{csv: {data}, target: y}}\n"
        "space: {max_depth: {type: int, low: 1, high: 3}}\n"
    )
    result = runner.invoke(main, ["tune", str(job), "--storage", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2 and "column 'y' is not in d.csv" in result.output


def test_jsonl_export_import_round_trip_and_storage_upgrade(runner, tmp_path):
    import math

    import tunelab as tl

    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = tl.create_study(study_name="s", storage=url)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.report(float("nan"), 0)
    study.tell(trial, float("inf"))
    study.tell(study.ask(), state=tl.TrialState.FAIL, fail_reason="boom")
    out = tmp_path / "s.jsonl"
    assert (
        runner.invoke(
            main, ["export", "s", "--storage", url, "--format", "jsonl", "-o", str(out)]
        ).exit_code
        == 0
    )
    other = f"sqlite:///{tmp_path / 'b.db'}"
    result = runner.invoke(main, ["import", str(out), "--storage", other, "--study-name", "copy"])
    assert result.exit_code == 0, result.output
    copied = tl.load_study(study_name="copy", storage=other).trials
    assert copied[0].value == math.inf and math.isnan(copied[0].intermediate_values[0])
    assert copied[1].state == tl.TrialState.FAIL and copied[1].fail_reason == "boom"
    assert copied[0].params == study.trials[0].params
    upgraded = runner.invoke(main, ["storage", "upgrade", url])
    assert upgraded.exit_code == 0 and "already at schema version" in upgraded.output
    missing = runner.invoke(main, ["import", str(tmp_path / "none.jsonl"), "--storage", other])
    assert missing.exit_code == 2 and "no such file" in missing.output
