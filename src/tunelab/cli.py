"""The ``tunelab`` command: tune from a job file, and inspect, export or delete studies."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

import click

from ._click_types import SECONDS
from ._jobfile import DEFAULT_STORAGE, default_storage
from ._json import json_float, json_value
from .exceptions import InvalidParameterError, StorageError, TunelabError
from .pruners._registry import PRUNER_NAMES

storage_option = click.option(
    "--storage",
    default=default_storage,
    show_default="sqlite:///tunelab.db or $TUNELAB_STORAGE",
    help="Database URL of the studies.",
)


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn tunelab's own errors into one line and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ._jobfile import JobFileError

        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                return func(*args, **kwargs)
        except JobFileError as exc:
            _fail(str(exc))
        except (TunelabError, InvalidParameterError, StorageError) as exc:
            _fail(str(exc))

    return wrapper


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    # tunelab's own warnings are meant for the user: one line, as its errors are; anything
    # else (a library's deprecation) keeps Python's form, which says where it comes from.
    if f"{os.sep}tunelab{os.sep}" in filename:
        click.echo(f"warning: {message}", err=True)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class _Commands(click.Group):
    """The command group; a Ctrl-C that no command reports itself ends with one line and 130,
    the shell's convention (click's own "Aborted!" exits 1, like a failure)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _fail("interrupted", code=130)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tunelab")
def main() -> None:
    """tunelab: hyperparameter optimization from the command line."""

    from ._transfer import UnfinishedImportWarning

    # Each command says itself, in one line, what a study left by a killed import means for it.
    warnings.filterwarnings("ignore", category=UnfinishedImportWarning)


@main.command()
@click.argument("job", type=click.Path(dir_okay=False))
@click.option(
    "--n-trials", type=click.IntRange(min=1), default=None, help="Overrides the job file."
)
@click.option(
    "--timeout",
    type=SECONDS,
    default=None,
    help="Seconds; overrides the job file.",
)
@click.option(
    "--storage",
    default=None,
    help=(
        "Overrides the job file's storage URL; without either, $TUNELAB_STORAGE, "
        f"else {DEFAULT_STORAGE}."
    ),
)
@click.option("--study-name", default=None, help="Overrides the job file's study name.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@_friendly
def tune(
    job: str,
    n_trials: int | None,
    timeout: float | None,
    storage: str | None,
    study_name: str | None,
    no_progress: bool,
) -> None:
    """Tune the estimator described in JOB (a YAML or TOML file).

    Running it again with the same study name resumes the study.
    """
    from rich.table import Table

    from ._jobfile import load_job
    from ._tune import run_job

    spec = load_job(job)
    if storage:
        spec.storage, spec.storage_from_file = storage, False
    if study_name:
        spec.study_name = study_name
    n_trials = n_trials if n_trials is not None else spec.n_trials
    timeout = timeout if timeout is not None else spec.timeout
    if n_trials is None and timeout is None:
        n_trials = 50
    console = _console()

    def announce(notes: list[str]) -> None:
        console.print(
            f"Study [bold]{spec.study_name}[/] in {spec.storage}: {spec.estimator} on "
            f"{spec.dataset.builtin or spec.dataset.csv}, {spec.cv}-fold CV"
        )
        for note in notes:
            console.print(f"note: {note}")

    try:
        result = run_job(
            spec,
            n_trials=n_trials,
            timeout=timeout,
            show_progress_bar=not no_progress,
            on_start=announce,
        )
    except KeyboardInterrupt:
        # The shell convention for Ctrl-C (click's default is 1, like any failure).
        _fail(
            f"interrupted; the finished trials are kept in study {spec.study_name!r}, and "
            "running the job again resumes it",
            code=130,
        )
    table = Table(title="Best parameters", show_header=True)
    table.add_column("parameter")
    table.add_column("value")
    for name, value in result.best_params.items():
        table.add_row(name, _fmt(value))
    console.print(table)
    from ._frozen import TrialState

    trials = result.study.get_trials(deepcopy=False)
    pruned = sum(t.state == TrialState.PRUNED for t in trials)
    stopped = f", {pruned} stopped after their first folds (pruned)" if pruned else ""
    console.print(f"trials in study: {len(trials)}{stopped} ({result.study.explain_sampler()})")
    console.print(f"mean CV {result.scoring}: [bold]{result.cv_score:.4f}[/]")
    console.print(
        f"held-out test {result.scoring} ({result.n_test} rows the search never saw): "
        f"[bold]{result.test_score:.4f}[/]"
    )


def _console() -> Any:
    from rich.console import Console

    # Piped output (files, CI logs) gets wide tables instead of truncated names.
    return Console(width=None if sys.stdout.isatty() else 160)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@main.command()
@storage_option
@_friendly
def studies(storage: str) -> None:
    """List the studies in a storage."""
    from rich.table import Table

    from ._transfer import unfinished_import
    from .storage import get_storage

    backend = get_storage(storage, read_only=True)
    summaries = backend.list_studies()
    if not summaries:
        click.echo(f"no studies in {storage}")
        return
    table = Table()
    for col in (
        "name",
        "direction",
        "trials",
        "complete",
        "pruned",
        "fail",
        "running",
        "best",
        "last activity",
    ):
        table.add_column(col)
    for s in summaries:
        counts = {state.name: n for state, n in s.n_trials_by_state.items()}
        best = "" if s.best_values is None else _fmt(s.best_values[0])
        last = "" if s.last_activity is None else s.last_activity.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            s.study_name,
            ",".join(d.value for d in s.directions),
            str(s.n_trials),
            str(counts.get("COMPLETE", 0)),
            str(counts.get("PRUNED", 0)),
            str(counts.get("FAIL", 0)),
            str(counts.get("RUNNING", 0)),
            best,
            last,
        )
    _console().print(table)
    for s in summaries:
        # A killed import leaves a study that looks whole in the table.
        unfinished = unfinished_import(backend, s.study_id, storage)
        if unfinished is not None:
            click.echo(f"warning: {unfinished}", err=True)


def _load(study: str, storage: str, *, unfinished_ok: bool = False) -> Any:
    from ._study import load_study
    from .storage import get_storage

    # Read-only: a mistyped SQLite path is reported instead of created as an empty database,
    # and reading takes no write lock from a running study.
    loaded = load_study(study_name=study, storage=get_storage(storage, read_only=True))
    _check_import_finished(loaded, storage, warn_only=unfinished_ok)
    return loaded


def _check_import_finished(study: Any, storage: str, *, warn_only: bool = False) -> None:
    """Refuse (or, for a listing of its trials, flag) a study that a killed import left
    truncated: its best trial and exports would pass for the whole study's."""
    from ._transfer import unfinished_import

    unfinished = unfinished_import(study.storage, study._study_id, storage)
    if unfinished is None:
        return
    if not warn_only:
        _fail(unfinished)
    click.echo(f"warning: {unfinished}", err=True)


@main.command()
@click.argument("study")
@storage_option
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Show only the last N trials."
)
@_friendly
def trials(study: str, storage: str, limit: int | None) -> None:
    """Show the trials of STUDY."""
    from rich.table import Table

    loaded = _load(study, storage, unfinished_ok=True)
    rows = loaded.trials[-limit:] if limit else loaded.trials
    # A constrained study shows its constraint values: an infeasible trial is never the best,
    # and without them it looked like any other.
    constrained = any(t.constraints for t in rows)
    table = Table()
    columns = ["number", "state", "value", "params"]
    columns += ["constraints"] if constrained else []
    for col in (*columns, "duration s", "note"):
        table.add_column(col)
    for t in rows:
        value = "" if t.values is None else ", ".join(_fmt(v) for v in t.values)
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items())
        duration = "" if t.duration is None else f"{t.duration:.2f}"
        cells = [str(t.number), t.state.name, value, params]
        if constrained:
            shown = ", ".join(f"{k}={_fmt(v)}" for k, v in t.constraints.items())
            cells.append(shown + ("" if not t.constraints or t.feasible else " (infeasible)"))
        table.add_row(*cells, duration, t.fail_reason or "")
    _console().print(table)


@main.command()
@click.argument("study")
@storage_option
@_friendly
def best(study: str, storage: str) -> None:
    """Print the best trial of STUDY as JSON (the Pareto front for several objectives)."""
    from ._frozen import TrialState

    loaded = _load(study, storage)
    done = loaded.get_trials((TrialState.COMPLETE,), deepcopy=False)
    if not done:
        _fail(_no_best(study, storage, loaded.trials))
    if not any(t.feasible for t in done):
        _fail(
            f"study {study!r} in {storage} has {len(done)} COMPLETE trial(s) but none satisfies "
            "its constraints, so it has no best; see their constraint values with "
            f"`tunelab trials {study}`, run more trials, or relax the constraints."
        )
    chosen = loaded.best_trials if len(loaded.directions) > 1 else [loaded.best_trial]
    out = [
        {
            "number": t.number,
            "values": [json_float(v) for v in t.values],
            "params": json_value(t.params),
        }
        for t in chosen
    ]
    click.echo(
        json.dumps(out[0] if len(out) == 1 and len(loaded.directions) == 1 else out, indent=2)
    )


def _no_best(study: str, storage: str, trials: list[Any]) -> str:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    held = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no trials at all"
    return (
        f"study {study!r} in {storage} has no COMPLETE trial yet ({held}); run trials until one "
        f"completes (tunelab tune / tunelab worker), and see why they did not with "
        f"`tunelab trials {study}`."
    )


@main.command()
@click.argument("study")
@storage_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "jsonl"]),
    default="csv",
    show_default=True,
    help="jsonl: the whole study, exactly, for `tunelab import`.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File to write (default: standard output).",
)
@_friendly
def export(study: str, storage: str, fmt: str, out: str | None) -> None:
    """Export the trials of STUDY as CSV or JSON (tables), or as JSON lines (jsonl), the one
    format `tunelab import` restores."""
    if out and _is_database_file(out, storage):
        # Written over, the database was gone (a QA pass saw "wrote 8 trials" and exit 0).
        _fail(f"--out {out} is the storage's own database file; write the export elsewhere.")
    if fmt == "jsonl":
        from ._transfer import export_study

        try:
            n = export_study(storage, study, out if out else sys.stdout)
        except OSError as exc:
            if not out or exc.filename != out:
                raise
            _cannot_write(out, exc)
        if out:
            click.echo(f"wrote {n} trials to {out}", err=True)
        return
    loaded = _load(study, storage)
    if fmt == "csv":
        text = loaded.trials_dataframe().to_csv(index=False)
    else:
        text = json.dumps([_trial_json(t) for t in loaded.trials], indent=2) + "\n"
    if out:
        try:
            with open(out, "w") as fh:
                fh.write(text)
        except OSError as exc:
            if exc.filename != out:
                raise
            _cannot_write(out, exc)
        click.echo(f"wrote {len(loaded.trials)} trials to {out}", err=True)
    else:
        click.echo(text, nl=False)


def check_writable(out: str) -> None:
    """Fail now, with _cannot_write's line, if ``out`` cannot be written: commands that work
    for minutes before they write (``tunelab automl``) lost that work to a traceback."""
    existed = os.path.lexists(out)
    try:
        with open(out, "a"):
            pass
    except OSError as exc:
        _cannot_write(out, exc)
    if not existed:
        os.remove(out)


def _is_database_file(out: str, storage: str) -> bool:
    """Whether ``out`` names the SQLite database (or its journal files) of ``storage``."""
    if not storage.startswith("sqlite:///"):
        return False
    database = storage[len("sqlite:///") :].split("?", 1)[0]
    if not database or database == ":memory:":
        return False
    target = os.path.realpath(out)
    return any(
        target == os.path.realpath(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")
    )


def _cannot_write(out: str, exc: OSError) -> NoReturn:
    parent = os.path.dirname(os.path.abspath(out))
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(parent):
        why = f"the directory {parent} does not exist; create it first or choose another --out"
    else:
        why = f"{exc.strerror or exc}; choose another --out"
    _fail(f"cannot write {out}: {why}.")


def _trial_json(t: Any) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.name,
        "values": None if t.values is None else [json_float(v) for v in t.values],
        "params": json_value(t.params),
        "distributions": {k: json_value(d.to_dict()) for k, d in t.distributions.items()},
        "user_attrs": json_value(t.user_attrs),
        "constraints": {k: json_float(v) for k, v in t.constraints.items()},
        "feasible": t.feasible,
        "intermediate_values": {str(k): json_float(v) for k, v in t.intermediate_values.items()},
        "datetime_start": None if t.datetime_start is None else t.datetime_start.isoformat(),
        "datetime_complete": None
        if t.datetime_complete is None
        else t.datetime_complete.isoformat(),
        "fail_reason": t.fail_reason,
    }


@main.command()
@click.argument("study")
@storage_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_friendly
def delete(study: str, storage: str, yes: bool) -> None:
    """Delete STUDY and all its trials."""
    from ._study import delete_study

    _require_database(storage, "there is no study to delete")
    if not yes and not click.confirm(f"Delete study {study!r} and all its trials from {storage}?"):
        _fail("not deleted", code=1)
    delete_study(study, storage)
    click.echo(f"deleted study {study!r}")


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@storage_option
@click.option(
    "--study-name", default=None, help="Name for the imported study (default: the exported name)."
)
@_friendly
def import_(file: str, storage: str, study_name: str | None) -> None:
    """Import a study exported with `tunelab export --format jsonl`."""

    from ._transfer import ReplacedImportWarning, import_study
    from .exceptions import DuplicatedStudyError

    if not os.path.exists(file):
        _fail(f"{file}: no such file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ReplacedImportWarning)
            name = import_study(storage, file, study_name=study_name)
    except DuplicatedStudyError:
        # The storage's own message names it by repr and gives advice for Python callers
        # (load_if_exists=True); the name is the one asked for, else the file's.
        taken = study_name or _exported_name(file)
        _fail(
            f"a study named {taken!r} already exists in {storage}; import it under another name "
            "with --study-name NEW_NAME."
        )
    for warning in caught:
        if issubclass(warning.category, ReplacedImportWarning):
            click.echo(f"note: {warning.message}", err=True)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    click.echo(f"imported study {name!r} into {storage}")


def _exported_name(file: str) -> str:
    # import_study read and checked this header before it found the name taken.
    with open(file, encoding="utf-8") as handle:
        first = next(line for line in handle if line.strip())
    return str(json.loads(first)["study_name"])


def _require_database(url: str, why_needed: str) -> None:
    """Refuse a SQLite URL with no file behind it: opening it read-write, as commands that
    change a study do, creates an empty database, which stayed behind after the error."""
    from .storage._engine import missing_sqlite_file, parse_url

    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return  # a server database is never created by connecting to it
    missing = missing_sqlite_file(parsed.database)
    if missing is not None:
        _fail(f"cannot open storage {url}: {missing}, so {why_needed}. Check the path.")


@main.group(name="storage")
def storage_group() -> None:
    """Manage a storage's schema."""


@storage_group.command(name="upgrade")
@click.argument("url")
@_friendly
def storage_upgrade(url: str) -> None:
    """Migrate the tunelab tables at URL to this version's schema."""
    from .storage import upgrade_storage

    _require_database(url, "there is nothing to upgrade (a new storage needs no upgrade)")
    old, new = upgrade_storage(url)
    if old == new:
        click.echo(f"{url} is already at schema version {new}")
    else:
        click.echo(f"upgraded {url} from schema version {old} to {new}")


@main.command()
@storage_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@_friendly
def dashboard(storage: str, host: str, port: int) -> None:
    """Serve a live web dashboard of the studies in a storage (opened read-only)."""
    try:
        import plotly  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        _fail("the dashboard needs extra packages: pip install 'tunelab[dashboard]'")
    from .dashboard import run

    _check_port_free(host, port)
    run(storage, host=host, port=port)


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line before uvicorn does (it logs its own error and exits with 3)."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        _fail(f"cannot serve on host {host!r}: {exc.strerror}; pass --host")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by an earlier dashboard is free to it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _fail(f"port {port} is in use on {host}; pass --port with a free one")
            _fail(f"cannot serve on {host}:{port}: {exc.strerror}; pass --host or --port")


def _import_objective(spec: str) -> Any:
    import importlib

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidParameterError(
            f"--objective must look like module:function (e.g. mypkg.train:objective), got {spec!r}."
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`, find modules next to the user
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidParameterError(
            f"--objective: cannot import {module_name!r} ({exc})."
        ) from None
    objective = getattr(module, attr, None)
    if not callable(objective):
        raise InvalidParameterError(f"--objective: {module_name!r} has no function {attr!r}.")
    return objective


@main.command()
@storage_option
@click.option("--study", "study_name", required=True, help="Name of the study to work on.")
@click.option("--objective", required=True, help="The objective as module:function.")
@click.option(
    "--n-trials", type=click.IntRange(min=1), default=None, help="Trials this worker runs."
)
@click.option("--timeout", type=SECONDS, default=None, help="Seconds.")
@click.option(
    "--sampler",
    type=click.Choice(["auto", "random", "qmc", "tpe", "gp", "cmaes"]),
    default="auto",
    show_default=True,
)
@click.option("--seed", type=click.IntRange(min=0), default=None)
@click.option(
    "--pruner",
    type=click.Choice(list(PRUNER_NAMES)),
    default=None,
    help="The pruner this worker decides with (default: the study's default, median for one "
    "objective). Give every worker of a study the same one.",
)
@click.option("--create", is_flag=True, help="Create the study if it does not exist.")
@click.option(
    "--direction",
    "directions",
    type=click.Choice(["minimize", "maximize"]),
    multiple=True,
    help="The study's direction, once per objective (default minimize). With --create it "
    "sets a new study's; on an existing study it must match.",
)
@click.option(
    "--keep-going/--stop-on-error",
    default=True,
    show_default=True,
    help="When the objective raises: fail that trial (its reason stored) and go on, or stop "
    "the worker with the traceback.",
)
@_friendly
def worker(
    storage: str,
    study_name: str,
    objective: str,
    n_trials: int | None,
    timeout: float | None,
    sampler: str,
    seed: int | None,
    pruner: str | None,
    create: bool,
    directions: tuple[str, ...],
    keep_going: bool,
) -> None:
    """Join STUDY in a shared storage and run trials (start as many workers as you like)."""
    from ._frozen import FrozenTrial, TrialState
    from ._study import create_study, load_study
    from .exceptions import StudyNotFoundError
    from .pruners._registry import pruner_from_name
    from .samplers._registry import sampler_from_name

    func = _import_objective(objective)
    chosen = sampler_from_name(sampler, seed)
    deciding = pruner_from_name(pruner) if pruner is not None else None
    opened = dict(
        study_name=study_name,
        storage=storage,
        sampler=chosen,
        pruner=deciding,
        seed=seed if chosen is None else None,
    )
    study = None
    if create and not directions:
        # Without --direction an existing study is joined as it is (a maximize study too);
        # only a new one gets the default direction.
        try:
            study = load_study(**opened)
        except StudyNotFoundError:
            pass
    if create and study is None:
        study = create_study(**opened, directions=list(directions) or None, load_if_exists=True)
    elif study is None:
        _require_database(storage, "there is no study to join (pass --create to start one)")
        study = load_study(**opened)
    _check_import_finished(study, storage)
    have = [d.name.lower() for d in study.directions]
    if directions and list(directions) != have:
        _fail(
            f"study {study_name!r} has direction(s) {' '.join(have)}, not "
            f"{' '.join(directions)}; drop --direction, or give the study's"
        )
    # Other workers add trials to the same study meanwhile; only this one's are counted.
    ran: list[FrozenTrial] = []
    try:
        # A worker left running unattended should not end at the first bad configuration;
        # each failed trial keeps its reason in the study.
        study.optimize(
            func,
            n_trials=n_trials,
            timeout=timeout,
            callbacks=[lambda _, t: ran.append(t)],
            catch=(Exception,) if keep_going else (),
        )
    except KeyboardInterrupt:
        _fail(
            f"interrupted after {len(ran)} trial(s); the finished trials are kept in study "
            f"{study_name!r}, and starting the worker again continues it",
            code=130,
        )
    n_failed = sum(t.state == TrialState.FAIL for t in ran)
    failed = f" ({n_failed} failed; `tunelab trials` shows why)" if n_failed else ""
    click.echo(f"worker {os.getpid()} ran {len(ran)} trial(s) on {study_name!r}{failed}")


def _register_automl() -> None:
    from .automl._cli import automl_command, predict_command  # click only; models load on use

    main.add_command(automl_command)
    main.add_command(predict_command)


_register_automl()


if __name__ == "__main__":  # pragma: no cover
    main()
