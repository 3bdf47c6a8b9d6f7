import subprocess
import sys

import tunelab
import tunelab.execution
import tunelab.pruners
import tunelab.samplers
import tunelab.storage


def test_import_is_light():
    code = (
        "import sys, tunelab; "
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'plotly', 'dask', 'sklearn', 'scipy', 'torch') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_names_exist_and_are_public():
    for module in (tunelab, tunelab.samplers, tunelab.pruners, tunelab.storage, tunelab.execution):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
    assert {
        "create_study",
        "load_study",
        "Float",
        "Int",
        "Categorical",
        "TrialState",
        "Study",
    } <= set(tunelab.__all__)
    public = {n for n in dir(tunelab) if not n.startswith("_")}
    submodules = {
        "exceptions",
        "samplers",
        "pruners",
        "storage",
        "execution",
        "testing",
        "cli",
        "sklearn",
        "visualization",
        "dashboard",
        "importance",
        "integration",
        "automl",
    }
    assert public - submodules <= set(tunelab.__all__)


def test_subpackages_load_on_first_attribute_access():
    # Found by a QA pass: tl.visualization after `import tunelab as tl` raised AttributeError.
    code = (
        "import sys, tunelab as tl; "
        "before = 'plotly' in sys.modules; "
        "f = tl.visualization.plot_optimization_history; g = tl.importance.get_param_importances; "
        "print(before, tl.sklearn.SearchCV.__name__, callable(f) and callable(g))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "SearchCV", "True"]
