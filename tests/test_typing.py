"""The public API's type hints accept what users write (found by a QA pass: an Optuna user's
``kernel: str = trial.suggest_categorical(...)`` failed to type-check, as did the README's
``tl.sklearn.SearchCV``)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

USER_CODE = Path(__file__).parent / "typing_checks" / "user_code.py"


def test_user_code_type_checks_against_tunelabs_hints():
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed (it comes with the 'dev' extra)")
    result = subprocess.run(
        [
            mypy,
            "--follow-imports=silent",  # tunelab's own internals are not what is checked
            "--ignore-missing-imports",
            "--no-incremental",
            "--python-executable",
            sys.executable,
            str(USER_CODE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
