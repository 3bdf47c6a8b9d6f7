"""Move a study between storages as JSON lines, losslessly (``tunelab export/import``).

Line 1 describes the study (with its number of trials, so that a file cut short at a line
boundary is not taken for a smaller study); each further line is one trial, in number order. An
import refuses what the library's own API refuses (a name too long for the databases, a COMPLETE
trial without values, a parameter outside its distribution, ...): such a study, once stored,
broke ``tunelab studies`` for the whole storage. JSON has no
infinities or NaN, so every value and intermediate value travels as a number or as one of the
strings "inf", "-inf", "nan"; parameters travel as their internal float with the distribution,
which round-trips every categorical choice exactly. Attributes are free-form JSON, where a string
"nan" is the user's own: a non-finite float inside one is written as Python's json writes it
(NaN, Infinity), as the SQL storages hold it, and read back by the same rule.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import IO, Any

from ._frozen import FrozenTrial, TrialState
from ._space import Distribution, distribution_from_json
from ._study import METRIC_NAMES_ATTR, Study, create_study
from ._trial import check_suggest
from ._validation import check_name, fail, is_int, is_real, json_attr
from .exceptions import DuplicatedStudyError, InvalidParameterError
from .storage import BaseStorage, InMemoryStorage, get_storage

FORMAT = "tunelab-study"
FORMAT_VERSION = 1

#: Study system attribute written by import_study as the study is created, before any trial,
#: and marked finished after the last one: a kill or power cut mid-import (which no cleanup
#: code survives) otherwise left a truncated study that looked whole. The storages cannot
#: delete an attribute, so a finished import keeps it as a record of where the study came from.
IMPORT_ATTR = "import"


class ReplacedImportWarning(UserWarning):
    """import_study replaced a study that an earlier, unfinished import had left."""


class UnfinishedImportWarning(UserWarning):
    """load_study opened a study whose import did not finish (see unfinished_import)."""


_SPECIAL = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _enc(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)


def _dec(value: float | str) -> float:
    if isinstance(value, str):
        if value not in _SPECIAL:
            raise ValueError(f"{value!r} is not a number (nor 'inf', '-inf', 'nan')")
        return _SPECIAL[value]
    # float() would take True and the text "1.5": export_study writes neither.
    if not is_real(value):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def trial_to_record(trial: FrozenTrial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "state": trial.state.value,
        "values": None if trial.values is None else [_enc(v) for v in trial.values],
        "params": {
            name: [
                trial.distributions[name].to_internal(value),
                trial.distributions[name].to_json(),
            ]
            for name, value in trial.params.items()
        },
        "intermediate_values": {str(k): _enc(v) for k, v in trial.intermediate_values.items()},
        "user_attrs": trial.user_attrs,
        "system_attrs": trial.system_attrs,
        "datetime_start": _when(trial.datetime_start),
        "datetime_complete": _when(trial.datetime_complete),
        "fail_reason": trial.fail_reason,
    }


def record_to_trial(record: dict[str, Any]) -> FrozenTrial:
    """The trial a line of :func:`export_study` describes; ValueError, TypeError, KeyError or
    InvalidParameterError for a record it cannot have written (whether the study would take
    the trial is :func:`_check_trial`'s business)."""
    if not isinstance(record, dict):
        raise ValueError(f"{type(record).__name__}, not a JSON object")
    params, distributions = {}, {}
    for name, (internal, dist_json) in _mapping(record, "params").items():
        dist = distribution_from_json(dist_json)
        distributions[name] = dist
        params[name] = _external(name, dist, internal)
    values = record["values"]
    if values is not None and not isinstance(values, list):
        raise ValueError(f"'values' is {values!r}, not a list or null")
    number = record["number"]
    # int() took "0" and 0.5 (read as trial 0); export_study writes plain ints.
    if not is_int(number):
        raise ValueError(f"'number' is {number!r}, not an integer")
    fail_reason = record["fail_reason"]
    if fail_reason is not None and not isinstance(fail_reason, str):
        raise ValueError(f"'fail_reason' is {fail_reason!r}, not a string or null")
    return FrozenTrial(
        number=number,
        state=TrialState(record["state"]),
        values=None if values is None else [_dec(v) for v in values],
        params=params,
        distributions=distributions,
        # dict() would turn [[1, 2]] into {1: 2}.
        user_attrs=dict(_mapping(record, "user_attrs")),
        system_attrs=dict(_mapping(record, "system_attrs")),
        intermediate_values={
            int(k): _dec(v) for k, v in _mapping(record, "intermediate_values").items()
        },
        datetime_start=_parse_when(record["datetime_start"]),
        datetime_complete=_parse_when(record["datetime_complete"]),
        fail_reason=fail_reason,
    )


def _mapping(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record[key]
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} is {value!r}, not a JSON object")
    return value


def _external(name: str, dist: Distribution, internal: Any) -> Any:
    """The value that ``internal`` stands for in ``dist``, if export_study could have written
    it: a categorical index must name a choice (7 of 5 raised IndexError, -1 took the last
    one, 1.5 the second), an int parameter must be whole."""
    problem = f"parameter {name!r} has internal value {internal!r}, which {dist!r} cannot hold"
    if not is_real(internal):
        raise ValueError(problem)
    try:
        value = dist.to_external(float(internal))
        exact = dist.to_internal(value) == internal
    except (IndexError, ValueError, OverflowError):
        exact = False
    if not exact:
        raise ValueError(problem)
    return value


@contextmanager
def _opened(file: str | os.PathLike[str] | IO[str]) -> Iterator[IO[str]]:
    if isinstance(file, (str, os.PathLike)):
        with open(file, encoding="utf-8") as handle:
            yield handle
    else:
        yield file


def export_study(
    storage: str | BaseStorage, study_name: str, file: str | os.PathLike[str] | IO[str]
) -> int:
    """Write study ``study_name`` to ``file`` (a path or a text file) as JSON lines; return the
    number of trials written. Opens URLs read-only, so it is safe while workers run."""
    backend = get_storage(storage, read_only=True) if isinstance(storage, str) else storage
    study_id = backend.get_study_id(study_name)
    unfinished = unfinished_import(backend, study_id, storage if isinstance(storage, str) else None)
    if unfinished is not None:
        # Its file would carry the truncation on as a study that looks whole.
        raise InvalidParameterError(f"Not exported: {unfinished}")
    summary = next((s for s in backend.list_studies() if s.study_id == study_id), None)
    system_attrs = backend.get_study_attrs(study_id, system=True)
    # Where this storage's copy came from says nothing about the study itself.
    system_attrs.pop(IMPORT_ATTR, None)
    trials = backend.get_all_trials(study_id)
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "study_name": study_name,
        # Checked by import_study: a file cut at a line boundary is whole JSON lines, and was
        # imported as a smaller study without a word.
        "n_trials": len(trials),
        "directions": [d.value for d in backend.get_study_directions(study_id)],
        "user_attrs": backend.get_study_attrs(study_id),
        "system_attrs": system_attrs,
        "datetime_start": _when(summary.datetime_start if summary else None),
    }
    with _written(file) as out:
        out.write(json.dumps(header) + "\n")
        for trial in trials:
            out.write(json.dumps(trial_to_record(trial)) + "\n")
    return len(trials)


@contextmanager
def _written(file: str | os.PathLike[str] | IO[str]) -> Iterator[IO[str]]:
    """A path is written beside itself and renamed at the end: a failed export leaves no
    truncated file that an import would take for a smaller study."""
    if not isinstance(file, (str, os.PathLike)):
        yield file
        return
    partial = f"{os.fspath(file)}.partial"
    try:
        handle = open(partial, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        # Name the file the caller asked for (a missing directory is theirs, not ours).
        raise type(exc)(exc.errno, exc.strerror, os.fspath(file)) from None
    try:
        with handle:
            yield handle
        os.replace(partial, file)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def import_study(
    storage: str | BaseStorage,
    file: str | os.PathLike[str] | IO[str],
    study_name: str | None = None,
) -> str:
    """Create a study from a file written by :func:`export_study`; return its name.

    ``study_name`` overrides the exported name. Trials keep their numbers, states, values,
    attributes and timestamps. The study must not exist yet, unless an earlier import of it did
    not finish (the process was killed): that study is replaced, with a
    :class:`ReplacedImportWarning`. Until its last trial is written, the study carries the
    system attribute ``IMPORT_ATTR`` unfinished, which :func:`unfinished_import` reports.
    """
    if study_name is not None and (not isinstance(study_name, str) or not study_name.strip()):
        raise fail("study_name", "import_study", "a non-empty string or None", study_name)
    if study_name is not None:
        check_name("The study name", study_name)  # as create_study checks it
    named = isinstance(file, (str, os.PathLike))
    where = f"{os.fspath(file)}:" if named else "line "
    with _opened(file) as source:
        lines = _numbered_lines(source, where)
        try:
            first, text = next(lines)
        except StopIteration:
            raise InvalidParameterError("import_study got an empty file.") from None
        _refuse_other_export_formats(where, first, text)
        header = _loads(where, first, text)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise _bad_line(where, first, f"not a study header (format {FORMAT!r})")
        if header.get("version") != FORMAT_VERSION:
            raise InvalidParameterError(
                f"The file has format version {header.get('version')!r}; this tunelab reads "
                f"version {FORMAT_VERSION}. Export it again with this tunelab."
            )
        for key in ("study_name", "directions", "user_attrs", "system_attrs"):
            if key not in header:
                raise _bad_line(where, first, f"not a study header (no key {key!r})")
        probe = _checked_header(where, first, header, study_name)
        # Every line is read and checked before anything is written, and a failure while
        # writing removes the new study: an import either lands whole or leaves nothing, but
        # for a process that dies, whose study stays marked unfinished (IMPORT_ATTR).
        trials = []
        for expected, (lineno, text) in enumerate(lines):
            record = _loads(where, lineno, text)
            try:
                trial = record_to_trial(record)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                detail = f"no key {exc.args[0]!r}" if isinstance(exc, KeyError) else _reason(exc)
                raise _bad_line(where, lineno, f"not a trial record ({detail})") from None
            if trial.number != expected:
                raise InvalidParameterError(
                    f"Trial numbers in the file must be 0, 1, 2, ... in order; line {lineno} "
                    f"holds trial {trial.number}."
                )
            _check_trial(probe, trial, where, lineno)
            trials.append(trial)
    announced = header.get("n_trials")
    if announced is not None and announced != len(trials):
        label = os.fspath(file) if named else "The file"
        if len(trials) < announced:
            problem = (
                f"{label} holds {len(trials)} of the {announced} trials its header announces: "
                "it looks truncated (cut short while copied, or by a full disk)"
            )
        else:
            problem = f"{label} holds {len(trials)} trials, but its header announces {announced}"
        raise InvalidParameterError(
            f"{problem}. Nothing was imported; export the study again "
            "(`tunelab export --format jsonl`)."
        )
    # Opened only now: a file that cannot be read leaves no new, empty database behind.
    backend = get_storage(storage)
    name = probe.study_name
    directions = probe.directions
    marker = {
        "file": os.path.abspath(file) if isinstance(file, (str, os.PathLike)) else None,
        "study_name": header["study_name"],
        "n_trials": len(trials),
        "finished": False,
    }
    # The mark is written with the study itself: a process killed at any point leaves either
    # no study or one marked unfinished, which a second import replaces.
    try:
        study_id = backend.create_study(name, directions, system_attrs={IMPORT_ATTR: marker})
    except DuplicatedStudyError:
        left = backend.get_study_id(name)
        mark = _unfinished_mark(backend, left)
        if mark is None:
            raise
        warnings.warn(
            f"replaced study {name!r}, which an earlier import did not finish "
            f"({backend.get_n_trials(left)} of its {mark.get('n_trials', '?')} trials were "
            "in the storage)",
            ReplacedImportWarning,
            stacklevel=2,
        )
        backend.delete_study(left)
        study_id = backend.create_study(name, directions, system_attrs={IMPORT_ATTR: marker})
    # In-process failures are undone below; the mark covers what no except clause can catch.
    try:
        for key, value in header["user_attrs"].items():
            backend.set_study_attr(study_id, key, value)
        for key, value in header["system_attrs"].items():
            if key != IMPORT_ATTR:  # export_study leaves it out; an edited file must not end it
                backend.set_study_attr(study_id, key, value, system=True)
        for trial in trials:
            created = backend.create_trial(study_id, trial)
            if created.number != trial.number:
                raise InvalidParameterError(
                    f"The storage numbered imported trial {trial.number} as {created.number}."
                )
        backend.set_study_attr(study_id, IMPORT_ATTR, {**marker, "finished": True}, system=True)
    except BaseException:
        backend.delete_study(study_id)
        raise
    return name


def _checked_header(
    where: str, lineno: int, header: dict[str, Any], study_name: str | None
) -> Study:
    """An in-memory study made from ``header`` through the library's own API (create_study,
    set_user_attr, set_metric_names), so the file's study passes the checks a study created in
    Python does; its trials are then checked by adding them to it (_check_trial). A study the
    API refuses (600-character or NUL name, no directions) was stored as given, and broke
    ``tunelab studies`` or ``best`` afterwards."""
    name = header["study_name"] if study_name is None else study_name
    if not isinstance(name, str) or not name.strip():
        raise _bad_line(where, lineno, f"not a study header (study name {name!r})")
    try:
        check_name("The study name", name)
    except InvalidParameterError as exc:
        # The file is fine otherwise: the way out is another name, not another export.
        raise InvalidParameterError(
            f"{where}{lineno}: {_reason(exc)}. Import it under another name: "
            "import_study(..., study_name=NAME), `tunelab import FILE --study-name NAME`."
        ) from None
    for key in ("user_attrs", "system_attrs"):
        if not isinstance(header[key], dict):
            raise _bad_line(
                where, lineno, f"not a study header ({key!r} is {header[key]!r}, not an object)"
            )
    announced = header.get("n_trials")  # absent from files of tunelab before 2026-11-29
    if announced is not None and (not is_int(announced) or announced < 0):
        raise _bad_line(
            where, lineno, f"not a study header ('n_trials' is {announced!r}, not a count)"
        )
    from .samplers import RandomSampler  # the probe samples nothing; spare the default's setup

    try:
        probe = create_study(
            study_name=name,
            storage=InMemoryStorage(),
            directions=header["directions"],
            sampler=RandomSampler(),
        )
        for key, value in header["user_attrs"].items():
            probe.set_user_attr(key, value)
        for key, value in header["system_attrs"].items():
            json_attr("the study's system attributes", key, value)
        names = header["system_attrs"].get(METRIC_NAMES_ATTR)
        if names is not None:
            probe.set_metric_names(names)
    except InvalidParameterError as exc:
        raise _bad_line(where, lineno, f"the study cannot be created ({_reason(exc)})") from None
    return probe


def _check_trial(probe: Study, trial: FrozenTrial, where: str, lineno: int) -> None:
    """Refuse a trial that the API would not have stored, by adding it to ``probe`` with
    Study.add_trial (values: their count, numbers, a COMPLETE trial has some; parameters
    inside their distribution, one distribution per name; constraint values are numbers),
    plus the checks of a suggest call and of attribute keys, which add_trial leaves out."""
    try:
        for name, distribution in trial.distributions.items():
            check_suggest(trial.number, name, distribution)
        for key, value in trial.user_attrs.items():
            json_attr(f"trial {trial.number}'s user attributes", key, value)
        for key, value in trial.system_attrs.items():
            json_attr(f"trial {trial.number}'s system attributes", key, value)
        if trial.values is not None and not trial.state.is_finished():
            # add_trial refuses a FAIL trial with values; an unfinished one, which the probe
            # adds as FAIL below, is named here by its own state.
            raise InvalidParameterError(
                f"trial {trial.number} is {trial.state.name} but has values "
                f"{trial.values!r}; only COMPLETE and PRUNED trials have values"
            )
        # add_trial takes finished trials only; the rest of its checks hold for a RUNNING or
        # WAITING trial alike, which the probe keeps as FAIL (without values, as checked).
        probe.add_trial(
            trial if trial.state.is_finished() else replace(trial, state=TrialState.FAIL)
        )
    except InvalidParameterError as exc:
        reason = _reason(exc)
        said = re.search(rf"\btrial {trial.number}\b", reason)  # add_trial names it mostly
        culprit = "" if said else f"trial {trial.number} "
        raise _bad_line(where, lineno, f"{culprit}cannot be imported ({reason})") from None


def _reason(exc: Exception) -> str:
    """An error's message to quote inside another: without the API owner it names (the
    caller of import_study never called add_trial) and the closing full stop."""
    text = str(exc).removeprefix("Study.add_trial: ").rstrip()
    return text[:-1] if text.endswith(".") else text


def unfinished_import(backend: BaseStorage, study_id: int, url: str | None = None) -> str | None:
    """One line on the import that created the study and has not finished (it was killed, or
    is still running), saying how to redo it (into ``url``, the storage's URL, if given); None
    for any other study."""
    mark = _unfinished_mark(backend, study_id)
    if mark is None:
        return None
    name = backend.get_study_name(study_id)
    written = backend.get_n_trials(study_id)
    source = mark.get("file")
    if source:
        redo = f"tunelab import {shlex.quote(source)}"
        if name != mark.get("study_name"):
            redo += f" --study-name {shlex.quote(name)}"
        if url is not None:
            redo += f" --storage {shlex.quote(url)}"
        how = f"import the file again to replace it (`{redo}`) or delete the study"
        origin = f" from {source}"
    else:
        how = "import the file again to replace it, or delete the study"
        origin = ""
    return (
        f"the import of study {name!r}{origin} did not finish (it was interrupted, or is still "
        f"running): {written} of its {mark.get('n_trials', '?')} trials are in the storage; "
        f"{how}."
    )


def _unfinished_mark(backend: BaseStorage, study_id: int) -> dict[str, Any] | None:
    mark = backend.get_study_attrs(study_id, system=True).get(IMPORT_ATTR)
    return mark if isinstance(mark, dict) and not mark.get("finished", True) else None


def _numbered_lines(source: IO[str], where: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines with their numbers in the file."""
    lineno = 0
    try:
        for lineno, line in enumerate(source, start=1):
            if line.strip():
                yield lineno, line
    except UnicodeDecodeError:
        raise _bad_line(
            where, lineno + 1, "not UTF-8 text (is it a database or another binary file?)"
        ) from None


def _refuse_other_export_formats(where: str, lineno: int, text: str) -> None:
    # `tunelab export` writes three formats and only jsonl is exact; the other two must not
    # be reported as broken files.
    start = text.lstrip()
    if start.startswith("["):
        kind = "a `--format json` export (one JSON array)"
    elif start.startswith("number,") or start.startswith('"number",'):
        kind = "a `--format csv` export"
    else:
        return
    raise InvalidParameterError(
        f"{where}{lineno}: this is {kind}: it holds the trials but not the study they belong "
        "to; import reads files written by `tunelab export --format jsonl`: export the study "
        "again in that format."
    )


def _loads(where: str, lineno: int, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_line(where, lineno, f"not JSON ({exc.msg} at column {exc.colno})") from None


def _bad_line(where: str, lineno: int, problem: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"{where}{lineno}: {problem}; import_study reads files written by export_study "
        "(`tunelab export --format jsonl`): export the study again if this copy is truncated "
        "or was edited."
    )
