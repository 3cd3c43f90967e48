"""Fixtures for driving the TUI: a frozen clock, a demo store generated once per session."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pytest

from tokentui.config import Settings

#: the instant every frozen-time test lives in (a Friday afternoon, UTC)
FROZEN_NOW = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """90 days of demo history at FROZEN_NOW, generated once; tests get a copy."""
    from tokentui.services.demo import write_demo_store
    from zoneinfo import ZoneInfo

    path = tmp_path_factory.mktemp("demo-template") / "history.db"
    write_demo_store(path, now=FROZEN_NOW, tz=ZoneInfo("UTC"))
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "demo" / "history.db"
    dest.parent.mkdir()
    shutil.copy(demo_template, dest)
    return dest


def settings(tmp_path: Path, **kw) -> Settings:
    kw.setdefault("timezone", "UTC")
    kw.setdefault("refresh_seconds", 3600.0)  # tests refresh on purpose, not on a timer
    return Settings(path=tmp_path / "config" / "config.toml", **kw)


@pytest.fixture
def make_app(tmp_path: Path, demo_db: Path) -> Callable:
    """``make_app(**kw)``: a demo-mode TokentopApp on a copy of the demo store, clock frozen."""
    from tokentui.app import TokentopApp

    def factory(*, settings_kw: dict | None = None, **kw):
        kw.setdefault("db_path", demo_db)
        kw.setdefault("demo", True)
        kw.setdefault("clock", lambda: FROZEN_NOW)
        return TokentopApp(settings(tmp_path, **(settings_kw or {})), **kw)

    return factory


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` holds (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def rendered(widget) -> str:
    """The plain text a widget shows now."""
    return str(widget.render())
