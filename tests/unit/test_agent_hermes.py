"""Hermes Agent (spec/agents.md §12; fixture written for tokentop from Hermes' own schema): session
totals, labelled estimated; UTC and Los Angeles; profiles; costs; growth; a damaged database."""

from __future__ import annotations

import runpy
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import hermes

FIX = FIXTURES / "agents" / "hermes"
SRC = ("hermes",)
PICO = 10**12


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "home" / ".hermes"
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(root))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HERMES_HOME", raising=False)
    return root


def _reasoning(conn) -> dict:
    return dict(conn.execute("SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(reasoning) FROM ledger "
                             "WHERE source='hermes' GROUP BY 1"))


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])  # every session starts on the same day in both
def test_fixture_totals(home, pricer, tmp_path, tz) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["hermes"].files, res["hermes"].records, res["hermes"].skipped) == (1, 4, 0)
    d = daily(conn, "hermes", tz)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (3200, 490, 500, 13000, 17190)
    assert tokens(d["2026-11-21"]) == (1000, 160, 0, 0, 1160)
    assert d["2026-11-21"]["estimatedTokens"] == 1160
    assert _reasoning(conn) == {"2026-11-20": 40, "2026-11-21": 20}


def test_logged_costs_in_auto_mode(home, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, mode="auto", sources=SRC)
    costs = dict(conn.execute("SELECT key, cost_pico FROM ledger WHERE source='hermes'"))
    assert costs["h1"] == 50_000_000_000  # actual_cost_usd wins over the estimate
    assert costs["h2"] == 4_000_000_000  # estimated_cost_usd


def test_growth_is_dated_at_the_last_message(home, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    db = sqlite3.connect(home / "state.db")
    db.execute("UPDATE sessions SET input_tokens = 2500, output_tokens = 180 WHERE id = 'h2'")
    db.execute("INSERT INTO messages (session_id, role, content, timestamp) VALUES ('h2', 'assistant', '.', ?)",
               (1795370400.0,))  # 2026-11-22T18:00Z
    db.commit()
    db.close()
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "hermes")
    assert tokens(d["2026-11-20"]) == (3200, 490, 500, 13000, 17190)
    assert tokens(d["2026-11-22"]) == (500, 30, 0, 0, 530)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["hermes"].files_read == 0


def test_corrupt_rows_and_a_damaged_database(home, pricer, tmp_path) -> None:
    db = sqlite3.connect(home / "state.db")
    db.execute("INSERT INTO sessions (id, source, model, started_at, input_tokens) VALUES ('bad', 'cli', 'm', 1, 5)")
    db.execute("INSERT INTO sessions (id, source, model, started_at, input_tokens) "
               "VALUES ('bad2', 'cli', 'm', 1795165200, -4)")
    db.commit()
    db.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["hermes"].records, res["hermes"].skipped) == (4, 2)
    (home / "profiles" / "work" / "state.db").write_bytes(b"garbage" * 1000)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert "cannot read" in res["hermes"].errors[0]
    assert daily(conn, "hermes")["2026-11-21"]["totalTokens"] == 1160  # what was counted stays


def test_locations(tmp_path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b / "profiles" / "x"):
        d.mkdir(parents=True)
        (d / "state.db").write_bytes(b"")
    (a / "profiles" / "y").mkdir(parents=True)
    (a / "profiles" / "y" / "state.db").write_bytes(b"")
    monkeypatch.setenv("HERMES_HOME", f"{a},{b}")
    assert hermes.homes() == [a]  # named homes: their state.db only (as ccusage)
    assert hermes.databases(a) == [a / "state.db"]
    monkeypatch.delenv("HERMES_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert hermes.homes([str(b)]) == [b] and hermes.databases(b) == [b / "profiles" / "x" / "state.db"]


def test_odd_column_types_are_skipped_not_fatal(home, pricer, tmp_path) -> None:
    db = sqlite3.connect(home / "state.db")
    # TEXT columns turn numbers into text; blobs stay blobs
    db.execute("INSERT INTO sessions (id, source, model, started_at, input_tokens) VALUES ('odd', 'cli', "
               "X'6d6f64656c', 1795165200, 5)")
    db.execute("INSERT INTO sessions (id, source, model, started_at, input_tokens) VALUES (X'07', 'cli', 'm', "
               "1795165200, 5)")
    db.commit()
    db.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["hermes"].records, res["hermes"].skipped) == (4, 2)
