"""Cursor (spec/agents.md §16; fixture written for tokentop from codeburn's reading of the
database): chat bubbles, every token an estimate; UTC and Los Angeles; in-place updates; corrupt
rows; a locked database; the re-read bound."""

from __future__ import annotations

import json
import os
import runpy
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import cursor

FIX = FIXTURES / "agents" / "cursor"
SRC = ("cursor",)
A = "0a0a0a0a-1111-4222-8333-444444444444"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    r = tmp_path / "config" / "Cursor"
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(r))
    monkeypatch.setattr(cursor.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return r


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])  # the same days in both
def test_fixture_totals(root, pricer, tmp_path, tz) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["cursor"].files, res["cursor"].records, res["cursor"].skipped) == (1, 3, 2)
    d = daily(conn, "cursor", tz)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (101, 250, 0, 0, 351)
    assert tokens(d["2026-11-21"]) == (5000, 300, 0, 0, 5300)
    assert d["2026-11-20"]["estimatedTokens"] == 351 and d["2026-11-21"]["estimatedTokens"] == 5300
    assert {m["modelName"] for m in d["2026-11-20"]["modelBreakdowns"]} == {"claude-sonnet-4-5"}


def test_a_bubble_updated_in_place_replaces_its_row(root, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    db_path = root / "User" / "globalStorage" / "state.vscdb"
    db = sqlite3.connect(db_path)
    value = json.loads(db.execute("SELECT value FROM cursorDiskKV WHERE key = ?", (f"bubbleId:{A}:a1",)).fetchone()[0])
    value["text"] = "y" * 2000  # the reply finished streaming
    db.execute("UPDATE cursorDiskKV SET value = ? WHERE key = ?", (json.dumps(value), f"bubbleId:{A}:a1"))
    db.commit()
    db.close()
    later = os.stat(db_path).st_mtime + cursor.REREAD_S
    os.utime(db_path, (later, later))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert tokens(daily(conn, "cursor")["2026-11-20"]) == (101, 500, 0, 0, 601)


def test_a_locked_database_is_read_again_later(root, pricer, tmp_path, monkeypatch) -> None:
    db = sqlite3.connect(root / "User" / "globalStorage" / "state.vscdb")
    db.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(cursor, "BUSY_MS", 100)
    try:
        _conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
        assert res["cursor"].records == 0 and "cannot read" in res["cursor"].errors[0]
    finally:
        db.rollback()
        db.close()
    _conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["cursor"].records == 3


def test_model_ids_and_locations(tmp_path, monkeypatch) -> None:
    assert cursor.model_id("claude-4.5-sonnet-thinking") == "claude-sonnet-4-5"
    assert cursor.model_id("claude-4-opus") == "claude-opus-4"
    assert cursor.model_id("gpt-5") == "gpt-5" and cursor.model_id("default") is None
    monkeypatch.setattr(cursor.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    assert cursor.cursor_dirs() == []
    other = tmp_path / "Other"
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(other))
    assert cursor.cursor_dirs([str(other)]) == [other]
    assert cursor.cursor_dirs([str(other / "User" / "globalStorage" / "state.vscdb")]) == [other]
