"""How trials run: in this process, in local worker processes, or on a cluster."""

from typing import TYPE_CHECKING, Any

from ._base import Executor as Executor
from ._base import Outcome as Outcome
from ._inline import InlineExecutor as InlineExecutor
from ._process import ProcessExecutor as ProcessExecutor

if TYPE_CHECKING:
    from ._dask import DaskExecutor as DaskExecutor

__all__ = ["DaskExecutor", "Executor", "InlineExecutor", "Outcome", "ProcessExecutor"]


def __getattr__(name: str) -> Any:
    # DaskExecutor's module is light, but keep execution/ free of optional imports at load.
    if name == "DaskExecutor":
        from ._dask import DaskExecutor

        return DaskExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
