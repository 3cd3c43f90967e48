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


def fixed_pricer():
    """Prices that never change with a genai-prices release (snapshots show costs).
    The embedding model stays unpriced, as in the real price data."""
    from decimal import Decimal as D

    from tokentui.config import PriceOverride
    from tokentui.core.pricing import Pricer

    def per_mtok(i, o, cw, cr):
        return PriceOverride(D(i), D(o), D(cw), D(i) * 2, D(cr))

    return Pricer({
        "claude-sonnet-4-5-20250929": per_mtok("3", "15", "3.75", "0.3"),
        "claude-opus-4-5-20251101": per_mtok("5", "25", "6.25", "0.5"),
        "claude-haiku-4-5-20251001": per_mtok("1", "5", "1.25", "0.1"),
        "gpt-5-codex": per_mtok("1.25", "10", "1.25", "0.125"),
        "gpt-5.1-codex": per_mtok("1.25", "10", "1.25", "0.125"),
        "gpt-4.1-mini": per_mtok("0.4", "1.6", "0.4", "0.1"),
        "gpt-5-mini": per_mtok("0.25", "2", "0.25", "0.025"),
    }, use_genai=False)


def write_template(path: Path) -> Path:
    """90 days of demo history at FROZEN_NOW (UTC working hours, fixed prices)."""
    from zoneinfo import ZoneInfo

    from tokentui.services.demo import generate
    from tokentui.store.db import connect

    conn = connect(path)
    try:
        generate(conn, now=FROZEN_NOW, tz=ZoneInfo("UTC"), pricer=fixed_pricer())
    finally:
        conn.close()
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo store, generated once per session; tests get a copy."""
    return write_template(tmp_path_factory.mktemp("demo-template") / "history.db")


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
    from tokentui.tui.app import TokentopApp

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
