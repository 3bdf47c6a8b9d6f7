"""Command-line AutoML: ``tunelab automl DATA.csv --target COL`` and ``tunelab predict``.

Both are plain click commands; the main ``tunelab`` group registers them. Bad input (a file
that cannot be read, a missing target column, a metric that does not fit the task, an ``--out``
that cannot be written, checked before the search) prints one ``error: ...`` line to stderr and
exits with status 2; Ctrl-C prints one line and exits with status 130.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from .._click_types import SECONDS
from .._csv_checks import delimiter_hint, index_column_note

_CLASSIFICATION_MAX_LEVELS = 20


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _read_csv(path: str) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        _fail(f"cannot read {path!r}: no such file")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        _fail(f"cannot read {path!r} as CSV: {str(exc).splitlines()[0]}")
    if frame.shape[0] == 0:
        _fail(f"{path!r} has no data rows")
    return frame


def _refuse_same_file(out: str, inputs: dict[str, str]) -> None:
    """Refuse an --out that names one of the inputs, which writing would destroy (the training
    CSV became a pickle; a model became a CSV of its predictions)."""
    import os

    for what, path in inputs.items():
        try:
            same = os.path.samefile(out, path)
        except OSError:  # one of them does not exist (yet): the paths decide
            same = os.path.realpath(out) == os.path.realpath(path)
        if same:
            _fail(
                f"--out {out} is the {what} {path}, which writing would overwrite; choose "
                "another --out"
            )


def infer_task(target: Any) -> str:
    """Classification for text, booleans and integers with few levels; regression otherwise."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(target.dtype) or pd.api.types.is_bool_dtype(target.dtype):
        return "classification"
    values = target.dropna()
    integral = bool((values == values.round()).all())
    if integral and values.nunique() <= _CLASSIFICATION_MAX_LEVELS:
        return "classification"
    return "regression"


@click.command("automl")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--target", required=True, help="Name of the column to predict.")
@click.option(
    "--time",
    "time_budget",
    type=SECONDS,
    default=120.0,
    show_default=True,
    help="Seconds for the whole fit, final refit included.",
)
@click.option("--metric", default=None, help="A scikit-learn scorer name (default: accuracy / r2).")
@click.option(
    "--task",
    type=click.Choice(["auto", "classification", "regression"]),
    default="auto",
    show_default=True,
    help="auto: text, boolean or integer targets with at most 20 levels are classes.",
)
@click.option("--cv", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--seed", type=int, default=None, help="Random seed of the search.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default="model.joblib",
    show_default=True,
    help="Where to save the fitted model.",
)
def automl_command(
    data: str,
    target: str,
    time_budget: float,
    metric: str | None,
    task: str,
    cv: int,
    seed: int | None,
    out: str,
) -> None:
    """Search models and preprocessing for DATA.csv's TARGET column within --time seconds."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .._interrupts import interrupts_noticed
    from ..cli import check_writable
    from ..exceptions import TunelabError
    from . import AutoClassifier, AutoRegressor

    _refuse_same_file(out, {"training data": data})
    check_writable(out)
    frame = _read_csv(data)
    if target not in frame.columns:
        hint = delimiter_hint(frame, target, data)
        if hint is not None:
            _fail(f"no column {target!r} in {data!r}: {hint}")
        _fail(f"no column {target!r} in {data!r}; columns are {', '.join(map(str, frame.columns))}")
    rows = len(frame)
    frame = frame[frame[target].notna()]
    if frame.shape[0] < 2:
        _fail(f"column {target!r} has fewer than 2 non-missing values")
    if len(frame) < rows:
        # The rows are in neither the search nor the CV score; the count was never said.
        _note(
            f"{rows - len(frame)} of the {rows} rows of {data} have no value in the target "
            f"column {target!r}; they were left out"
        )
    index_note = index_column_note(frame, target)
    if index_note is not None:
        _note(index_note, "warning")
    y = frame[target]
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        _fail(f"{data!r} has no column besides the target {target!r}")
    inferred = task == "auto"
    if inferred:
        task = infer_task(y)
    if task == "classification":
        _refuse_single_row_classes(y, target, inferred)
    cls = AutoClassifier if task == "classification" else AutoRegressor
    model = cls(time_budget=time_budget, metric=metric, cv=cv, random_state=seed, verbose=0)

    console = Console(stderr=True)
    with (
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            # Off a terminal the bar draws nothing, and only left a blank line above the
            # error or the leaderboard.
            disable=not console.is_terminal,
        ) as bar,
        interrupts_noticed() as pressed,
    ):
        job = bar.add_task(f"automl ({task})", total=time_budget, status="starting")
        import time

        began = time.perf_counter()
        tried = 0

        def progress(event: dict[str, Any]) -> None:
            nonlocal tried
            tried = event["n_trials"]
            if pressed:
                # scikit-learn's MLP catches KeyboardInterrupt to end its own training early,
                # and the search went on to the end of --time.
                raise KeyboardInterrupt
            best = event["best_score"]
            shown = "-" if best is None else f"{best:.4f}"
            bar.update(
                job,
                completed=min(time_budget, time.perf_counter() - began),
                status=f"{event['n_trials']} pipelines, best {shown}",
            )

        problem = None
        try:
            model.fit(X, y, progress=progress)
        except (TunelabError, ValueError) as exc:
            # tunelab's own errors, "all pipelines failed" included, are one line, as bad
            # input is; a traceback here only buried the reason.
            problem = str(exc).splitlines()[0]
        except KeyboardInterrupt:
            pressed.append(True)
    # Reported once the progress bar is gone, so the error is the one line on stderr.
    if pressed:
        # 130 is the shell's convention for Ctrl-C (click's "Aborted!" exits 1, like a failure).
        _fail(
            f"interrupted after {tried} pipeline(s); nothing was saved to {out} (the model is "
            "saved when the search ends), so run it again, with a smaller --time to end sooner",
            code=130,
        )
    if problem is not None:
        if inferred and "'metric' parameter" in problem and f"must be a {task} metric" in problem:
            # The task was a guess from the target (whole numbers with few levels look like
            # classes): the metric may be right and the guess wrong.
            other = "regression" if task == "classification" else "classification"
            problem += (
                f" The task was inferred as {task} from column {target!r}; pass --task {other} "
                "if that is wrong."
            )
        _fail(problem)
    _dump({"model": model, "target": target, "task": task, "levels": _levels(X)}, out)
    _print_summary(model, out)


def _note(message: str, kind: str = "note") -> None:
    # On stderr with the errors, so the leaderboard on stdout stays the command's output.
    click.echo(f"{kind}: {message}", err=True)


def _refuse_single_row_classes(y: Any, target: str, inferred: bool) -> None:
    """What ``tunelab tune`` refuses in a job file, refused here too: a numeric target forced
    to classification ran, and reported a CV accuracy of 0.06 over 94 classes."""
    import pandas as pd

    from .._tune import single_row_classes

    single = single_row_classes(y.to_numpy(), f"column {target!r}")
    if single is None:
        return
    if pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype):
        fix = (
            "pass --task regression if the target is a quantity"
            if not inferred
            else "pass --task regression if the target is a quantity, or drop those rows"
        )
    else:
        fix = "drop those rows or merge those classes into others"
    _fail(
        f"{single}; classification needs 2 rows of every class for its stratified CV folds; {fix}"
    )


def _levels(X: Any) -> dict[str, list[str]]:
    """The levels each categorical column had at fit, by column name, so that ``predict`` can
    say when new data holds none of them (such as the same names lower-cased)."""
    from ._preprocess import MISSING, ColumnTyper, _categories

    typer = ColumnTyper().fit(X)
    return {
        str(column): sorted(set(_categories(X[column])) - {MISSING})
        for column in typer.categorical_
    }


def _warn_unseen_levels(X: Any, levels: dict[str, list[str]]) -> None:
    """Warn for a categorical column whose values are nearly all levels the model never saw:
    each becomes an unknown level, the column stops informing the prediction, and nothing
    said so (a non-number in a numeric column is warned about by the model itself)."""
    import numpy as np

    from ._preprocess import MISSING, _categories

    for column, known in levels.items():
        if column not in X.columns:
            continue
        values = _categories(X[column])
        values = values[values != MISSING]
        unseen = values[~np.isin(values, np.asarray(known, dtype=object))]
        if len(values) and len(unseen) > len(values) / 2:
            shown = ", ".join(repr(v) for v in list(dict.fromkeys(unseen))[:3])
            seen = ", ".join(repr(v) for v in known[:3]) + (", ..." if len(known) > 3 else "")
            _note(
                f"column {column!r}: {len(unseen)} of its {len(values)} values ({shown}) are "
                f"levels the model was not fitted on (it knows {seen}), so they are treated "
                "as unknown; check their spelling and case",
                "warning",
            )


# How a joblib file starts: a pickle (protocol 2 and up), or one of the compressors joblib
# writes (zlib, gzip, bz2, xz, lzma, lz4).
_JOBLIB_STARTS = (
    b"\x80",
    b"x\x01",
    b"x\x5e",
    b"x\x9c",
    b"x\xda",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"]\x00\x00",
    b'\x04"M\x18',
)


def _looks_like_joblib(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            start = handle.read(8)
    except OSError:
        return True  # unreadable: the loader's own error says more
    return start.startswith(_JOBLIB_STARTS)


def _dump(bundle: dict[str, Any], out: str) -> None:
    import joblib

    from ..cli import _cannot_write

    try:
        joblib.dump(bundle, out)
    except OSError as exc:
        # Checked before the search, but a disk can fill up, or the directory go, since.
        if exc.filename not in (None, out):
            raise
        _cannot_write(out, exc)


def _print_summary(model: Any, out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Leaderboard ({model.metric_}, {len(model.leaderboard_)} pipelines)")
    for column in ("rank", "model", "cv score", "± std", "fit s", "weight", "pipeline"):
        table.add_column(column, overflow="fold")
    for rank, row in enumerate(model.leaderboard_.head(10).itertuples(), start=1):
        weight = row.ensemble_weight
        if model.ensemble_ is None:
            # The leader predicts alone; its ensemble weight of 0 read as "not used".
            weight = 1.0 if rank == 1 else 0.0
        table.add_row(
            str(rank),
            row.model,
            f"{row.cv_score:.4f}",
            f"{row.cv_std:.4f}",
            f"{row.fit_time:.2f}",
            f"{weight:.2f}",
            row.pipeline,
        )
    console = Console()
    console.print(table)
    g = model.generalization_
    used = "ensemble" if model.ensemble_ is not None else "single pipeline"
    line = f"{used}: CV {g['metric']} {g['cv_score']:.4f}"
    if g["holdout_score"] is not None:
        line += f", held-out {g['holdout_score']:.4f} on {g['n_holdout']} rows"
    console.print(f"{line}; fitted in {model.fit_time_:.1f}s; saved to {out}")


@click.command("predict")
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write predictions here as CSV (default: print them).",
)
def predict_command(model_path: str, data: str, out: str | None) -> None:
    """Predict DATA.csv's rows with a MODEL saved by `tunelab automl`."""
    import joblib
    import pandas as pd

    from ..cli import _cannot_write, check_writable

    if out is not None:
        _refuse_same_file(out, {"model": model_path, "data": data})
        check_writable(out)
    try:
        bundle = joblib.load(model_path)
    except FileNotFoundError:
        _fail(f"cannot read {model_path!r}: no such file")
    except Exception as exc:
        if not _looks_like_joblib(model_path):
            # The unpickler's own words on a CSV ("pop from empty list") said nothing useful.
            _fail(
                f"{model_path!r} is not a joblib model file; pass the file that `tunelab "
                "automl --out` wrote, before the data: tunelab predict MODEL DATA.csv"
            )
        _fail(
            f"cannot load {model_path!r} as a model saved by `tunelab automl`: "
            f"{str(exc) or type(exc).__name__}"
        )
    if not isinstance(bundle, dict) or "model" not in bundle:
        _fail(f"{model_path!r} is not a model saved by `tunelab automl`")
    frame = _read_csv(data)
    model, target = bundle["model"], bundle["target"]
    X = frame.drop(columns=[target], errors="ignore")
    expected = list(getattr(model, "feature_names_in_", []))
    missing = [c for c in expected if c not in X.columns]
    if missing:
        _fail(f"{data!r} lacks column(s) the model was trained on: {', '.join(missing)}")
    if expected:
        X = X[expected]
    _warn_unseen_levels(X, bundle.get("levels") or {})
    try:
        predictions = pd.DataFrame({target: model.predict(X)})
    except ValueError as exc:
        _fail(str(exc).splitlines()[0])
    if out is None:
        click.echo(predictions.to_csv(index=False), nl=False)
    else:
        try:
            predictions.to_csv(out, index=False)
        except OSError as exc:
            _cannot_write(out, exc)
        click.echo(f"{len(predictions)} predictions written to {out}", err=True)
