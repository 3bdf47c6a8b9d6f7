from __future__ import annotations

import os

import pytest


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'tunelab.db'}"


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("TUNELAB_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TUNELAB_TEST_POSTGRES_URL (set by .ci/run)")
    return url
