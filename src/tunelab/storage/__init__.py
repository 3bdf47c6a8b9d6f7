"""Where studies live: in memory (default), SQLite (embedded) or PostgreSQL.

``SQLStorage`` and ``upgrade_storage`` load SQLAlchemy only when first used, so ``import tunelab``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._heartbeat import Heartbeat as Heartbeat
from .._heartbeat import keep_alive as keep_alive
from ._base import RETRY_COUNT_ATTR as RETRY_COUNT_ATTR
from ._base import RETRY_FAILED_ATTR as RETRY_FAILED_ATTR
from ._base import RETRY_OF_ATTR as RETRY_OF_ATTR
from ._base import BaseStorage as BaseStorage
from ._base import StudySummary as StudySummary
from ._memory import InMemoryStorage as InMemoryStorage

if TYPE_CHECKING:
    from ._migrate import upgrade_storage as upgrade_storage
    from ._sql import SQLStorage as SQLStorage

__all__ = [
    "RETRY_COUNT_ATTR",
    "RETRY_FAILED_ATTR",
    "RETRY_OF_ATTR",
    "BaseStorage",
    "Heartbeat",
    "InMemoryStorage",
    "SQLStorage",
    "StudySummary",
    "get_storage",
    "keep_alive",
    "upgrade_storage",
]


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from ._sql import SQLStorage

        return SQLStorage
    if name == "upgrade_storage":
        from ._migrate import upgrade_storage

        return upgrade_storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_storage(storage: str | BaseStorage | None, *, read_only: bool = False) -> BaseStorage:
    """Turn the ``storage`` argument users pass into a storage object."""
    from .._validation import fail

    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if isinstance(storage, str):
        from ._sql import SQLStorage

        return SQLStorage(storage, read_only=read_only)
    raise fail(
        "storage",
        "create_study",
        "None, a database URL such as 'sqlite:///tunelab.db', or a storage object",
        storage,
    )
