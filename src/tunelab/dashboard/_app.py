"""The dashboard's ASGI app: three static pages and the JSON API they read.

Every handler is a plain function, so Starlette runs it in its thread pool and a slow read
never blocks the event loop. The storage is opened read-only: the dashboard takes no write lock
and each request is a short read, so it cannot slow or break a running study.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._frozen import TrialState
from .._study import Study
from ..exceptions import StorageError, StudyNotFoundError
from ..storage import BaseStorage, get_storage
from ._plots import FigureCache, build, plot_kinds, version_of
from ._serialize import summary_json, trial_detail, trial_row

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
UNFINISHED = (TrialState.RUNNING, TrialState.WAITING)


def plotly_js_path() -> Path:
    """plotly.js as shipped inside the installed plotly package: the page needs no internet."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def open_storage(storage: str | BaseStorage) -> BaseStorage:
    """A storage URL opens read-only; a storage object is used as given."""
    if isinstance(storage, str):
        return get_storage(storage, read_only=True)
    return get_storage(storage)


def create_app(storage: str | BaseStorage) -> Starlette:
    from sqlalchemy.exc import DataError
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    backend = open_storage(storage)
    figures = FigureCache()

    def dumps(payload: Any, status: int = 200) -> Response:
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        return Response(
            text,
            status_code=status,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    def error(status: int, message: str) -> Response:
        return dumps({"error": message}, status)

    def int_arg(request: Request, key: str, name: str) -> int:
        raw = (
            request.path_params.get(key)
            if key in request.path_params
            else request.query_params.get(key)
        )
        try:
            return int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _BadRequest(f"{name} must be an integer, got {raw!r}.") from None

    def numbers_arg(request: Request, key: str) -> set[int]:
        raw = request.query_params.get(key, "")
        try:
            return {int(part) for part in raw.split(",") if part.strip()}
        except ValueError:
            raise _BadRequest(
                f"{key} must be comma-separated trial numbers, got {raw!r}."
            ) from None

    def study_of(request: Request) -> Study:
        study_id = int_arg(request, "study_id", "study_id")
        try:
            name = backend.get_study_name(study_id)
            return Study(name, backend)
        # An id beyond the storage's integers cannot name a study. SQLite's driver raises
        # OverflowError past 64 bits before the query runs; PostgreSQL, whose ids are 32-bit,
        # refuses the query ("integer out of range"), which SQLStorage raises as a StorageError
        # caused by a DB-API DataError: the only data of this query is the id.
        except (StudyNotFoundError, OverflowError):
            raise _NotFound(f"No study with id {study_id}.") from None
        except StorageError as exc:
            if isinstance(exc.__cause__, DataError):
                raise _NotFound(f"No study with id {study_id}.") from None
            raise

    def page(name: str) -> Any:
        def endpoint(request: Request) -> Response:
            return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

        return endpoint

    def api_studies(request: Request) -> Response:
        return dumps({"studies": [summary_json(s) for s in backend.list_studies()]})

    def api_study(request: Request) -> Response:
        study = study_of(request)
        trials = study.get_trials(deepcopy=False)
        summary = next((s for s in backend.list_studies() if s.study_id == study._study_id), None)
        if summary is None:
            raise _NotFound(f"No study with id {study._study_id}.")
        params = sorted({n for t in trials for n in t.params})
        payload = summary_json(summary)
        payload.update(
            version=version_of(trials),
            params=params,
            plots=plot_kinds(study),
            metric_names=study.metric_names,
        )
        return dumps(payload)

    def api_trials(request: Request) -> Response:
        study = study_of(request)
        since = int_arg(request, "since", "since") if "since" in request.query_params else 0
        pending = numbers_arg(request, "pending")
        trials = study.get_trials(deepcopy=False)
        # A trial the page holds as unfinished may have finished since: resend it (the page
        # names those in `pending`), and every trial unfinished now, which may still change.
        rows = [
            trial_row(t)
            for t in trials
            if t.number >= since or t.state in UNFINISHED or t.number in pending
        ]
        cursor = trials[-1].number + 1 if trials else 0
        return dumps({"trials": rows, "cursor": max(cursor, since), "version": version_of(trials)})

    def api_trial(request: Request) -> Response:
        study = study_of(request)
        number = int_arg(request, "number", "number")
        for t in study.get_trials(deepcopy=False):
            if t.number == number:
                return dumps(trial_detail(t))
        raise _NotFound(f"Study {study.study_name!r} has no trial {number}.")

    def api_plot(request: Request) -> Response:
        study = study_of(request)
        kind = request.path_params["kind"]
        if kind not in plot_kinds(study):
            raise _NotFound(f"No plot {kind!r} for this study; see the study's 'plots' list.")
        version = version_of(study.get_trials(deepcopy=False))
        # Renaming the objectives (set_metric_names) adds no trial: the names are part of the
        # cache key instead of the version, so a poll of the trials reads no study attributes.
        names = study.metric_names

        def make() -> str:
            try:
                figure = build(study, kind, names)
            except ValueError as exc:  # not enough trials yet, and the like: say so
                return json.dumps({"message": str(exc), "version": version})
            # plotly's own encoder turns numpy arrays and dates into plotly.js' JSON.
            return '{"version":' + json.dumps(version) + ',"figure":' + figure.to_json() + "}"

        text = figures.get(study._study_id, kind, (version, names), make)
        return Response(text, media_type="application/json", headers={"Cache-Control": "no-store"})

    def plotly_js(request: Request) -> Response:
        return FileResponse(
            plotly_js_path(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    async def on_error(request: Request, exc: Exception) -> Response:
        status = 404 if isinstance(exc, _NotFound) else 400
        return error(status, str(exc))

    routes = [
        Route("/", page("index.html")),
        Route("/studies/{study_id}", page("study.html")),
        Route("/studies/{study_id}/trials/{number}", page("trial.html")),
        Route("/api/studies", api_studies),
        Route("/api/studies/{study_id}", api_study),
        Route("/api/studies/{study_id}/trials", api_trials),
        Route("/api/studies/{study_id}/trials/{number}", api_trial),
        Route("/api/studies/{study_id}/plots/{kind}", api_plot),
        Route("/static/plotly.min.js", plotly_js),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    def warm_up() -> None:
        # Read every study once in the background: the first page then finds the storage's
        # trial cache filled instead of loading a large study while the user waits.
        try:
            backend.list_studies()
        except Exception:  # noqa: BLE001 - a failed warm-up only costs the first page time
            pass

    app = Starlette(
        routes=routes,
        exception_handlers={_BadRequest: on_error, _NotFound: on_error},
        lifespan=_lifespan(warm_up),
    )
    app.state.storage = backend
    return app


def _lifespan(warm_up: Any) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        threading.Thread(target=warm_up, daemon=True).start()
        yield

    return lifespan


class _BadRequest(Exception):
    pass


class _NotFound(Exception):
    pass


def run(
    storage: str | BaseStorage = "sqlite:///tunelab.db",
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    log_level: str = "warning",
) -> None:
    """Serve the dashboard until interrupted (``tunelab dashboard``)."""
    import uvicorn

    app = create_app(storage)
    print(f"tunelab dashboard on http://{host}:{port}/ (storage {storage}; Ctrl+C stops)")
    uvicorn.run(app, host=host, port=port, log_level=log_level)
