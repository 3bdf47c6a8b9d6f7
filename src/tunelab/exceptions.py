"""Every exception tunelab raises on purpose lives here, so users can catch by family."""

from __future__ import annotations

__all__ = [
    "TunelabError",
    "InvalidParameterError",
    "TrialPruned",
    "StorageError",
    "DuplicatedStudyError",
    "StudyNotFoundError",
    "SchemaVersionError",
    "StaleTrialError",
    "TrialAlreadyFinishedError",
    "ObjectiveNotPicklableError",
    "GridExhausted",
    "WorkerLostError",
    "TrialTimeoutError",
    "AllFitsFailedError",
]


class TunelabError(Exception):
    """Base class of tunelab's own errors."""


class InvalidParameterError(TunelabError, ValueError, TypeError):
    """A parameter or argument breaks a documented rule.

    It subclasses both ValueError and TypeError so callers used to either
    (scikit-learn raises both for bad parameters) catch it unchanged.
    """


class TrialPruned(TunelabError):  # noqa: N818 - the name users know from Optuna
    """Raise inside an objective to stop the trial early; it ends PRUNED, not FAIL."""


class StorageError(TunelabError):
    """A storage backend could not do what was asked."""


class DuplicatedStudyError(StorageError):
    """A study with that name already exists (pass ``load_if_exists=True`` to reuse it)."""


class StudyNotFoundError(StorageError, KeyError):
    """No study with that name or id exists in the storage."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class SchemaVersionError(StorageError):
    """The database was written by another tunelab schema version."""


class StaleTrialError(StorageError):
    """The trial was finished by someone else (for example reaped as a lost worker)."""


class TrialAlreadyFinishedError(InvalidParameterError):
    """A finished trial is immutable: it was told, or a value was set, a second time."""


class ObjectiveNotPicklableError(InvalidParameterError):
    """``n_jobs > 1`` runs the objective in other processes, so it must be picklable."""


class GridExhausted(TunelabError):  # noqa: N818 - a signal, not a failure
    """Every point of a grid has been handed out; the study stops when it sees this."""


class WorkerLostError(TunelabError, RuntimeError):
    """A worker died in the middle of a trial; the trial fails with this reason, the study goes on."""


class TrialTimeoutError(TunelabError, TimeoutError):
    """A trial ran longer than ``trial_timeout``; it was stopped and marked FAIL."""


class AllFitsFailedError(TunelabError, ValueError):
    """Every fit of a search failed, so there is no best configuration."""
