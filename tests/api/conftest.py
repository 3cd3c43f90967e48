"""Fixtures for the API-source tests: a live provider server, fast retries, a store."""

from __future__ import annotations

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer
from tokentui import paths
from tokentui.sources.api.http import RetryPolicy


@pytest.fixture
def server():
    srv = fakes.install(ProviderServer()).start()
    yield srv
    srv.stop()


@pytest.fixture
def urls(server, monkeypatch) -> dict[str, str]:
    """Point every API source at the server through TOKENTOP_<NAME>_BASE_URL."""
    urls = fakes.base_urls(server)
    for name, url in urls.items():
        monkeypatch.setenv(f"TOKENTOP_{name.upper()}_BASE_URL", url)
    return urls


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fast(sleeps) -> RetryPolicy:
    """Retries that record their delays instead of waiting; a short timeout."""
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(attempts=3, base_delay=1.0, max_delay=8.0, max_retry_after=60.0, timeout=0.5,
                       sleep=sleep, jitter=lambda: 1.0)


@pytest.fixture
def store():
    from tokentui.store.db import connect

    conn = connect(paths.history_db())
    yield conn
    conn.close()


@pytest.fixture
def settings():
    from tokentui.config import load_settings

    return load_settings()
