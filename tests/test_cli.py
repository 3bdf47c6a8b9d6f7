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
    import tunelab as tl

    url = f"sqlite:///{tmp_path / 'e.db'}"
    tl.create_study(study_name="other", storage=url)
    result = runner.invoke(main, ["best", "nope", "--storage", url])
    assert result.exit_code == 2 and "No study named 'nope'" in result.output


@pytest.mark.parametrize("command", [["studies"], ["trials", "s"], ["best", "s"]])
def test_reading_a_mistyped_path_creates_no_database(runner, tmp_path, command):
    typo = tmp_path / "tunelab.bd"
    result = runner.invoke(main, [*command, "--storage", f"sqlite:///{typo}"])
    assert (
        result.exit_code == 2 and str(typo) in result.output and "Check the path" in result.output
    )
    assert not typo.exists()


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
    again = runner.invoke(main, ["import", str(out), "--storage", other, "--study-name", "copy"])
    message = _one_error_line(again)
    assert "'copy' already exists" in message and "--study-name NEW_NAME" in message
    assert "load_if_exists" not in message
    upgraded = runner.invoke(main, ["storage", "upgrade", url])
    assert upgraded.exit_code == 0 and "already at schema version" in upgraded.output
    missing = runner.invoke(main, ["import", str(tmp_path / "none.jsonl"), "--storage", other])
    assert missing.exit_code == 2 and "no such file" in missing.output


def _one_error_line(result):
    """The CLI's bad-input convention: exit code 2 and a single ``error: ...`` line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.output.startswith("error: ") and result.output.strip().count("\n") == 0
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("directions", [["minimize"], ["minimize", "maximize"]])
def test_best_without_a_complete_trial_is_one_line(runner, tmp_path, directions):
    import tunelab as tl

    url = f"sqlite:///{tmp_path / 'b.db'}"
    study = tl.create_study(study_name="allfail", storage=url, directions=directions)
    study.tell(study.ask(), state=tl.TrialState.FAIL)
    message = _one_error_line(runner.invoke(main, ["best", "allfail", "--storage", url]))
    assert "'allfail'" in message and "no COMPLETE trial" in message
    assert "1 FAIL" in message and "tunelab trials allfail" in message


def _exported(tmp_path):
    import tunelab as tl

    url = f"sqlite:///{tmp_path / 'src.db'}"
    study = tl.create_study(study_name="s", storage=url)
    for x in (0.1, 0.2, 0.3):
        trial = study.ask()
        study.tell(trial, trial.suggest_float("x", 0, 1) + x)
    return url


@pytest.mark.parametrize(
    ("kind", "bad_line"),
    [("not-json", 1), ("truncated", 4), ("csv", 1), ("json", 1), ("binary", 1), ("record", 3)],
)
def test_import_of_a_bad_file_is_one_line_and_leaves_no_study(runner, tmp_path, kind, bad_line):

    url = _exported(tmp_path)
    good = tmp_path / "good.jsonl"
    fmt = {"csv": "csv", "json": "json"}.get(kind, "jsonl")
    assert runner.invoke(main, ["export", "s", "--storage", url, "-o", str(good), "--format", fmt])
    text = good.read_text()
    lines = text.splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    if kind == "not-json":
        bad.write_text("not json\n")
    elif kind == "truncated":  # a copy cut off in the middle of the last trial
        bad.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    elif kind == "binary":  # e.g. the SQLite database itself
        bad.write_bytes(b"SQLite format 3\x00\xc2\x00\xff\xfe" * 20)
    elif kind == "record":  # valid JSON that is not a trial record
        bad.write_text(lines[0] + lines[1] + '{"number": 1}\n' + lines[3])
    else:
        bad.write_text(text)
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    message = _one_error_line(runner.invoke(main, ["import", str(bad), "--storage", target]))
    assert f"{bad}:{bad_line}:" in message and "tunelab export --format jsonl" in message
    if kind in ("csv", "json"):  # a QA pass saw a json export called "not JSON"
        assert f"this is a `--format {kind}` export" in message
    assert not (tmp_path / "dst.db").exists()  # not even an empty database
    listing = runner.invoke(main, ["studies", "--storage", target])
    assert listing.exit_code == 2 and "Check the path" in listing.output


def test_import_still_shows_a_traceback_for_an_internal_error(runner, tmp_path, monkeypatch):
    # Only problems that lie in the file become one line; a bug elsewhere keeps its traceback.
    import tunelab._transfer as transfer

    url = _exported(tmp_path)
    good = tmp_path / "good.jsonl"
    runner.invoke(main, ["export", "s", "--storage", url, "-o", str(good), "--format", "jsonl"])

    def broken(*args, **kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(transfer, "import_study", broken)
    result = runner.invoke(
        main, ["import", str(good), "--storage", f"sqlite:///{tmp_path / 'd.db'}"]
    )
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_export_to_a_missing_directory_is_one_line(runner, tmp_path, fmt):
    url = _exported(tmp_path)
    out = tmp_path / "no" / "such" / f"x.{fmt}"
    message = _one_error_line(
        runner.invoke(main, ["export", "s", "--storage", url, "--format", fmt, "--out", str(out)])
    )
    assert str(out) in message and f"{out.parent} does not exist" in message
    assert not out.parent.exists()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_export_over_the_storages_own_database_is_refused(runner, tmp_path, fmt, monkeypatch):
    # Found by a QA pass: the database was overwritten by its own export ("wrote 8 trials").
    url = _exported(tmp_path)
    database = url[len("sqlite:///") :]
    monkeypatch.chdir(Path(database).parent)
    before = Path(database).read_bytes()
    message = _one_error_line(
        runner.invoke(
            main, ["export", "s", "--storage", url, "--format", fmt, "--out", Path(database).name]
        )
    )
    assert "is the storage's own database file" in message
    assert Path(database).read_bytes() == before


def test_tune_defaults_to_TUNELAB_STORAGE(runner, tmp_path, monkeypatch):  # noqa: N802
    # ridge_diabetes.yaml has no storage: key, so $TUNELAB_STORAGE decides, as for `studies`.
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TUNELAB_STORAGE", url)
    monkeypatch.chdir(tmp_path)
    job = EXAMPLES / "ridge_diabetes.yaml"
    result = runner.invoke(main, ["tune", str(job), "--n-trials", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "ridge-diabetes" in runner.invoke(main, ["studies"]).output
    assert runner.invoke(main, ["best", "ridge-diabetes"]).exit_code == 0
    assert not (tmp_path / "tunelab.db").exists()

    other = f"sqlite:///{tmp_path / 'option.db'}"  # --storage still beats the variable
    result = runner.invoke(
        main, ["tune", str(job), "--n-trials", "1", "--no-progress", "--storage", other]
    )
    assert result.exit_code == 0, result.output
    assert "ridge-diabetes" in runner.invoke(main, ["studies", "--storage", other]).output


def _refuse_constant(name):
    raise AssertionError(f"bare {name} is not JSON")


def test_json_output_is_strict_json_whatever_the_values(runner, tmp_path):
    import tunelab as tl

    url = f"sqlite:///{tmp_path / 'nan.db'}"
    study = tl.create_study(study_name="s", storage=url)
    trial = study.ask()
    trial.suggest_categorical("c", [float("nan")])
    trial.set_user_attr("curve", [1.0, float("inf")])
    study.tell(trial, 1.0)
    exported = runner.invoke(main, ["export", "s", "--format", "json", "--storage", url])
    best = runner.invoke(main, ["best", "s", "--storage", url])
    assert exported.exit_code == 0 and best.exit_code == 0
    rows = json.loads(exported.output, parse_constant=_refuse_constant)
    assert rows[0]["user_attrs"] == {"curve": [1.0, "inf"]}
    assert json.loads(best.output, parse_constant=_refuse_constant)["params"] == {"c": "nan"}


@pytest.mark.parametrize(
    "command",
    [["storage", "upgrade", "{url}"], ["delete", "s", "--yes", "--storage", "{url}"]],
    ids=["upgrade", "delete"],
)
def test_commands_that_need_a_database_create_none(runner, tmp_path, command):
    # Found by a QA pass: `storage upgrade` of a typo made an empty database and reported
    # "upgraded ... from schema version 0 to 3"; `delete` failed but left one behind.
    typo = tmp_path / "typo.db"
    args = [part.format(url=f"sqlite:///{typo}") for part in command]
    message = _one_error_line(runner.invoke(main, args))
    assert f"there is no database file at {typo}" in message and "Check the path" in message
    assert not typo.exists()
    missing_dir = tmp_path / "no" / "x.db"
    args = [part.format(url=f"sqlite:///{missing_dir}") for part in command]
    message = _one_error_line(runner.invoke(main, args))
    assert f"the directory {missing_dir.parent} does not exist" in message


def test_import_names_the_storage_once_when_the_name_is_taken(runner, tmp_path):
    # Found by a QA pass: "already exists in SQLStorage('sqlite:///x.db') in sqlite:///x.db".
    url = _exported(tmp_path)
    out = tmp_path / "s.jsonl"
    runner.invoke(main, ["export", "s", "--storage", url, "--format", "jsonl", "-o", str(out)])
    message = _one_error_line(runner.invoke(main, ["import", str(out), "--storage", url]))
    assert message == (
        f"error: a study named 's' already exists in {url}; import it under another name with "
        "--study-name NEW_NAME.\n"
    )


def _killed_import(tmp_path):
    """The storage a `tunelab import` killed after 2 of its 3 trials left (no clean-up ran)."""
    from tunelab.storage import SQLStorage

    url = _exported(tmp_path)
    out = tmp_path / "s.jsonl"
    CliRunner().invoke(main, ["export", "s", "--storage", url, "--format", "jsonl", "-o", str(out)])
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    script = (
        "import os, sys\n"
        "from tunelab.storage import SQLStorage\n"
        "real = SQLStorage.create_trial\n"
        "def dies(self, study_id, template=None):\n"
        "    if template is not None and template.number == 2:\n"
        "        os._exit(9)\n"
        "    return real(self, study_id, template)\n"
        "SQLStorage.create_trial = dies\n"
        "from tunelab.cli import main\n"
        "main(['import', sys.argv[1], '--storage', sys.argv[2]])\n"
    )
    assert subprocess.run([sys.executable, "-c", script, str(out), target]).returncode == 9
    assert len(SQLStorage(target).get_all_trials(SQLStorage(target).get_study_id("s"))) == 2
    return out, target


def test_an_import_killed_midway_is_flagged_refused_and_redone(runner, tmp_path):
    # Found by a QA pass: kill -9 during `tunelab import` left a truncated study that looked
    # complete, and running the import again was refused ("already exists").
    out, target = _killed_import(tmp_path)
    listing = runner.invoke(main, ["studies", "--storage", target])
    assert listing.exit_code == 0
    assert "warning: the import of study 's'" in listing.output
    assert "2 of its 3 trials" in listing.output
    assert f"`tunelab import {out} --storage {target}`" in listing.output
    shown = runner.invoke(main, ["trials", "s", "--storage", target])
    assert shown.exit_code == 0 and "warning: the import of study 's'" in shown.output
    for command in (["best", "s"], ["export", "s"], ["export", "s", "--format", "jsonl"]):
        message = _one_error_line(runner.invoke(main, [*command, "--storage", target]))
        assert "did not finish" in message, command

    again = runner.invoke(main, ["import", str(out), "--storage", target])
    assert again.exit_code == 0, again.output
    assert "note: replaced study 's', which an earlier import did not finish" in again.output
    assert "imported study 's'" in again.output
    listing = runner.invoke(main, ["studies", "--storage", target])
    assert "warning" not in listing.output
    assert (
        len(
            json.loads(
                runner.invoke(main, ["export", "s", "--format", "json", "--storage", target]).output
            )
        )
        == 3
    )


def test_a_worker_refuses_a_study_left_by_an_unfinished_import(runner, tmp_path):
    _out, target = _killed_import(tmp_path)
    result = runner.invoke(
        main, ["worker", "--storage", target, "--study", "s", "--objective", "os:getcwd"]
    )
    assert "did not finish" in _one_error_line(result)


def test_dashboard_on_a_port_in_use_is_one_line_exit_2(runner, tmp_path):
    # Found by a QA pass: uvicorn's "address already in use" log, and exit code 3.
    import socket

    pytest.importorskip("uvicorn")
    url = _exported(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(main, ["dashboard", "--storage", url, "--port", str(port)])
    message = _one_error_line(result)
    assert f"port {port} is in use" in message and "pass --port" in message


def test_tunelab_warnings_are_one_line_on_the_command_line(runner, optuna_like_db):
    # The Optuna-database note used to come out as Python's two-line UserWarning with a path.
    from tunelab.storage import upgrade_storage

    url = f"sqlite:///{optuna_like_db}"
    upgrade_storage(url)  # tunelab's empty tables beside Optuna's, as older loads left them
    result = runner.invoke(main, ["studies", "--storage", url])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "Optuna database" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "UserWarning" not in lines[0]


@pytest.mark.parametrize("command", ["tune", "automl", "worker"])
@pytest.mark.parametrize("seconds", ["nan", "inf", "-1", "0"])
def test_a_time_limit_that_is_not_a_positive_finite_number_is_refused_up_front(
    runner, tmp_path, command, seconds
):
    # Found by a QA pass: `tune --timeout nan` created the study, then failed naming
    # Study.optimize's 'timeout'; an empty study stayed behind.
    url = f"sqlite:///{tmp_path / 't.db'}"
    args = {
        "tune": ["tune", str(EXAMPLES / "ridge_diabetes.yaml"), "--storage", url, "--timeout"],
        "automl": ["automl", "data.csv", "--target", "y", "--time"],
        "worker": ["worker", "--storage", url, "--study", "s", "--objective", "m:f", "--timeout"],
    }[command]
    result = runner.invoke(main, [*args, seconds])
    assert result.exit_code == 2
    assert "positive, finite number of seconds" in result.output
    assert not (tmp_path / "t.db").exists()
