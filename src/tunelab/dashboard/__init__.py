"""A live web dashboard over a storage (``pip install 'tunelab[dashboard]'``).

``tunelab dashboard --storage sqlite:///tunelab.db`` or ``tunelab.dashboard.run(url)``.
Loaded on demand only; Starlette, uvicorn and plotly are imported when the app is built.
"""

from __future__ import annotations

from ._app import create_app as create_app
from ._app import run as run

__all__ = ["create_app", "run"]
