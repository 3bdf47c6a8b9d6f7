from __future__ import annotations

import subprocess
import sys

import tunelab.sklearn


def test_all_is_the_public_api():
    assert sorted(tunelab.sklearn.__all__) == [
        "AllFitsFailedError",
        "DuplicateConfigurationsWarning",
        "FoldRacing",
        "Generalization",
        "NestedCVResult",
        "OptimismWarning",
        "SearchCV",
        "nested_cv_score",
    ]
    for name in tunelab.sklearn.__all__:
        module = getattr(tunelab.sklearn, name).__module__
        assert module.startswith("tunelab.sklearn.") or module == "tunelab.exceptions"


def test_import_tunelab_does_not_load_the_sklearn_integration():
    code = "import sys, tunelab; print('tunelab.sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
