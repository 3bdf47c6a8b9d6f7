import io
import json
import math
from datetime import timedelta

import pytest

import tunelab as tl
from tunelab import _transfer as transfer
from tunelab._transfer import export_study, import_study
from tunelab.storage import InMemoryStorage, SQLStorage


def _rich_study(storage):
    study = tl.create_study(study_name="src", storage=storage, directions=["minimize", "maximize"])
    study.set_user_attr("note", {"a": [1, 2]})
    storage.set_study_attr(study._study_id, "retry_failed", 2, system=True)
    t = study.ask()
    t.suggest_float("lr", 1e-4, 1.0, log=True)
    t.suggest_int("n", 1, 9, step=2)
    t.suggest_categorical("kind", ["a", None, True, 2.5])
    t.report_values([1.0, 2.0], 0)
    t.set_user_attr("u", "x")
    study.tell(t, [math.inf, -math.inf])
    p = study.ask()
    storage.set_trial_intermediate_value(p._frozen.trial_id, 1, math.nan)
    storage.set_trial_intermediate_value(p._frozen.trial_id, 3, -math.inf)
    study.tell(p, state=tl.TrialState.PRUNED)
    study.tell(study.ask(), state=tl.TrialState.FAIL, fail_reason="boom")
    study.enqueue_trial({"lr": 0.5})
    study.ask()  # claims the queued trial: RUNNING with fixed params
    study.enqueue_trial({"lr": 0.25})  # stays WAITING
    return study


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for name in ("number", "state", "params", "distributions", "user_attrs", "system_attrs"):
            assert getattr(x, name) == getattr(y, name), name
        assert x.datetime_start == y.datetime_start and x.datetime_complete == y.datetime_complete
        assert x.fail_reason == y.fail_reason
        assert repr(x.values) == repr(y.values)  # inf, -inf and nan compare by text
        assert repr(x.intermediate_values) == repr(y.intermediate_values)


@pytest.mark.parametrize("target", ["memory", "sqlite"])
def test_round_trip_is_exact(sqlite_url, target, tmp_path):
    source = _rich_study(SQLStorage(sqlite_url))
    path = tmp_path / "study.jsonl"
    assert export_study(sqlite_url, "src", path) == 5
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "tunelab-study"
    # Strict JSON (no bare NaN/Infinity): no attribute here holds a non-finite float.
    assert all(json.loads(line, parse_constant=_refuse) for line in lines)
    dest = InMemoryStorage() if target == "memory" else SQLStorage(f"sqlite:///{tmp_path}/b.db")
    assert import_study(dest, path, study_name="copy") == "copy"
    copy = tl.load_study(study_name="copy", storage=dest)
    _same(source.trials, copy.trials)
    assert copy.directions == source.directions
    assert copy.user_attrs == {"note": {"a": [1, 2]}}
    system_attrs = dest.get_study_attrs(copy._study_id, system=True)
    assert system_attrs.pop(transfer.IMPORT_ATTR)["finished"] is True
    assert system_attrs == {"retry_failed": 2}
    again = io.StringIO()
    export_study(dest, "copy", again)
    assert again.getvalue().splitlines()[1:] == lines[1:]
    # Where the copy came from is this storage's business, not the study's.
    assert json.loads(again.getvalue().splitlines()[0])["system_attrs"] == {"retry_failed": 2}


def _refuse(name: str) -> None:
    raise AssertionError(f"bare {name} in the file")


def test_non_finite_floats_in_attributes_round_trip(tmp_path, sqlite_url):
    source = tl.create_study(
        study_name="mo", storage=SQLStorage(sqlite_url), directions=["minimize"] * 2
    )

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report_values([math.nan, x], 0)  # kept in a system attribute
        trial.set_user_attr("curve", [1.0, math.inf, "nan"])
        return x, 1 - x

    source.optimize(objective, n_trials=2)
    path = tmp_path / "mo.jsonl"
    assert export_study(sqlite_url, "mo", path) == 2
    dest = InMemoryStorage()
    import_study(dest, path)
    copy = tl.load_study(study_name="mo", storage=dest)
    assert repr(copy.trials[0].user_attrs["curve"]) == "[1.0, inf, 'nan']"
    assert repr(copy.trials[0].system_attrs) == repr(source.trials[0].system_attrs)


def test_a_failed_export_leaves_no_partial_file(tmp_path, monkeypatch):
    storage = InMemoryStorage()
    tl.create_study(study_name="s", storage=storage).optimize(lambda t: 1.0, n_trials=2)
    path = tmp_path / "s.jsonl"

    def broken(trial):
        raise RuntimeError("disk full")

    monkeypatch.setattr(transfer, "trial_to_record", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_study(storage, "s", path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_round_trip_through_postgres(postgres_url):
    import uuid

    source = _rich_study(InMemoryStorage())
    buffer = io.StringIO()
    export_study(source.storage, "src", buffer)
    buffer.seek(0)
    name = f"transfer-{uuid.uuid4().hex[:10]}"
    import_study(postgres_url, buffer, study_name=name)
    try:
        _same(source.trials, tl.load_study(study_name=name, storage=postgres_url).trials)
    finally:
        tl.delete_study(name, postgres_url)


def test_timestamps_keep_their_zone_and_microseconds(tmp_path):
    storage = InMemoryStorage()
    study = tl.create_study(study_name="s", storage=storage)
    study.tell(study.ask(), 1.0)
    start = study.trials[0].datetime_start
    path = tmp_path / "s.jsonl"
    export_study(storage, "s", path)
    other = InMemoryStorage()
    import_study(other, path)
    got = tl.load_study(study_name="s", storage=other).trials[0].datetime_start
    assert got == start and got.utcoffset() == timedelta(0) and got.microsecond == start.microsecond


def test_bad_files_are_refused(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(tl.InvalidParameterError, match="empty file"):
        import_study(InMemoryStorage(), empty)
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(tl.InvalidParameterError, match="written by export_study"):
        import_study(InMemoryStorage(), other)
    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"format": "tunelab-study", "version": 9}\n')
    with pytest.raises(tl.InvalidParameterError, match="format version 9"):
        import_study(InMemoryStorage(), newer)
    with pytest.raises(tl.InvalidParameterError, match="'study_name' parameter of import_study"):
        import_study(InMemoryStorage(), newer, study_name="  ")


def test_a_file_that_cannot_be_read_creates_no_database(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    target = tmp_path / "new.db"
    with pytest.raises(tl.InvalidParameterError, match="bad.jsonl:1"):
        import_study(f"sqlite:///{target}", bad)
    assert not target.exists()


def test_import_refuses_an_existing_name(tmp_path):
    storage = InMemoryStorage()
    tl.create_study(study_name="s", storage=storage)
    path = tmp_path / "s.jsonl"
    export_study(storage, "s", path)
    with pytest.raises(tl.exceptions.DuplicatedStudyError, match="'s' already exists"):
        import_study(storage, path)


def test_a_broken_file_leaves_no_study_behind(tmp_path, sqlite_url):
    source = InMemoryStorage()
    _rich_study(source)
    path = tmp_path / "s.jsonl"
    export_study(source, "src", path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], lines[3][:25]]) + "\n")  # cut inside the last trial
    target = SQLStorage(sqlite_url)
    # The error names the line (it was json's own JSONDecodeError, without the file's name).
    with pytest.raises(tl.InvalidParameterError, match=r"s\.jsonl:4: not JSON"):
        import_study(target, path)
    assert tl.get_all_study_summaries(target) == []


def test_a_storage_failure_mid_import_removes_the_new_study(tmp_path, monkeypatch):
    source = InMemoryStorage()
    _rich_study(source)
    path = tmp_path / "s.jsonl"
    export_study(source, "src", path)
    target = InMemoryStorage()
    calls = []

    def flaky(study_id, trial):
        calls.append(trial.number)
        if len(calls) == 3:
            raise OSError("disk full")
        return InMemoryStorage.create_trial(target, study_id, trial)

    monkeypatch.setattr(target, "create_trial", flaky)
    with pytest.raises(OSError, match="disk full"):
        import_study(target, path)
    assert tl.get_all_study_summaries(target) == []


_KILL_MID_IMPORT = """
import os, sys
from tunelab._transfer import import_study
from tunelab.storage import SQLStorage

DIES_AT = int(sys.argv[3])

class Dies(SQLStorage):
    def create_study(self, *args, **kwargs):
        study_id = super().create_study(*args, **kwargs)
        if DIES_AT < 0:
            os._exit(9)  # like kill -9: no except, no finally, no atexit
        return study_id

    def create_trial(self, study_id, template=None):
        if template is not None and template.number == DIES_AT:
            os._exit(9)
        return super().create_trial(study_id, template)

import_study(Dies(sys.argv[1]), sys.argv[2])
"""


def _killed_import(tmp_path, url, dies_at=3):
    """A study exported with 5 trials, then imported into ``url`` by a process killed after
    writing ``dies_at`` of them (-1: as soon as the study exists); returns the exported file."""
    import subprocess
    import sys

    source = InMemoryStorage()
    _rich_study(source)
    path = tmp_path / "src.jsonl"
    export_study(source, "src", path)
    proc = subprocess.run([sys.executable, "-c", _KILL_MID_IMPORT, url, str(path), str(dies_at)])
    assert proc.returncode == 9
    return path


def test_an_import_killed_as_its_study_is_created_leaves_a_marked_study(tmp_path, sqlite_url):
    # Noticed in session 9: a kill between creating the study and writing the mark left an
    # empty, unmarked study whose name a second import was refused.
    path = _killed_import(tmp_path, sqlite_url, dies_at=-1)
    storage = SQLStorage(sqlite_url)
    message = transfer.unfinished_import(storage, storage.get_study_id("src"))
    assert message is not None and "0 of its 5 trials" in message
    with pytest.warns(transfer.ReplacedImportWarning, match="0 of its 5 trials"):
        assert import_study(storage, path) == "src"
    assert len(tl.load_study(study_name="src", storage=storage).trials) == 5


def test_an_import_killed_midway_is_detected_and_a_new_import_replaces_it(tmp_path, sqlite_url):
    # Found by a QA pass: a killed import left a truncated study that looked complete, and the
    # retry was refused because the name was taken.
    path = _killed_import(tmp_path, sqlite_url)
    storage = SQLStorage(sqlite_url)
    left = tl.load_study(study_name="src", storage=storage)
    assert len(left.trials) == 3
    message = transfer.unfinished_import(storage, left._study_id)
    assert message is not None
    assert f"the import of study 'src' from {path} did not finish" in message
    assert "3 of its 5 trials" in message and f"`tunelab import {path}`" in message
    with pytest.raises(tl.InvalidParameterError, match="Not exported: the import of study"):
        export_study(storage, "src", tmp_path / "again.jsonl")

    with pytest.warns(transfer.ReplacedImportWarning, match="3 of its 5 trials"):
        assert import_study(storage, path) == "src"
    whole = tl.load_study(study_name="src", storage=storage)
    assert len(whole.trials) == 5
    assert transfer.unfinished_import(storage, whole._study_id) is None
    # A finished import is a study like any other: importing over it is still refused.
    with pytest.raises(tl.exceptions.DuplicatedStudyError):
        import_study(storage, path)


def test_an_unfinished_import_under_another_name_says_how_to_redo_it(tmp_path):
    storage = InMemoryStorage()
    path = tmp_path / "s.jsonl"
    tl.create_study(study_name="s", storage=storage).optimize(lambda t: 1.0, n_trials=2)
    export_study(storage, "s", path)
    target = InMemoryStorage()
    target.delete_study = lambda study_id: None  # the process died before its clean-up

    def dies(study_id, trial):
        raise KeyboardInterrupt

    target.create_trial = dies
    with pytest.raises(KeyboardInterrupt):
        import_study(target, path, study_name="copy")
    message = transfer.unfinished_import(target, target.get_study_id("copy"))
    assert "0 of its 2 trials" in message
    assert f"`tunelab import {path} --study-name copy`" in message


def test_load_study_warns_about_a_study_left_by_a_killed_import(sqlite_url):
    from tunelab._transfer import IMPORT_ATTR

    study = tl.create_study(study_name="half", storage=sqlite_url)
    study._storage.set_study_attr(
        study._study_id,
        IMPORT_ATTR,
        {"file": "/tmp/x.jsonl", "study_name": "half", "n_trials": 10, "finished": False},
        system=True,
    )
    with pytest.warns(transfer.UnfinishedImportWarning, match="import"):
        tl.load_study(study_name="half", storage=sqlite_url)


def _exported_records(tmp_path):
    """The header and trial records of _rich_study's export (2 objectives; trials 0-4 are
    COMPLETE, PRUNED, FAIL, RUNNING, WAITING)."""
    source = InMemoryStorage()
    _rich_study(source)
    path = tmp_path / "src.jsonl"
    export_study(source, "src", path)
    header, *trials = (json.loads(line) for line in path.read_text().splitlines())
    return header, trials


def _write(path, header, trials):
    path.write_text("".join(json.dumps(r) + "\n" for r in [header, *trials]))


def _set(record, **changes):
    record.update(changes)


# Found by a QA pass: an edited file was stored as given, though create_study and add_trial
# refuse the same study; afterwards `tunelab studies` (ValueError for the whole storage),
# `best` or `export --format csv` raised tracebacks. Each case: (edit, line, message).
_EDITS = {
    "long study name": (lambda h, t: _set(h, study_name="x" * 600), 1, "at most 512"),
    "NUL in study name": (lambda h, t: _set(h, study_name="a\x00b"), 1, "NUL character"),
    "no directions": (lambda h, t: _set(h, directions=[]), 1, "non-empty list"),
    "user_attrs not an object": (
        lambda h, t: _set(h, user_attrs=[1, 2]),
        1,
        r"'user_attrs' is \[1, 2\], not an object",
    ),
    "metric names for 3 objectives": (
        lambda h, t: h["system_attrs"].update(metric_names=["a", "b", "c"]),
        1,
        "a list of 2 names",
    ),
    "NUL in a parameter name": (
        lambda h, t: t[0]["params"].update({"a\x00b": t[0]["params"]["lr"]}),
        2,
        r"Parameter name 'a\\x00b' cannot be stored",
    ),
    "text constraint": (
        lambda h, t: t[0]["system_attrs"].update({"constraints:mem": "bad"}),
        2,
        "constraint 'mem' must be a number",
    ),
    "COMPLETE without values": (
        lambda h, t: _set(t[0], values=None),
        2,
        "trial 0 is COMPLETE but has no values",
    ),
    "1 value for 2 objectives": (
        lambda h, t: _set(t[0], values=[1.0]),
        2,
        r"2 objective\(s\) but 1 value\(s\)",
    ),
    "NaN value": (lambda h, t: _set(t[0], values=["nan", 1.0]), 2, "got NaN"),
    "FAIL with values": (
        lambda h, t: _set(t[2], values=[1.0, 2.0]),
        4,
        "trial 2 is FAIL but has values",
    ),
    "RUNNING with values": (
        lambda h, t: _set(t[3], values=[1.0, 2.0]),
        5,
        "trial 3 is RUNNING but has values",
    ),
    "parameter outside its distribution": (
        lambda h, t: t[0]["params"]["lr"].__setitem__(0, 99.0),
        2,
        "parameter 'lr' of trial 0 is 99.0, outside its distribution",
    ),
    "parameter in a RUNNING trial outside its distribution": (
        lambda h, t: t[3]["params"].update(lr=[99.0, t[0]["params"]["lr"][1]]),
        5,
        "parameter 'lr' of trial 3 is 99.0, outside its distribution",
    ),
    "categorical index out of range": (
        lambda h, t: t[0]["params"]["kind"].__setitem__(0, 7.0),
        2,
        "parameter 'kind' has internal value 7.0",
    ),
    "negative categorical index": (
        lambda h, t: t[0]["params"]["kind"].__setitem__(0, -1.0),
        2,
        "parameter 'kind' has internal value -1.0",
    ),
    "fractional trial number": (lambda h, t: _set(t[0], number=0.5), 2, "not an integer"),
    "user_attrs a list of pairs": (
        lambda h, t: _set(t[0], user_attrs=[["a", 1]]),
        2,
        "'user_attrs' is .*, not a JSON object",
    ),
    "bad distribution": (
        lambda h, t: t[0]["params"]["lr"].__setitem__(
            1, '{"type": "float", "low": 5, "high": 1, "log": false, "step": null}'
        ),
        2,
        "low <= high",
    ),
    "step beyond 64 bits": (
        lambda h, t: _set(t[1], intermediate_values={str(2**70): 1.0}),
        3,
        "fit in 64 bits",
    ),
}


@pytest.mark.parametrize("case", list(_EDITS))
def test_an_edited_file_the_api_would_refuse_is_refused_whole(tmp_path, case):
    edit, line, message = _EDITS[case]
    header, trials = _exported_records(tmp_path)
    edit(header, trials)
    path = tmp_path / "edited.jsonl"
    _write(path, header, trials)
    target = tmp_path / "new.db"
    # One InvalidParameterError naming the line (not an IndexError or AttributeError), and
    # nothing written: not even the database file.
    with pytest.raises(tl.InvalidParameterError, match=message) as info:
        import_study(f"sqlite:///{target}", path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert not target.exists()


def test_a_file_whose_name_no_storage_takes_imports_under_another_name(tmp_path):
    header, trials = _exported_records(tmp_path)
    header["study_name"] = "x" * 600
    path = tmp_path / "long.jsonl"
    _write(path, header, trials)
    with pytest.raises(tl.InvalidParameterError, match="--study-name NAME"):
        import_study(InMemoryStorage(), path)
    storage = InMemoryStorage()
    assert import_study(storage, path, study_name="short") == "short"
    assert len(tl.load_study(study_name="short", storage=storage).trials) == 5
    with pytest.raises(tl.InvalidParameterError, match="at most 512"):
        import_study(storage, path, study_name="y" * 513)


def test_the_header_counts_the_trials(tmp_path):
    storage = InMemoryStorage()
    tl.create_study(study_name="s", storage=storage).optimize(lambda t: 1.0, n_trials=3)
    path = tmp_path / "s.jsonl"
    assert export_study(storage, "s", path) == 3
    assert json.loads(path.read_text().splitlines()[0])["n_trials"] == 3
    copy = InMemoryStorage()
    import_study(copy, path)
    again = io.StringIO()
    export_study(copy, "s", again)
    assert json.loads(again.getvalue().splitlines()[0])["n_trials"] == 3


@pytest.mark.parametrize("kept", [1, 3])  # the header alone; the header and 2 of 3 trials
def test_a_file_cut_at_a_line_boundary_is_refused(tmp_path, kept):
    # Found by a QA pass: `head -n 4 s.jsonl` imported 3 of 8 trials, exit code 0.
    storage = InMemoryStorage()
    tl.create_study(study_name="s", storage=storage).optimize(lambda t: 1.0, n_trials=3)
    path = tmp_path / "s.jsonl"
    export_study(storage, "s", path)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(path.read_text().splitlines(keepends=True)[:kept]))
    target = tmp_path / "new.db"
    with pytest.raises(
        tl.InvalidParameterError,
        match=f"holds {kept - 1} of the 3 trials its header announces: it looks truncated",
    ):
        import_study(f"sqlite:///{target}", cut)
    assert not target.exists()


def test_a_file_with_more_trials_than_announced_is_refused(tmp_path):
    header, trials = _exported_records(tmp_path)
    header["n_trials"] = 4
    path = tmp_path / "more.jsonl"
    _write(path, header, trials)
    with pytest.raises(
        tl.InvalidParameterError, match="holds 5 trials, but its header announces 4"
    ):
        import_study(InMemoryStorage(), path)


def test_a_file_from_before_the_count_still_imports(tmp_path):
    header, trials = _exported_records(tmp_path)
    del header["n_trials"]
    path = tmp_path / "old.jsonl"
    _write(path, header, trials[:3])  # unnoticed, as before: such a file carries no count
    storage = InMemoryStorage()
    import_study(storage, path)
    assert len(tl.load_study(study_name="src", storage=storage).trials) == 3
