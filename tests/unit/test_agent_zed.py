"""Zed agent threads (spec/agents.md §11): the fixture's hand-checked totals through a real sync
from the default location, in UTC and Los Angeles; increases dated at each save, re-reads,
deleted threads, damaged and half-written rows, real zstd compression."""

from __future__ import annotations

import json
import runpy
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import zstandard

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import zed

FIX = FIXTURES / "agents" / "zed"
SRC = ("zed",)
B5 = "b5a4c3d2-1e0f-4a9b-8c7d-6e5f4a3b2c1d"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def db(isolated) -> Path:
    """The fixture database where Zed keeps it on Linux (~/.local/share/zed): zero set-up."""
    root = isolated / "home" / ".local" / "share" / "zed"
    return Path(runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(root)))


def daily(conn, tz: str = "UTC") -> dict[str, dict]:
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo(tz), sources=SRC))
    return {row["date"]: row for row in rep["daily"]}


def _save(db: Path, tid: str, updated: str, doc: dict, data_type: str = "zstd") -> None:
    raw = json.dumps(doc).encode()
    data = zstandard.ZstdCompressor().compress(raw) if data_type == "zstd" else raw
    con = sqlite3.connect(db)
    con.execute("INSERT INTO threads (id, summary, updated_at, data_type, data) VALUES (?,?,?,?,?) "
                "ON CONFLICT (id) DO UPDATE SET updated_at=excluded.updated_at, data_type=excluded.data_type, "
                "data=excluded.data", (tid, "t", updated, data_type, data))
    con.commit()
    con.close()


def _doc(inp, out, cw=0, cr=0, model="claude-sonnet-4-5", **extra) -> dict:
    return {"version": "0.3.0", "messages": [], "model": {"provider": "zed.dev", "model": model},
            "cumulative_token_usage": {"input_tokens": inp, "output_tokens": out,
                                       "cache_creation_input_tokens": cw, "cache_read_input_tokens": cr},
            "request_token_usage": {"x": {"input_tokens": 1}}, **extra}


def test_fixture_totals_utc(db, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["zed"].files, res["zed"].records, res["zed"].skipped) == (1, 3, 0)
    d = daily(conn)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (3400, 1900, 12000, 48000, 65300)
    assert tokens(d["2026-11-21"]) == (2300, 380, 0, 0, 2680)
    assert {m["modelName"] for m in d["2026-11-21"]["modelBreakdowns"]} == {"claude-haiku-4-5", "gpt-5"}
    assert conn.execute("SELECT project FROM ledger WHERE session = ?", (B5,)).fetchone()[0] == "proj"


def test_fixture_totals_los_angeles(db, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "America/Los_Angeles")
    assert tokens(d["2026-11-20"]) == (5200, 2160, 12000, 48000, 67360)
    assert tokens(d["2026-11-21"]) == (500, 120, 0, 0, 620)


def test_increase_dated_at_the_save_resync_and_deleted_thread(db, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["zed"].files_read == 0
    _save(db, B5, "2026-11-21T10:00:00.000+00:00", _doc(3500, 1950, 12000, 60000))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["zed"].records == 1
    d = daily(conn)
    assert tokens(d["2026-11-20"]) == (3400, 1900, 12000, 48000, 65300)  # never re-dated
    assert tokens(d["2026-11-21"]) == (2400, 430, 0, 12000, 2680 + 12150)
    # the same save read again (another column touched) adds nothing
    con = sqlite3.connect(db)
    con.execute("UPDATE threads SET summary = 'renamed' WHERE id = ?", (B5,))
    con.commit()
    con.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["zed"].records == 0 and daily(conn)["2026-11-21"]["totalTokens"] == 2680 + 12150
    # a thread deleted in Zed keeps its history; a rewound thread takes nothing back
    con = sqlite3.connect(db)
    con.execute("DELETE FROM threads WHERE id = 'c6b5a4d3-2f10-4b0a-9d8e-7f6a5b4c3d2e'")
    con.commit()
    con.close()
    _save(db, B5, "2026-11-21T11:00:00.000+00:00", _doc(3000, 2000, 12000, 60000))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert daily(conn)["2026-11-21"]["totalTokens"] == 2680 + 12150 + 50


def test_damaged_and_half_written_rows_are_counted_not_fatal(db, pricer, tmp_path) -> None:
    good = zstandard.ZstdCompressor().compress(json.dumps(_doc(10, 5)).encode())
    con = sqlite3.connect(db)
    rows = [("z-trunc", "zstd", good[: len(good) // 2]), ("z-junk", "zstd", b"\x28\xb5\x2f\xfdjunk"),
            ("j-bad", "json", b'{"cumulative_token_usage": {"input_'), ("j-neg", "json",
                                                                           json.dumps(_doc(-5, 1)).encode()),
            ("j-weird", "xz", b"{}"), ("z-ok", "zstd", good)]
    for tid, kind, data in rows:
        con.execute("INSERT INTO threads (id, summary, updated_at, data_type, data) VALUES (?,?,?,?,?)",
                    (tid, "t", "2026-11-22T10:00:00+00:00", kind, data))
    con.commit()
    con.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["zed"].records, res["zed"].skipped) == (4, 5)
    assert tokens(daily(conn)["2026-11-22"]) == (10, 5, 0, 0, 15)


def test_location_and_config_root(isolated, monkeypatch) -> None:
    assert zed.data_dirs() == []
    other = isolated / "elsewhere"
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(other))
    assert zed.data_dirs([str(other / "threads")]) == [other]
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated / "xdg"))
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(isolated / "xdg" / "zed"))
    assert zed.data_dirs() == [isolated / "xdg" / "zed"]


def test_a_long_threads_total_is_not_a_corrupt_line(db, pricer, tmp_path) -> None:
    """The 100-million-token quarantine is for one request; a thread's running total of a long
    session can pass it (here 150 million cache reads over many requests) and is counted."""
    _save(db, "long-thread", "2026-11-22T10:00:00+00:00", _doc(20_000, 9_000, 400_000, 150_000_000))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["zed"].implausible == 0
    assert daily(conn)["2026-11-22"]["totalTokens"] == 150_429_000


@pytest.mark.parametrize("platform, rel", [("darwin", "home/Library/Application Support/Zed"),
                                           ("win32", "local/Zed")])
def test_default_location_per_os(isolated, monkeypatch, platform, rel) -> None:
    monkeypatch.setattr(zed.sys, "platform", platform)
    monkeypatch.setenv("LOCALAPPDATA", str(isolated / "local"))
    root = isolated / rel
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(root))
    assert zed.data_dirs() == [root]
