"""Where studies live: in memory (default), SQLite (embedded) or PostgreSQL.

``SQLStorage`` loads SQLAlchemy only when first used, so ``import tunelab`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import BaseStorage as BaseStorage
from ._base import StudySummary as StudySummary
from ._memory import InMemoryStorage as InMemoryStorage

if TYPE_CHECKING:
    from ._sql import SQLStorage as SQLStorage

__all__ = ["BaseStorage", "InMemoryStorage", "SQLStorage", "StudySummary", "get_storage"]


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from ._sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """Turn the ``storage`` argument users pass into a storage object."""
    from .._validation import fail

    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if isinstance(storage, str):
        from ._sql import SQLStorage

        return SQLStorage(storage)
    raise fail(
        "storage",
        "create_study",
        "None, a database URL such as 'sqlite:///tunelab.db', or a storage object",
        storage,
    )
