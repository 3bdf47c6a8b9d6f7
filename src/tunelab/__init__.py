"""tunelab: hyperparameter optimization that finds good settings and says how good they are."""

import typing as _typing

from . import pruners as pruners
from . import samplers as samplers
from . import storage as storage
from ._callbacks import MaxTrialsCallback as MaxTrialsCallback
from ._frozen import FrozenTrial as FrozenTrial
from ._frozen import StudyDirection as StudyDirection
from ._frozen import TrialState as TrialState
from ._space import Categorical as Categorical
from ._space import Distribution as Distribution
from ._space import Float as Float
from ._space import Int as Int
from ._study import Study as Study
from ._study import create_study as create_study
from ._study import create_trial as create_trial
from ._study import delete_study as delete_study
from ._study import get_all_study_summaries as get_all_study_summaries
from ._study import load_study as load_study
from ._trial import Trial as Trial
from .exceptions import InvalidParameterError as InvalidParameterError
from .exceptions import TrialPruned as TrialPruned

__version__ = "0.1.0"


# Subpackages with heavy imports (plotly, pandas, scikit-learn, dask) load on first attribute
# access, so `tl.visualization.plot_history(...)` works after a plain `import tunelab as tl`.
_LAZY_SUBPACKAGES = frozenset(
    ("automl", "dashboard", "execution", "importance", "integration", "sklearn", "visualization")
)


if _typing.TYPE_CHECKING:
    # What __getattr__ hands out, spelled out for type checkers.
    from . import automl as automl
    from . import dashboard as dashboard
    from . import execution as execution
    from . import importance as importance
    from . import integration as integration
    from . import sklearn as sklearn
    from . import visualization as visualization
    from .execution import DaskExecutor as DaskExecutor
    from .execution import ProcessExecutor as ProcessExecutor


def __getattr__(name: str) -> _typing.Any:
    # Executors load on first use so that `import tunelab` pulls in no multiprocessing or dask.
    if name in ("DaskExecutor", "ProcessExecutor"):
        from . import execution

        return getattr(execution, name)
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tunelab' has no attribute {name!r}")


__all__ = [
    "Categorical",
    "DaskExecutor",
    "ProcessExecutor",
    "Distribution",
    "Float",
    "FrozenTrial",
    "Int",
    "InvalidParameterError",
    "MaxTrialsCallback",
    "Study",
    "StudyDirection",
    "Trial",
    "TrialPruned",
    "TrialState",
    "create_study",
    "create_trial",
    "delete_study",
    "get_all_study_summaries",
    "load_study",
    "__version__",
]
