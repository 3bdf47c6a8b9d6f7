"""How trials run: in this process, in local worker processes, or on a cluster."""

from ._base import Executor as Executor
from ._base import Outcome as Outcome
from ._inline import InlineExecutor as InlineExecutor
from ._process import ProcessExecutor as ProcessExecutor

__all__ = ["Executor", "InlineExecutor", "Outcome", "ProcessExecutor"]
