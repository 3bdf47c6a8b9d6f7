from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tunelab.automl._cli import automl_command, infer_task, predict_command

PENGUINS = Path(__file__).resolve().parents[3] / "shared" / "data" / "penguins.csv"


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "kind": rng.choice(["a", "b"], size=n),
            "z": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        }
    )
    frame["price"] = 3 * frame["x"] + (frame["kind"] == "a") + rng.normal(scale=0.1, size=n)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_infer_task() -> None:
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([0, 1, 1, 0])) == "classification"
    assert infer_task(pd.Series([0.5, 1.25, 3.0])) == "regression"
    assert infer_task(pd.Series(range(100))) == "regression"


def test_automl_then_predict_end_to_end(csv: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "model.joblib"
    result = runner.invoke(
        automl_command,
        [str(csv), "--target", "price", "--time", "6", "--seed", "0", "--out", str(model)],
    )
    assert result.exit_code == 0, result.output
    assert "Leaderboard (r2" in result.output and model.exists()
    out = tmp_path / "pred.csv"
    result = runner.invoke(predict_command, [str(model), str(csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    truth = pd.read_csv(csv)["price"]
    pred = pd.read_csv(out)["price"]
    assert len(pred) == len(truth) and np.corrcoef(pred, truth)[0, 1] > 0.9


@pytest.mark.skipif(not PENGUINS.exists(), reason=f"needs the shared data file {PENGUINS}")
def test_automl_on_penguins_prints_to_stdout(tmp_path: Path) -> None:
    model = tmp_path / "m.joblib"
    result = CliRunner().invoke(
        automl_command,
        [str(PENGUINS), "--target", "species", "--time", "5", "--metric", "accuracy"]
        + ["--out", str(model)],
    )
    assert result.exit_code == 0, result.output
    assert "Leaderboard (accuracy" in result.output
    printed = CliRunner().invoke(predict_command, [str(model), str(PENGUINS)])
    assert printed.output.splitlines()[0] == "species"
    assert {"Adelie", "Gentoo", "Chinstrap"} >= set(printed.output.splitlines()[1:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "error: no column 'nope'"),
        (["--target", "price", "--metric", "accuracy"], "'accuracy' is a classification metric"),
        (["--target", "price", "--metric", "no_such_metric"], "must be a scikit-learn scorer"),
        (["--target", "kind", "--metric", "r2"], "'r2' is a regression metric"),
    ],
)
def test_automl_bad_input_is_one_line_and_exit_2(csv: Path, args: list, message: str) -> None:
    result = CliRunner().invoke(automl_command, [str(csv), *args, "--time", "2"])
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.strip().count("\n") == 0


def test_unreadable_files_exit_2(tmp_path: Path, csv: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(automl_command, [str(tmp_path / "none.csv"), "--target", "y"])
    assert missing.exit_code == 2 and "error: cannot read" in missing.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x00garbage\x00")
    bad = runner.invoke(automl_command, [str(binary), "--target", "y"])
    assert bad.exit_code == 2 and bad.output.startswith("error: ")
    model = tmp_path / "not_a_model.joblib"
    model.write_text("hello")
    result = runner.invoke(predict_command, [str(model), str(csv)])
    assert result.exit_code == 2 and "error: cannot load" in result.output
