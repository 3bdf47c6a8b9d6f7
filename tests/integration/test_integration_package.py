from __future__ import annotations

import subprocess
import sys

import pytest

import tunelab.integration as integration


def test_import_loads_no_training_library():
    code = (
        "import sys, tunelab, tunelab.integration, tunelab.pruners; "
        "print(sorted(m for m in ('lightgbm', 'xgboost', 'sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_pins_the_public_names():
    assert sorted(integration.__all__) == sorted(dir(integration))
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        integration.Nope  # noqa: B018
